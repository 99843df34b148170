// The roofline of this adapter: what it can attain at best, measured by microkernels, so that every bench
// row can be read as a share of the roof that bounds it (report.ts).
//
//   FMA roof        independent multiply-add chains held in registers: C chains of vecW<f32> per
//                   invocation, each step x = fma(x, a, b) (or x * a + b), 4 steps of every chain per loop
//                   iteration; a and b come from a uniform, so that nothing folds. No memory traffic but one
//                   f32 per invocation at the end (the sum of the chains), so the compiler cannot drop the
//                   work. 2^18 invocations (enough workgroups for every core of a CPU and every SM of a GPU).
//                   Swept: vector width, chain count, then workgroup size and fma against multiply-add for
//                   the best three; the best is the roof. A multiply-add counts 2 FLOPs.
//   bandwidth roof  a streaming sum (each invocation sums vec4s of a buffer, writes one f32) and a streaming
//                   copy (vec4 in, vec4 out) of a 256 MiB buffer (less where the adapter's limits say so),
//                   far beyond any cache; each in two layouts (grid-stride: invocation i takes vec4 i, i + T,
//                   ...; blocked: invocation i takes a contiguous run), two invocation counts. GB/s counts the
//                   bytes read plus written; the roof is the best of sum and copy.
//
// Times are the kernels' own (GPU timestamps) where the adapter has them, else wall time with a 4-byte
// readback. Each configuration is sized to about TARGET_MS a dispatch, and the median of its rounds kept.
// test/roofline.test.ts checks that each kernel computes what it claims against the CPU functions here.
// Not here: the shares of the bench rows (report.ts), or a model of caches.

import { gpu } from '../src/gpu/index.js';
import { Tensor } from '../src/tensor/index.js';
import { median } from './util.js';

/** Steps of every chain per loop iteration of the FMA kernel. */
export const UNROLL = 4;
/** Invocations of the FMA kernel. */
export const FMA_INVOCATIONS = 2 ** 18;
const TARGET_MS = 40;

export interface FmaConfig {
  wg: number; // workgroup size (1-D)
  width: 1 | 2 | 4; // f32, vec2f or vec4f chains
  chains: number; // independent chains per invocation
  op: 'fma' | 'muladd';
}

export const fmaName = (c: FmaConfig) => `${c.chains} x ${c.width === 1 ? 'f32' : `vec${c.width}f`} ${c.op} wg${c.wg}`;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const LANES = ['x', 'y', 'z', 'w'];

/**
 * The FMA microkernel. Chain c, lane l of invocation i starts at s + (c * width + l) with s = (i % 16) / 4,
 * runs 4 * iters steps of x = x * a + b, and out[i] is the sum of every chain's lanes, in order.
 */
export function fmaSource(c: FmaConfig): string {
  const t = c.width === 1 ? 'f32' : `vec${c.width}f`;
  const step = (x: string) => (c.op === 'fma' ? `${x} = fma(${x}, va, vb);` : `${x} = ${x} * va + vb;`);
  const seed = (ch: number) => {
    const lanes = range(c.width).map((l) => `s + ${ch * c.width + l}.0`);
    return c.width === 1 ? lanes[0]! : `${t}(${lanes.join(', ')})`;
  };
  const lanes = (x: string) => (c.width === 1 ? [x] : range(c.width).map((l) => `${x}.${LANES[l]}`));
  return [
    'struct Fma { iters: u32, a: f32, b: f32 }',
    '@group(0) @binding(0) var<uniform> p: Fma;',
    '@group(0) @binding(1) var<storage, read_write> out: array<f32>;',
    `@compute @workgroup_size(${c.wg})`,
    'fn fma_chains(@builtin(global_invocation_id) gid: vec3u) {',
    '  let s = f32(gid.x % 16u) * 0.25;',
    `  let va = ${t}(p.a);`,
    `  let vb = ${t}(p.b);`,
    ...range(c.chains).map((ch) => `  var x${ch} = ${seed(ch)};`),
    '  for (var it = 0u; it < p.iters; it++) {',
    ...range(UNROLL).flatMap(() => range(c.chains).map((ch) => `    ${step(`x${ch}`)}`)),
    '  }',
    '  var total = 0.0;',
    ...range(c.chains).flatMap((ch) => lanes(`x${ch}`).map((x) => `  total += ${x};`)),
    '  out[gid.x] = total;',
    '}',
  ].join('\n');
}

/** What the FMA kernel writes, computed on the CPU in f32 (each step rounded after the multiply and the add). */
export function cpuFmaChains(c: FmaConfig, invocations: number, iters: number, a: number, b: number): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(invocations);
  for (let i = 0; i < invocations; i++) {
    const s = f((i % 16) * 0.25);
    let total = 0;
    for (let ch = 0; ch < c.chains; ch++) {
      for (let l = 0; l < c.width; l++) {
        let x = f(s + ch * c.width + l);
        for (let k = 0; k < iters * UNROLL; k++) x = f(f(x * a) + b);
        total = f(total + x);
      }
    }
    out[i] = total;
  }
  return out;
}

export type Layout = 'stride' | 'blocked';

export interface StreamConfig {
  kind: 'sum' | 'copy';
  layout: Layout;
  invocations: number; // a multiple of 64
}

export const streamName = (c: StreamConfig) => `${c.kind} ${c.layout} ${c.invocations} inv`;

/**
 * The streaming kernels over n4 vec4s: sum (out[i] = the sum of the vec4s invocation i takes, lanes added
 * x + y + z + w after the loop) or copy (dst = src). stride: invocation i takes j = i, i + T, ...;
 * blocked: j in [i * L, min((i + 1) * L, n4)) with L = ceil(n4 / T). T = invocations (the `total` uniform).
 */
export function streamSource(c: StreamConfig): string {
  const loop =
    c.layout === 'stride'
      ? 'for (var j = i; j < p.n4; j += p.total) {'
      : 'let run = (p.n4 + p.total - 1u) / p.total;\n  let end = min(i * run + run, p.n4);\n  for (var j = i * run; j < end; j++) {';
  const body = c.kind === 'sum' ? 'acc += src[j];' : 'dst[j] = src[j];';
  return [
    'struct Stream { n4: u32, total: u32 }',
    '@group(0) @binding(0) var<uniform> p: Stream;',
    '@group(0) @binding(1) var<storage, read> src: array<vec4f>;',
    c.kind === 'sum'
      ? '@group(0) @binding(2) var<storage, read_write> out: array<f32>;'
      : '@group(0) @binding(2) var<storage, read_write> dst: array<vec4f>;',
    '@compute @workgroup_size(64)',
    `fn stream_${c.kind}(@builtin(global_invocation_id) gid: vec3u) {`,
    '  let i = gid.x;',
    c.kind === 'sum' ? '  var acc = vec4f(0.0);' : '',
    `  ${loop}`,
    `    ${body}`,
    '  }',
    c.kind === 'sum' ? '  out[i] = acc.x + acc.y + acc.z + acc.w;' : '',
    '}',
  ]
    .filter(Boolean)
    .join('\n');
}

/** What the sum kernel writes for src (whole vec4s), computed on the CPU in f32 in the kernel's order. */
export function cpuStreamSum(c: StreamConfig, src: Float32Array): Float32Array {
  const f = Math.fround;
  const n4 = src.length / 4;
  const T = c.invocations;
  const out = new Float32Array(T);
  const run = Math.ceil(n4 / T);
  for (let i = 0; i < T; i++) {
    const acc = [0, 0, 0, 0];
    const js: number[] = [];
    if (c.layout === 'stride') for (let j = i; j < n4; j += T) js.push(j);
    else for (let j = i * run; j < Math.min(i * run + run, n4); j++) js.push(j);
    for (const j of js) for (let l = 0; l < 4; l++) acc[l] = f(acc[l]! + src[4 * j + l]!);
    out[i] = f(f(f(acc[0]! + acc[1]!) + acc[2]!) + acc[3]!);
  }
  return out;
}

// ---- running them ------------------------------------------------------------------------------------

const registered = new Set<string>();
function kernel(name: string, code: string, entry: string) {
  if (!registered.has(name)) {
    gpu().kernels.register(name, code);
    registered.add(name);
  }
  return { shader: name, entry };
}

const shaderId = (s: string) => `bench_roof_${s.replace(/[^a-z0-9]+/gi, '_')}`;

/** Records the FMA kernel over `invocations` into out (f32 x invocations). */
export function dispatchFma(c: FmaConfig, out: Tensor, invocations: number, iters: number, a: number, b: number): void {
  if (invocations % c.wg) throw new Error(`dispatchFma: ${invocations} invocations is no multiple of wg ${c.wg}`);
  const spec = kernel(shaderId(`fma ${fmaName(c)}`), fmaSource(c), 'fma_chains');
  gpu().dispatch(spec, { out: out.ref }, { iters, a, b }, [invocations / c.wg, 1, 1], `roof fma ${fmaName(c)}`);
}

/** Records the streaming kernel: src (n4 vec4s) summed into out (f32 x invocations), or copied to out. */
export function dispatchStream(c: StreamConfig, src: Tensor, out: Tensor): void {
  const spec = kernel(shaderId(`stream ${streamName(c)}`), streamSource(c), `stream_${c.kind}`);
  const buffers: Record<string, typeof src.ref> = { src: src.ref, [c.kind === 'sum' ? 'out' : 'dst']: out.ref };
  gpu().dispatch(spec, buffers, { n4: src.size / 4, total: c.invocations }, [c.invocations / 64, 1, 1], 'roof');
}

/** ms of the work `record` records: the kernels' GPU time where timestamps exist, else wall time to a readback. */
async function timeIt(record: () => void, probe: Tensor): Promise<number> {
  const g = gpu();
  const profile = g.canProfile;
  if (profile) {
    g.profiler.reset();
    g.setProfiling(true);
  }
  try {
    const t0 = performance.now();
    record();
    await g.read({ ...probe.ref, size: 4 });
    const wall = performance.now() - t0;
    return profile ? g.profiler.summary().reduce((s, r) => s + r.totalMs, 0) : wall;
  } finally {
    if (profile) g.setProfiling(false);
  }
}

export interface RoofSample {
  name: string;
  config: FmaConfig | StreamConfig;
  ms: number; // median of the rounds
  rate: number; // GFLOP/s or GB/s
}

export interface Roofs {
  fmaGflops: number;
  fmaBest: string;
  bandwidthGBs: number; // the better of sum and copy
  sumGBs: number;
  copyGBs: number;
  sumBest: string;
  copyBest: string;
  streamBytes: number; // the size of the streamed buffer
  timing: 'gpu timestamps' | 'wall time';
  fmaSweep: RoofSample[];
  streamSweep: RoofSample[];
}

async function fmaRate(c: FmaConfig, out: Tensor, rounds: number): Promise<RoofSample> {
  const flopsPerIter = FMA_INVOCATIONS * UNROLL * c.chains * c.width * 2;
  const run = (iters: number) => timeIt(() => dispatchFma(c, out, FMA_INVOCATIONS, iters, 1, 1e-3), out);
  await run(1); // compile
  const probe = 8;
  const t = Math.max(await run(probe), 1e-3);
  const iters = Math.max(1, Math.min(1 << 16, Math.round((probe * TARGET_MS) / t)));
  const ms = median(await sequence(rounds, () => run(iters)));
  return { name: fmaName(c), config: c, ms, rate: (flopsPerIter * iters) / ms / 1e6 };
}

async function streamRate(c: StreamConfig, src: Tensor, rounds: number): Promise<RoofSample> {
  const out = c.kind === 'sum' ? Tensor.empty([c.invocations]) : Tensor.empty([src.size]);
  try {
    const run = () => timeIt(() => dispatchStream(c, src, out), out);
    await run(); // compile
    const ms = median(await sequence(rounds, run));
    const bytes = src.size * 4 * (c.kind === 'copy' ? 2 : 1);
    return { name: streamName(c), config: c, ms, rate: bytes / ms / 1e6 };
  } finally {
    out.dispose();
  }
}

async function sequence(n: number, f: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

const best = (xs: RoofSample[]) => xs.reduce((a, b) => (b.rate > a.rate ? b : a));

/** The FMA sweep: width x chains at wg 64 with fma, then the best three at wg 64/128/256, fma and multiply-add. */
async function fmaSweep(rounds: number, log: (l: string) => void): Promise<RoofSample[]> {
  const out = Tensor.empty([FMA_INVOCATIONS]);
  const samples: RoofSample[] = [];
  const seen = new Map<string, FmaConfig>();
  const add = async (c: FmaConfig) => {
    if (seen.has(fmaName(c))) return;
    seen.set(fmaName(c), c);
    const s = await fmaRate(c, out, rounds);
    samples.push(s);
    log(`  roof ${s.name}: ${s.rate.toFixed(2)} GFLOP/s (${s.ms.toFixed(1)} ms)`);
  };
  try {
    for (const width of [1, 2, 4] as const) {
      for (const chains of [1, 4, 8, 16]) await add({ wg: 64, width, chains, op: 'fma' });
    }
    const top = [...samples].sort((a, b) => b.rate - a.rate).slice(0, 3);
    for (const t of top) {
      const c = seen.get(t.name)!;
      for (const wg of [128, 256]) await add({ ...c, wg });
      await add({ ...c, op: 'muladd' });
    }
    return samples;
  } finally {
    out.dispose();
  }
}

/** Bytes of the streamed buffer: 256 MiB, or less where the adapter's limits say so. */
export function streamBytes(): number {
  const lim = gpu().device.limits;
  const cap = Math.min(256 * 2 ** 20, lim.maxStorageBufferBindingSize, lim.maxBufferSize);
  return Math.floor(cap / 2 ** 20) * 2 ** 20;
}

async function streamSweep(rounds: number, log: (l: string) => void): Promise<RoofSample[]> {
  const bytes = streamBytes();
  const src = Tensor.empty([bytes / 4]);
  const samples: RoofSample[] = [];
  try {
    for (const kind of ['sum', 'copy'] as const) {
      for (const layout of ['stride', 'blocked'] as const) {
        for (const invocations of [2 ** 12, 2 ** 16]) {
          const s = await streamRate({ kind, layout, invocations }, src, rounds);
          samples.push(s);
          log(`  roof ${s.name}: ${s.rate.toFixed(2)} GB/s (${s.ms.toFixed(1)} ms)`);
        }
      }
    }
    return samples;
  } finally {
    src.dispose();
  }
}

/** Measures both roofs on the running GPU (initGpu first). */
export async function measureRoofs(o: { quick?: boolean; log?: (l: string) => void } = {}): Promise<Roofs> {
  const log = o.log ?? (() => {});
  const rounds = o.quick ? 2 : 5;
  log(`roofline: FMA sweep (${FMA_INVOCATIONS} invocations, ${UNROLL} steps of every chain a loop iteration)`);
  const fma = await fmaSweep(rounds, log);
  log(`roofline: streaming ${streamBytes() / 2 ** 20} MiB`);
  const stream = await streamSweep(rounds, log);
  const sum = best(stream.filter((s) => s.name.startsWith('sum')));
  const copy = best(stream.filter((s) => s.name.startsWith('copy')));
  const f = best(fma);
  return {
    fmaGflops: f.rate,
    fmaBest: f.name,
    bandwidthGBs: Math.max(sum.rate, copy.rate),
    sumGBs: sum.rate,
    copyGBs: copy.rate,
    sumBest: sum.name,
    copyBest: copy.name,
    streamBytes: streamBytes(),
    timing: gpu().canProfile ? 'gpu timestamps' : 'wall time',
    fmaSweep: fma,
    streamSweep: stream,
  };
}

/** The roofs' best configurations measured again (after the cases: the machine's load moves). */
export async function remeasure(r: Roofs, quick = false): Promise<{ fmaGflops: number; bandwidthGBs: number }> {
  const rounds = quick ? 2 : 5;
  const pick = (xs: RoofSample[], name: string) => xs.find((x) => x.name === name)!.config;
  const out = Tensor.empty([FMA_INVOCATIONS]);
  const src = Tensor.empty([r.streamBytes / 4]);
  try {
    const f = await fmaRate(pick(r.fmaSweep, r.fmaBest) as FmaConfig, out, rounds);
    const sum = await streamRate(pick(r.streamSweep, r.sumBest) as StreamConfig, src, rounds);
    const copy = await streamRate(pick(r.streamSweep, r.copyBest) as StreamConfig, src, rounds);
    return { fmaGflops: f.rate, bandwidthGBs: Math.max(sum.rate, copy.rate) };
  } finally {
    out.dispose();
    src.dispose();
  }
}
