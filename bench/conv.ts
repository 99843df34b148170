// Benchmark of conv2dGrouped at the hypernetwork's shapes (PAPERS.md section 2: G generated networks, each
// evaluating its own n MNIST images; the cpu preset has G = n = 8, the paper G = n = 32), next to the
// matmul 1024^3 row measured in the same run, so that every conv row can be read as a share of it:
//
//   layer 1: x (G, n, 28, 28, 1)  w (G, 5, 5, 1, 32)   SAME, + bias, backward dw, db (x is the images)
//   layer 2: x (G, n, 14, 14, 32) w (G, 5, 5, 32, 16)  SAME, + bias, backward dx, dw, db
//
// Each figure is the wall time from recording the ops to a completed readback (4 bytes of the last
// result, read after every kernel has run), the median of `runs` runs after a warm-up run (which also
// compiles the kernels). The rows run interleaved, one run of each per round, so that they share the
// machine's load. GFLOP/s counts 2 * (multiply-adds of the dense convolution) per product: the forward,
// dx and dw each; bias and padding are not counted. `--single` adds the same work as a loop of G single
// conv2d calls.
//
// Run from the repository root (the bundle must sit inside it for Node to find the `webgpu` package):
//   node esbuild.config.mjs shaders && npx esbuild bench/conv.ts --bundle --platform=node --format=esm \
//     --external:webgpu --outfile=dist/conv-bench.mjs && node dist/conv-bench.mjs [--runs 5] [--gn 8x8,32x32] [--single]

import { gpu, initGpu } from '../src/gpu/index.js';
import { conv2d, conv2dGrouped, convGeometry, matmul } from '../src/ops/index.js';
import { backward, disposeAll, requireGrad, Rng, scope, type Tensor } from '../src/tensor/index.js';

const args = process.argv.slice(2);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

interface Layer {
  name: string;
  hw: number;
  cIn: number;
  cOut: number;
  dx: boolean;
}

const LAYERS: Layer[] = [
  { name: 'layer 1', hw: 28, cIn: 1, cOut: 32, dx: false },
  { name: 'layer 2', hw: 14, cIn: 32, cOut: 16, dx: true },
];

interface Row {
  what: string;
  flops: number;
  run: () => Tensor[]; // the tensors that must be complete
  ms: number[];
}

/** Runs the forward (and backward when `dy`) of a conv; returns what must be complete. */
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
  const runs = Number(value('--runs') ?? (adapter.fallback ? 3 : 5));
  const sizes = (value('--gn') ?? '8x8,32x32').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const single = args.includes('--single');
  console.log(
    `adapter: ${adapter.description || adapter.device || adapter.architecture} (${adapter.backend}` +
      `${adapter.fallback ? ', SwiftShader' : ''}); median of ${runs} run(s) after a warm-up, rows interleaved\n`,
  );
  const rng = new Rng(8734);
  const keep: Tensor[] = [];
  const rows: Row[] = [];
  const a = rng.uniform([1024, 1024], -1, 1).keep();
  const bm = rng.uniform([1024, 1024], -1, 1).keep();
  keep.push(a, bm);
  rows.push({ what: 'matmul 1024^3', flops: 2 * 1024 ** 3, run: () => [matmul(a, bm)], ms: [] });
  for (const [G, n] of sizes) {
    for (const L of LAYERS) {
      const xShape = [G, n, L.hw, L.hw, L.cIn];
      const wShape = [G, 5, 5, L.cIn, L.cOut];
      const geo = convGeometry(xShape, wShape, { padding: 'SAME' });
      const macs = G * n * geo.outH * geo.outW * geo.cOut * geo.kH * geo.kW * geo.cIn;
      const x = rng.uniform(xShape, 0, 1).keep();
      const w = rng.uniform(wShape, -0.1, 0.1).keep();
      const b = rng.uniform([G, geo.cOut], -0.1, 0.1).keep();
      const dy = rng.uniform([G, n, geo.outH, geo.outW, geo.cOut], -1, 1).keep();
      // the same data as G separate tensors
      const parts = Array.from({ length: single ? G : 0 }, () => ({
        x: rng.uniform(xShape.slice(1), 0, 1).keep(),
        w: rng.uniform(wShape.slice(1), -0.1, 0.1).keep(),
        b: rng.uniform([geo.cOut], -0.1, 0.1).keep(),
        dy: rng.uniform([n, geo.outH, geo.outW, geo.cOut], -1, 1).keep(),
      }));
      keep.push(x, w, b, dy, ...parts.flatMap((p) => [p.x, p.w, p.b, p.dy]));
      for (const backwardToo of [false, true]) {
        const work = backwardToo ? `fwd+bwd${L.dx ? ' (dx, dw, db)' : ' (dw, db)'}` : 'forward';
        const flops = 2 * macs * (backwardToo ? (L.dx ? 3 : 2) : 1);
        for (const loop of single ? [false, true] : [false]) {
          const grads = (ts: Tensor[], on: boolean) => {
            for (const t of ts) t.requiresGrad = false;
            if (on) for (const t of ts) requireGrad(t);
          };
          rows.push({
            what: `${L.name} G=${G} n=${n} ${work}${loop ? ` (${G} x conv2d)` : ''}`,
            flops,
            ms: [],
            run: () => {
              const xs = loop ? parts.map((p) => p.x) : [x];
              grads(loop ? parts.flatMap((p) => [p.w, p.b]) : [w, b], backwardToo);
              grads(xs, backwardToo && L.dx);
              return loop
                ? parts.flatMap((p) => step(p.x, p.w, p.b, backwardToo ? p.dy : null, true))
                : step(x, w, b, backwardToo ? dy : null, false);
            },
          });
        }
      }
    }
  }
  for (let r = 0; r <= runs; r++) {
    for (const row of rows) {
      const t0 = performance.now();
      const outs = scope(row.run);
      await gpu().read({ ...outs[outs.length - 1]!.ref, size: 4 });
      const ms = performance.now() - t0;
      disposeAll(outs);
      if (r > 0) row.ms.push(ms);
    }
    console.log(`round ${r}${r ? '' : ' (warm-up)'} done`);
  }
  const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
  const gflops = (row: Row) => row.flops / median(row.ms) / 1e6;
  const ref = gflops(rows[0]!);
  const table = [['case', 'ms', 'GFLOP/s', 'of matmul', 'runs (ms)']];
  for (const row of rows) {
    const g = gflops(row);
    table.push([
      row.what,
      median(row.ms).toFixed(1),
      g.toFixed(2),
      `${((100 * g) / ref).toFixed(0)}%`,
      row.ms.map((v) => v.toFixed(0)).join(' '),
    ]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  console.log(
    `\n${table.map((r) => r.map((v, c) => (c >= 1 && c <= 3 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ')).join('\n')}`,
  );
  disposeAll(keep);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
