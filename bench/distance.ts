// Wall time of pairwiseDistances at the sizes the project uses: the hypernetwork's entropy term (32
// networks of 20,018 weights, L1) and a t-SNE-sized set (1,500 points in 15 dims, L2), forward, and forward
// plus backward for the first (x against itself, as in the entropy term); `--large` adds 512 x 20,018. Each
// figure is the median of several runs, each ending with a completed readback; the first run (which
// compiles the pipelines) is not counted.
//
//   npx esbuild bench/distance.ts --bundle --platform=node --format=esm --external:webgpu \
//     --outfile=dist/bench-distance.mjs && node dist/bench-distance.mjs
//
// (The bundle must sit inside the repository, e.g. in dist/, so that Node finds the `webgpu` package.)

import { gpu, initGpu } from '../src/gpu/index.js';
import { type Metric, pairwiseDistances } from '../src/ops/distance.js';
import { backward, requireGrad, scopeAsync, type Tensor, tensor } from '../src/tensor/index.js';

const RUNS = 5;

function randomMatrix(rows: number, cols: number, seed: number): Tensor {
  let s = seed >>> 0;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return tensor(data, [rows, cols]);
}

async function median(fn: () => Promise<void>): Promise<number> {
  await fn(); // compile
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[RUNS >> 1]!;
}

/** GPU time of one run from timestamp queries (the kernels only), or NaN without the feature. */
async function kernelMs(fn: () => Promise<void>): Promise<number> {
  if (!gpu().canProfile) return Number.NaN;
  gpu().profiler.reset();
  gpu().setProfiling(true);
  await fn();
  gpu().setProfiling(false);
  return gpu()
    .profiler.summary()
    .reduce((s, r) => s + r.totalMs, 0);
}

async function bench(n: number, dim: number, metric: Metric, withBackward: boolean): Promise<void> {
  const x = requireGrad(randomMatrix(n, dim, 1));
  const run = () =>
    scopeAsync(async () => {
      const d = pairwiseDistances(x, x, metric);
      if (withBackward) {
        backward(d, tensor(new Float32Array(n * n).fill(1), [n, n]));
        await x.grad!.data();
        x.grad!.dispose();
        x.grad = null;
      } else {
        await d.data();
      }
    });
  const ms = await median(run);
  const gpuMs = await kernelMs(run);
  // 3 operations per term (difference, abs or square, add) forward, 3 backward (difference, sign, fma)
  const flops = 3 * n * n * dim * (withBackward ? 2 : 1);
  console.log(
    `${metric.padEnd(11)} ${`${n} x ${dim}`.padEnd(12)} ${withBackward ? 'fwd+bwd' : 'fwd    '}  ` +
      `${ms.toFixed(2).padStart(9)} ms  (kernels ${gpuMs.toFixed(2).padStart(9)} ms)  ` +
      `${(flops / ms / 1e6).toFixed(2).padStart(8)} GFLOP/s`,
  );
  x.dispose();
}

await initGpu();
const a = gpu().adapter;
console.log(`adapter: ${a.vendor} ${a.architecture} ${a.description} (${a.backend}${a.fallback ? ', fallback' : ''})`);
console.log(`median of ${RUNS} runs, wall time including the readback`);
await bench(32, 20018, 'l1', false);
await bench(32, 20018, 'l1', true);
await bench(1500, 15, 'l2', false);
// the largest z-batch the op is meant for; minutes on SwiftShader, so only on request
if (process.argv.includes('--large')) await bench(512, 20018, 'l1', false);
process.exit(0);
