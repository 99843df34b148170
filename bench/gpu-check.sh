#!/usr/bin/env bash
# The checks for a machine with a GPU, in one go (a few minutes on an H100/H200 class GPU), after the README's
# set-up (`npm run setup`): the adapter must be the GPU (WEIGHTGEN_ADAPTER=hardware), then
#   1. the bench with the rows sized for a GPU, against TF.js-WebGPU on the same GPU (--gpu --no-wasm);
#   2. the test suite in Node (the Chromium half needs a browser with WebGPU on that GPU);
#   3. the hypernetwork's `paper` preset (13,000 steps of 32 z x 32 images) and its evaluation at the
#      paper's scale (4,000 networks on the 10,000 test images, 20 disjoint ensembles of 200).
# Everything lands in OUT (default runs/gpu-check): bench.json, *.log, the run folder hypernet/.
#
#   bash bench/gpu-check.sh [OUT]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/gpu-check}
mkdir -p "$out"
export WEIGHTGEN_ADAPTER=hardware
t0=$(date +%s)
step() { echo "[$(($(date +%s) - t0)) s] $*"; }

step bench
node bench/build.mjs && node dist/bench.js --gpu --no-wasm --no-save --json "$out/bench.json" 2>&1 | tee "$out/bench.log"
step tests
npx vitest run --project node 2>&1 | tee "$out/tests.log"
step 'hypernet paper: train'
node esbuild.config.mjs
node dist/cli.js hypernet train --preset paper --run "$out/hypernet" 2>&1 | tee "$out/train.log"
step 'hypernet paper: eval'
node dist/cli.js hypernet eval --preset paper --run "$out/hypernet" --networks 4000 --images 10000 --ensemble 200 2>&1 |
  tee "$out/eval.log"
step done
