// Benchmark of conv2dGrouped at the hypernetwork's shapes (PAPERS.md section 2: 32 generated networks,
// each evaluating its own 32 MNIST images), and of the same work as a loop of 32 single conv2d calls.
//
//   layer 1: x (32, 32, 28, 28, 1)  w (32, 5, 5, 1, 32)   SAME, + bias, no dx (x is the images)
//   layer 2: x (32, 32, 14, 14, 32) w (32, 5, 5, 32, 16)  SAME, + bias, with dx
//
// Each figure is the wall time from recording the ops to a completed readback (4 bytes of the last
// result, read after every kernel has run), the median of a few runs after a warm-up run (which also
// compiles the kernels). GFLOP/s counts 2 * (multiply-adds of the dense convolution) per product: the
// forward, dx and dw each; bias and padding are not counted.
//
// Run from the repository root (the bundle must sit inside it for Node to find the `webgpu` package):
//   node esbuild.config.mjs shaders && npx esbuild bench/conv.ts --bundle --platform=node --format=esm \
//     --external:webgpu --outfile=dist/conv-bench.mjs && node dist/conv-bench.mjs [runs]
// On SwiftShader (a CPU) a full run takes minutes; `runs` defaults to 3 on a GPU and 1 on SwiftShader.

import { gpu, initGpu } from '../src/gpu/index.js';
import { conv2d, conv2dGrouped, convGeometry } from '../src/ops/conv.js';
import { backward, disposeAll, requireGrad, Rng, scope, type Tensor } from '../src/tensor/index.js';

const G = 32;
const N = 32;

interface Layer {
  name: string;
  x: number[]; // (G, N, H, W, Cin)
  w: number[]; // (G, KH, KW, Cin, Cout)
  dx: boolean;
}

const LAYERS: Layer[] = [
  { name: 'layer 1', x: [G, N, 28, 28, 1], w: [G, 5, 5, 1, 32], dx: false },
  { name: 'layer 2', x: [G, N, 14, 14, 32], w: [G, 5, 5, 32, 16], dx: true },
];

/** Wall time of fn (ms) until its last returned tensor can be read: median of `runs` after one warm-up. */
async function time(runs: number, fn: () => Tensor[]): Promise<{ ms: number; all: number[] }> {
  const all: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const t0 = performance.now();
    const outs = scope(fn);
    const last = outs[outs.length - 1]!;
    await gpu().read({ ...last.ref, size: 4 });
    const ms = performance.now() - t0;
    disposeAll(outs);
    if (r > 0) all.push(ms);
  }
  const sorted = [...all].sort((a, b) => a - b);
  return { ms: sorted[Math.floor(sorted.length / 2)]!, all };
}

/** Runs the forward (and backward when `grads`) of a conv; returns what must be complete. */
function step(x: Tensor, w: Tensor, b: Tensor, dy: Tensor | null, single: boolean): Tensor[] {
  const y = single ? conv2d(x, w, b, { padding: 'SAME' }) : conv2dGrouped(x, w, b, { padding: 'SAME' });
  if (!dy) return [y];
  backward(y, dy);
  const grads = [x.grad, w.grad!, b.grad!].filter((t): t is Tensor => t !== null);
  for (const t of [x, w, b]) t.grad = null; // handed to the caller, disposed after the run
  return [y, ...grads];
}

async function main() {
  await initGpu();
  const adapter = gpu().adapter;
  const runs = Number(process.argv[2] ?? (adapter.fallback ? 1 : 3));
  console.log(
    `adapter: ${adapter.description || adapter.device || adapter.architecture} (${adapter.backend}` +
      `${adapter.fallback ? ', SwiftShader' : ''}); median of ${runs} run(s) after a warm-up\n`,
  );
  const rng = new Rng(8734);
  const rows: string[][] = [['layer', 'work', 'dispatch', 'ms', 'GFLOP/s', 'runs (ms)']];
  for (const L of LAYERS) {
    const geo = convGeometry(L.x, L.w, { padding: 'SAME' });
    const macs = G * geo.n * geo.outH * geo.outW * geo.cOut * geo.kH * geo.kW * geo.cIn;
    const x = rng.uniform(L.x, 0, 1).keep();
    const w = rng.uniform(L.w, -0.1, 0.1).keep();
    const b = rng.uniform([G, geo.cOut], -0.1, 0.1).keep();
    const dy = rng.uniform([G, geo.n, geo.outH, geo.outW, geo.cOut], -1, 1).keep();
    // the same data as 32 separate tensors
    const parts = Array.from({ length: G }, () => ({
      x: rng.uniform(L.x.slice(1), 0, 1).keep(),
      w: rng.uniform(L.w.slice(1), -0.1, 0.1).keep(),
      b: rng.uniform([geo.cOut], -0.1, 0.1).keep(),
      dy: rng.uniform([geo.n, geo.outH, geo.outW, geo.cOut], -1, 1).keep(),
    }));
    const products = L.dx ? 3 : 2; // forward, dw (and dx)
    for (const backwardToo of [false, true]) {
      const work = backwardToo ? `fwd+bwd${L.dx ? ' (dx, dw, db)' : ' (dw, db)'}` : 'forward';
      const flops = 2 * macs * (backwardToo ? products : 1);
      for (const single of [false, true]) {
        for (const t of [x, w, b, ...parts.flatMap((p) => [p.x, p.w, p.b])]) t.requiresGrad = false;
        if (backwardToo) {
          for (const t of [w, b, ...parts.flatMap((p) => [p.w, p.b])]) requireGrad(t);
          if (L.dx) for (const t of [x, ...parts.map((p) => p.x)]) requireGrad(t);
        }
        const r = await time(runs, () =>
          single
            ? parts.flatMap((p) => step(p.x, p.w, p.b, backwardToo ? p.dy : null, true))
            : step(x, w, b, backwardToo ? dy : null, false),
        );
        const how = single ? `${G} x conv2d` : '1 x conv2dGrouped';
        rows.push([
          L.name,
          work,
          how,
          r.ms.toFixed(0),
          (flops / r.ms / 1e6).toFixed(adapter.fallback ? 3 : 1),
          r.all.map((v) => v.toFixed(0)).join(' '),
        ]);
        console.log(rows[rows.length - 1]!.join(' | '));
      }
    }
    disposeAll([x, w, b, dy, parts]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log(
    `\n${rows.map((r) => r.map((v, c) => (c >= 3 && c <= 4 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ')).join('\n')}`,
  );
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
