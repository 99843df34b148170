// The convolution kernel sweep. Every variant of conv-variants.ts is checked against the float64 CPU
// references (src/ops/conv.ts) on ragged shapes (strides, VALID and SAME, channel counts that are no
// multiple of a block), then timed at the hypernetwork's shapes (G weight sets of N images, layers 1
// and 2) next to the shipped op (conv2dGrouped) and the matmul 1024^3 row, one run of each per round so
// that all share the machine's load. Each row is also shown as a share of the matmul row's GFLOP/s in the
// same round (the median over rounds), from wall time and from this process's CPU time (SwiftShader's
// threads run in it, so CPU time counts the work whatever else the machine runs).
//
//   node esbuild.config.mjs shaders && npx esbuild bench/conv-sweep.ts --bundle --platform=node \
//     --format=esm --external:webgpu --outfile=dist/conv-sweep.mjs && WEIGHTGEN_POLL=patient node dist/conv-sweep.mjs [options]
//
// (WEIGHTGEN_POLL=patient as `npm run bench` runs: by default dawn.node spins a core while it waits, one of
// the two SwiftShader needs here; matmul 1024^3 took 692 ms that way against 388 ms, 2026-11-30.)
//
//   --rounds 3 --g 4 --n 32 --c1 1   rounds; weight sets, images; layer 1's input channels
//   --only fwd|dx|dw                 one product
//   --variants "fwdf 8x32 u1 t16,dwrf 32x16 u1 t256"   these variants instead of the default list
//   --shipped-only, --no-shipped, --no-matmul, --no-check
//   --check-shipped                  check the shipped op too, under several kernel settings
//   --tunings 128:256,64:512         the shipped op under these settings (pixelsPerThread:dwGroups)
//   --alt a/conv2d-forward.wgsl,...  the shipped op with that module replaced (A/B of an edit)
//   --orig old.wgsl                  the kernels this work replaced (git show <commit>:shaders/conv2d.wgsl)
//   --detail                         per-kernel GPU time of each row (timestamp queries, last round)

import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gpu, initGpu } from '../src/gpu/index.js';
import {
  type ConvGeometry,
  conv2dGrouped,
  convGeometry,
  cpuConv2d,
  cpuConv2dBackwardInput,
  cpuConv2dBackwardBias,
  cpuConv2dBackwardWeight,
  useConvTuning,
} from '../src/ops/conv.js';
import { matmul } from '../src/ops/matmul.js';
import { sum } from '../src/ops/reduce.js';
import { backward, disposeAll, requireGrad, Tensor, tensor } from '../src/tensor/index.js';
import {
  type ConvVariant,
  dwrVariant,
  fwdpVariant,
  dwVariant,
  fwdVariant,
  variantBackwardInput,
  variantBackwardWeight,
  variantForward,
} from './conv-variants.js';
import { median, randomArray, textTable } from './util.js';

const args = process.argv.slice(2);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const flag = (name: string) => args.includes(name);

/** The default list: the shapes of block that were close in the sweeps, nested and flat. */
const FWD = [
  fwdVariant(8, 8, 1, 16),
  fwdVariant(8, 8, 1, 16, true),
  fwdVariant(16, 4, 1, 8, true),
  fwdVariant(12, 8, 1, 8, true),
  fwdVariant(16, 8, 4),
  fwdpVariant(7, 16, 8),
];
const DW = [
  dwVariant(16, 4, 4, 256),
  dwVariant(16, 4, 1, 256, true),
  dwrVariant(8, 8, 1, 256, true),
  dwrVariant(8, 16, 1, 256, true),
  dwrVariant(8, 16, 1, 64, true),
];

interface Shape {
  x: number[];
  w: number[];
  stride: number | [number, number];
  padding: 'SAME' | 'VALID';
}

const CHECKS: Shape[] = [
  { x: [2, 2, 7, 6, 3], w: [2, 3, 3, 3, 5], stride: 1, padding: 'SAME' },
  { x: [2, 2, 7, 6, 2], w: [2, 5, 5, 2, 3], stride: 2, padding: 'SAME' },
  { x: [1, 3, 9, 9, 1], w: [1, 5, 5, 1, 33], stride: 1, padding: 'SAME' },
  { x: [2, 2, 7, 7, 3], w: [2, 3, 3, 3, 2], stride: 2, padding: 'VALID' },
  { x: [1, 2, 6, 7, 2], w: [1, 2, 3, 2, 4], stride: [2, 1], padding: 'SAME' },
  { x: [2, 2, 6, 7, 9], w: [2, 3, 2, 9, 18], stride: [1, 2], padding: 'VALID' },
  { x: [2, 3, 6, 6, 32], w: [2, 5, 5, 32, 16], stride: 1, padding: 'SAME' },
];

/** Largest |err| / (1 + |ref|) of every product of a variant on the check shapes; Infinity on failure. */
async function check(v: ConvVariant): Promise<number> {
  let worst = 0;
  for (const [k, s] of CHECKS.entries()) {
    const g = convGeometry(s.x, s.w, { stride: s.stride, padding: s.padding });
    const size = (a: number[]) => a.reduce((p, d) => p * d, 1);
    const x = randomArray(size(s.x), 10 + k);
    const w = randomArray(size(s.w), 20 + k);
    const b = randomArray(g.groups * g.cOut, 30 + k);
    const dy = randomArray(g.groups * g.n * g.outH * g.outW * g.cOut, 40 + k);
    const X = tensor(x, s.x);
    const W = tensor(w, s.w);
    const B = tensor(b, [g.groups, g.cOut]);
    const DY = tensor(dy, [g.groups, g.n, g.outH, g.outW, g.cOut]);
    try {
      const outs: [Tensor, Float64Array][] =
        v.kind === 'fwd'
          ? [
              [variantForward(v, X, W, B, g), cpuConv2d(x, w, b, g)],
              [variantBackwardInput(v, DY, W, g), cpuConv2dBackwardInput(dy, w, g)],
            ]
          : v.kind === 'fwdp'
            ? [[variantForward(v, X, W, B, g), cpuConv2d(x, w, b, g)]]
            : [[variantBackwardWeight(v, X, DY, g), cpuConv2dBackwardWeight(x, dy, g)]];
      for (const [t, ref] of outs) {
        const got = await t.data();
        t.dispose();
        if (got.length !== ref.length) return Number.POSITIVE_INFINITY;
        for (let i = 0; i < ref.length; i++) {
          const e = Math.abs(got[i]! - ref[i]!) / (1 + Math.abs(ref[i]!));
          if (!(e <= worst)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
        }
      }
    } catch (e) {
      console.log(`  ${v.name}: ${(e as Error).message}`);
      return Number.POSITIVE_INFINITY;
    } finally {
      disposeAll([X, W, B, DY]);
    }
  }
  return worst;
}

/** Shapes the shipped kernels are checked on besides CHECKS: several tiles, splits, ragged edges. */
const SHIPPED_CHECKS: Shape[] = [
  ...CHECKS,
  { x: [2, 2, 9, 8, 40], w: [2, 3, 3, 40, 40], stride: 1, padding: 'SAME' }, // 2 column tiles, 12 row tiles
  { x: [1, 3, 11, 5, 3], w: [1, 1, 1, 3, 17], stride: [3, 2], padding: 'VALID' },
  { x: [3, 1, 4, 4, 1], w: [3, 4, 4, 1, 1], stride: 1, padding: 'VALID' }, // one output pixel
  { x: [1, 2, 8, 8, 4], w: [1, 4, 4, 4, 8], stride: 2, padding: 'SAME' },
];

/**
 * The shipped op (conv2dGrouped, forward and backward) against the float64 references under several
 * kernel settings; the largest |err| / (1 + |ref|).
 */
async function checkShipped(): Promise<number> {
  let worst = 0;
  const tunings = [
    null,
    { pixelsPerThread: 16, dwGroups: 4096 },
    { pixelsPerThread: 1, dwGroups: 1 },
    { pixelsPerThread: 1000, dwGroups: 100000 },
  ];
  for (const tuning of tunings) {
    useConvTuning(tuning);
    for (const [k, s] of SHIPPED_CHECKS.entries()) {
      const opts = { stride: s.stride, padding: s.padding };
      const g = convGeometry(s.x, s.w, opts);
      const size = (a: number[]) => a.reduce((p, d) => p * d, 1);
      const x = randomArray(size(s.x), 50 + k);
      const w = randomArray(size(s.w), 60 + k);
      const b = randomArray(g.groups * g.cOut, 70 + k);
      const dy = randomArray(g.groups * g.n * g.outH * g.outW * g.cOut, 80 + k);
      const X = requireGrad(tensor(x, s.x));
      const W = requireGrad(tensor(w, s.w));
      const B = requireGrad(tensor(b, [g.groups, g.cOut]));
      const DY = tensor(dy, [g.groups, g.n, g.outH, g.outW, g.cOut]);
      const Y = conv2dGrouped(X, W, B, opts);
      backward(Y, DY);
      const pairs: [Tensor, Float64Array, string][] = [
        [Y, cpuConv2d(x, w, b, g), 'y'],
        [X.grad!, cpuConv2dBackwardInput(dy, w, g), 'dx'],
        [W.grad!, cpuConv2dBackwardWeight(x, dy, g), 'dw'],
        [B.grad!, cpuConv2dBackwardBias(dy, g), 'db'],
      ];
      for (const [t, ref, what] of pairs) {
        const got = await t.data();
        let e = got.length === ref.length ? 0 : Number.POSITIVE_INFINITY;
        for (let i = 0; i < ref.length; i++) {
          const d = Math.abs(got[i]! - ref[i]!) / (1 + Math.abs(ref[i]!));
          if (!(d <= e)) e = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
        }
        if (e > 1e-5) console.log(`  shipped ${what} x ${s.x} w ${s.w} tuning ${JSON.stringify(tuning)}: ${e}`);
        worst = Math.max(worst, e);
      }
      disposeAll([X, W, B, DY, Y, X.grad!, W.grad!, B.grad!]);
    }
  }
  useConvTuning(null);
  return worst;
}

/**
 * The kernels this work replaced (git show HEAD~:shaders/conv2d.wgsl saved to a file, --orig FILE), run
 * the way the old src/ops/conv.ts ran them on SwiftShader: workgroup-memory tiles of 64 x 16, 16 row tiles
 * a workgroup, the bias gradient a sum(). For before/after figures measured side by side.
 */
function origConv(g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor, dy: Tensor | null, dx: boolean): Tensor[] {
  const u = (rowTiles: number, hasBias: boolean) => ({
    n: g.n,
    in_h: g.inH,
    in_w: g.inW,
    c_in: g.cIn,
    out_h: g.outH,
    out_w: g.outW,
    c_out: g.cOut,
    k_h: g.kH,
    k_w: g.kW,
    stride_h: g.strideH,
    stride_w: g.strideW,
    pad_top: g.padTop,
    pad_left: g.padLeft,
    has_bias: hasBias ? 1 : 0,
    row_tiles: rowTiles,
  });
  const run = (entry: string, rows: number, cols: number, rowTiles: number, buffers: Record<string, Tensor>) =>
    gpu().dispatch(
      { shader: 'conv2d_orig', entry },
      Object.fromEntries(Object.entries(buffers).map(([k, t]) => [k, t.ref])),
      u(rowTiles, entry === 'conv_forward'),
      [Math.ceil(rows / 64 / rowTiles), Math.ceil(cols / 16), g.groups],
      `orig ${entry}`,
    );
  const y = Tensor.empty([g.groups, g.n, g.outH, g.outW, g.cOut]);
  run('conv_forward', g.n * g.outH * g.outW, g.cOut, 16, { x, weight: w, bias: b, y });
  if (!dy) return [y];
  const out = [y];
  if (dx) {
    const t = Tensor.empty(x.shape);
    run('conv_backward_input', g.n * g.inH * g.inW, g.cIn, 16, { dy, weight: w, dx: t });
    out.push(t);
  }
  const dw = Tensor.empty(w.shape);
  run('conv_backward_weight', g.kH * g.kW * g.cIn, g.cOut, 1, { x, dy, dw });
  out.push(dw, sum(dy, [1, 2, 3]));
  return out;
}

interface Entry {
  name: string;
  flops: number;
  run: () => Tensor[];
}

interface Timing {
  wall: number; // median ms
  cpu: number; // median ms of process CPU time (SwiftShader's threads run in this process)
  wallShare: number; // median over rounds of (this row's GFLOP/s) / (the first row's, same round), wall time
  cpuShare: number; // the same from CPU time
}

/**
 * Times every entry once per round, interleaved, after a warm-up round. The first entry is the reference
 * of the shares: on a shared machine the load changes from second to second, and a ratio to a row timed
 * moments before is steadier than either figure.
 */
async function timeAll(entries: Entry[], rounds: number): Promise<Map<Entry, Timing>> {
  const g = gpu();
  const samples = new Map(entries.map((e) => [e, { wall: [] as number[], cpu: [] as number[] }]));
  for (let r = -1; r < rounds; r++) {
    for (const e of entries) {
      const profile = flag('--detail') && r === rounds - 1;
      g.profiler.reset();
      g.setProfiling(profile && g.canProfile);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const outs = e.run();
      await g.read({ ...outs[outs.length - 1]!.ref, size: 4 });
      const wall = performance.now() - t0;
      const c1 = process.cpuUsage(c0);
      g.setProfiling(false);
      disposeAll(outs);
      if (r < 0) continue;
      if (profile) console.log(`${e.name}:\n${g.profiler.table()}`);
      const s = samples.get(e)!;
      s.wall.push(wall);
      s.cpu.push((c1.user + c1.system) / 1000);
    }
  }
  const ref = samples.get(entries[0]!)!;
  const rate = (e: Entry, ms: number) => e.flops / ms;
  const share = (e: Entry, k: 'wall' | 'cpu') =>
    median(samples.get(e)![k].map((ms, r) => rate(e, ms) / rate(entries[0]!, ref[k][r]!)));
  return new Map(
    entries.map((e) => {
      const s = samples.get(e)!;
      return [e, { wall: median(s.wall), cpu: median(s.cpu), wallShare: share(e, 'wall'), cpuShare: share(e, 'cpu') }];
    }),
  );
}

async function main() {
  await initGpu();
  const rounds = Number(value('--rounds') ?? 3);
  const G = Number(value('--g') ?? 4);
  const N = Number(value('--n') ?? 32);
  const only = value('--only');
  const C1 = Number(value('--c1') ?? 1); // layer 1's input channels (1 in the hypernetwork)
  const pick = value('--variants');
  let variants: ConvVariant[] = flag('--shipped-only') ? [] : [...FWD, ...DW];
  if (pick) {
    const names = pick.split(',').map((s) => s.trim());
    variants = names.map((nm) => {
      const mp = /^fwdp (\d+)x(\d+)(?: t(\d+))?$/.exec(nm);
      if (mp) return fwdpVariant(Number(mp[1]) / 4, Number(mp[2]), Number(mp[3] ?? 1));
      const m = /^(fwdf|fwd|dwf|dw|dwrf|dwr) (\d+)x(\d+) u(\d+)(?: t(\d+))?$/.exec(nm);
      if (!m) throw new Error(`variant '${nm}': expected e.g. 'fwd 16x32 u4' or 'dw 16x16 u4 t256'`);
      const [r, c, u, t] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5] ?? 64)];
      if (m[1] === 'fwd' || m[1] === 'fwdf') return fwdVariant(r, c / 4, u, Number(m[5] ?? 1), m[1] === 'fwdf');
      const flat = m[1].endsWith('f');
      return m[1].startsWith('dwr') ? dwrVariant(r / 4, c, u, t, flat) : dwVariant(r, c / 4, u, t, flat);
    });
  }
  console.log(`adapter: ${gpu().adapter.description}; G = ${G}, N = ${N}, ${rounds} rounds`);
  if (flag('--check-shipped')) console.log(`  check shipped: max rel err ${(await checkShipped()).toExponential(2)}`);
  const ok: ConvVariant[] = [];
  for (const v of variants) {
    const err = await check(v);
    console.log(`  check ${v.name}: max rel err ${err.toExponential(2)}`);
    if (err < 1e-5 || flag('--no-check')) ok.push(v);
    else console.log(`  ${v.name}: FAILED the check`);
  }

  const layers = [
    { name: 'L1', x: [G, N, 28, 28, C1], w: [G, 5, 5, C1, 32], dx: false },
    { name: 'L2', x: [G, N, 14, 14, 32], w: [G, 5, 5, 32, 16], dx: true },
  ];
  const entries: Entry[] = [];
  const keep: Tensor[] = [];
  if (!flag('--no-matmul')) {
    const A = tensor(randomArray(1024 * 1024, 5), [1024, 1024]).keep();
    const B = tensor(randomArray(1024 * 1024, 6), [1024, 1024]).keep();
    keep.push(A, B);
    entries.push({ name: 'matmul 1024^3 (shipped)', flops: 2 * 1024 ** 3, run: () => [matmul(A, B)] });
  }
  // --alt a/conv2d-forward.wgsl,b/conv2d-forward.v2.wgsl: the shipped op with one of its modules replaced by
  // each file (the module its name names, up to the first dot; behind shaders/prelude.wgsl), A/B of edits
  const alts = (value('--alt') ?? '').split(',').filter(Boolean);
  const replaced = alts.map((f) => basename(f).split('.')[0]!);
  const real = gpu().dispatch.bind(gpu());
  let swap: string | null = null;
  gpu().dispatch = (spec, buffers, u, groups, name) => {
    const i = swap === null ? -1 : alts.indexOf(swap);
    const alt = i >= 0 && spec.shader === replaced[i] ? { ...spec, shader: `conv_alt${i}` } : spec;
    return real(alt, buffers, u, groups, name);
  };
  const prelude = readFileSync(join(process.cwd(), 'shaders/prelude.wgsl'), 'utf8'); // run from the repository
  for (const [i, file] of alts.entries()) {
    gpu().kernels.register(`conv_alt${i}`, prelude + readFileSync(file, 'utf8'));
  }
  // --tunings 128:256,64:512: the shipped op under these settings (pixelsPerThread:dwGroups) as well
  const tunings = (value('--tunings') ?? '').split(',').filter(Boolean);
  const versions: [string, string | null][] = [['shipped', null], ...alts.map((f): [string, string] => [f, f])];
  for (const t of tunings) versions.push([`tuning ${t}`, `tuning ${t}`]);
  const within = (v: string | null, f: () => Tensor[]) => () => {
    const tuning = v?.startsWith('tuning ') ? v.slice(7).split(':').map(Number) : null;
    swap = tuning ? null : v;
    if (tuning) useConvTuning({ pixelsPerThread: tuning[0]!, dwGroups: tuning[1]! });
    try {
      return f();
    } finally {
      swap = null;
      useConvTuning(null);
    }
  };
  for (const L of layers) {
    const g: ConvGeometry = convGeometry(L.x, L.w, { padding: 'SAME' });
    const size = (a: number[]) => a.reduce((p, d) => p * d, 1);
    const X = tensor(randomArray(size(L.x), 1, 0, 1), L.x).keep();
    const W = tensor(randomArray(size(L.w), 2, -0.1, 0.1), L.w).keep();
    const Bb = tensor(randomArray(G * g.cOut, 3, -0.1, 0.1), [G, g.cOut]).keep();
    const DY = tensor(randomArray(G * g.n * g.outH * g.outW * g.cOut, 4), [G, g.n, g.outH, g.outW, g.cOut]).keep();
    keep.push(X, W, Bb, DY);
    const flops = 2 * G * g.n * g.outH * g.outW * g.cOut * g.kH * g.kW * g.cIn;
    const orig = value('--orig');
    if (orig) {
      gpu().kernels.register('conv2d_orig', readFileSync(orig, 'utf8')); // the same code twice is a no-op
      if (!only || only === 'fwd') {
        entries.push({ name: `${L.name} fwd  before`, flops, run: () => origConv(g, X, W, Bb, null, L.dx) });
      }
      if (!only) {
        entries.push({
          name: `${L.name} fwd+bwd before`,
          flops: flops * (L.dx ? 3 : 2),
          run: () => origConv(g, X, W, Bb, DY, L.dx),
        });
      }
    }
    for (const [label, v] of flag('--no-shipped') ? [] : versions) {
      if (!only || only === 'fwd') {
        entries.push({
          name: `${L.name} fwd  ${label}`,
          flops,
          run: within(v, () => [conv2dGrouped(X, W, Bb, { padding: 'SAME' })]),
        });
      }
      if (!only) {
        entries.push({
          name: `${L.name} fwd+bwd ${label}`,
          flops: flops * (L.dx ? 3 : 2),
          run: within(v, () => {
            requireGrad(W);
            requireGrad(Bb);
            if (L.dx) requireGrad(X);
            const y = conv2dGrouped(X, W, Bb, { padding: 'SAME' });
            backward(y, DY);
            const out = [y, W.grad!, Bb.grad!, ...(L.dx ? [X.grad!] : [])];
            W.grad = null;
            Bb.grad = null;
            X.grad = null;
            W.requiresGrad = false;
            Bb.requiresGrad = false;
            X.requiresGrad = false;
            return out;
          }),
        });
      }
    }
    for (const v of ok) {
      if (v.kind === 'fwd' || v.kind === 'fwdp') {
        if (!only || only === 'fwd') {
          entries.push({ name: `${L.name} fwd  ${v.name}`, flops, run: () => [variantForward(v, X, W, Bb, g)] });
        }
        if (v.kind === 'fwd' && L.dx && (!only || only === 'dx')) {
          entries.push({ name: `${L.name} dx   ${v.name}`, flops, run: () => [variantBackwardInput(v, DY, W, g)] });
        }
      } else if (!only || only === 'dw') {
        entries.push({ name: `${L.name} dw   ${v.name}`, flops, run: () => [variantBackwardWeight(v, X, DY, g)] });
      }
    }
  }
  const t = await timeAll(entries, rounds);
  const rows = [['case', 'wall ms', 'GFLOP/s', 'share', 'cpu ms', 'GFLOP/cpu-s', 'share (cpu)']];
  for (const e of entries) {
    const r = t.get(e)!;
    rows.push([
      e.name,
      r.wall.toFixed(1),
      (e.flops / r.wall / 1e6).toFixed(2),
      `${(100 * r.wallShare).toFixed(0)}%`,
      r.cpu.toFixed(0),
      (e.flops / r.cpu / 1e6).toFixed(2),
      `${(100 * r.cpuShare).toFixed(0)}%`,
    ]);
  }
  console.log(`\n${textTable(rows, new Set([1, 2, 3, 4, 5, 6]))}`);
  disposeAll(keep);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
