// Runs benchmark cases and collects one row per case. Platform-neutral: Node (main.ts) and the browser
// page (page.ts) both call runCases.
//
// Per case: each contender runs its first iteration (which compiles kernels; its output is kept for the
// cross-check), then a warm-up iteration unless the first took over 2 s (compiling is then a small part
// of it); then rounds, until about budgetMs have passed (within [minRounds, maxRounds]; 2 rounds when
// one takes over 10 s), in each of which every contender runs one iteration, so that all three see the
// same machine load (this machine is shared, and its load moves). The time of an iteration is wall time
// from issuing the work to a completed readback of its result; the row keeps the median. GPU time: one
// more iteration of ours and of TF.js-WebGPU with timestamp queries on (our profiler and tf.time both
// give each dispatch its own compute pass and sum end - begin over the dispatches), which also counts
// the dispatches; its wall time is not a sample (tf.time submits each kernel on its own). Our timed
// iteration is also traced (gpu().trace): the bytes its dispatches bind and its matmuls' FLOPs, for the
// rows' shares of the roofs when the case gives no count of its own (report.ts applyRoofs).

import { gpu } from '../src/gpu/index.js';
import type { DispatchTrace } from '../src/gpu/trace.js';
import type { ProfileRow } from '../src/gpu/profiler.js';
import type { Bound, Case, Contender, Impl } from './case.js';
import { type BenchEnv, quietly, useBackend } from './env.js';
import { maxAbsDiff, median } from './util.js';

export interface Timing {
  ms: number; // median wall time of one iteration, readback included
  runs: number[];
}

export interface Row {
  op: string;
  shape: string;
  flops: number | null;
  /** Least bytes an iteration moves: the case's count, else traced (bytesFrom below); null when unknown. */
  bytes: number | null;
  bound: Bound;
  /** FLOPs of our matmul dispatches in one iteration, from the dispatch trace (training steps). */
  tracedFlops: number | null;
  /** Which roof the row is read against and its shares (report.ts applyRoofs); null without roofs. */
  roof: RowRoof | null;
  perSecond: boolean;
  ours: Timing | null;
  webgpu: Timing | null;
  wasm: Timing | null;
  /** Kernel time from GPU timestamps, one iteration (ms). */
  oursGpuMs: number | null;
  webgpuGpuMs: number | null;
  /** Our kernels in that iteration, one row a kernel (GPU timestamps); null without them. */
  oursKernels: ProfileRow[] | null;
  /** Compute dispatches in one iteration. */
  oursDispatches: number | null;
  webgpuDispatches: number | null;
  /** Largest |ours - TF.js| over the first iteration's outputs. */
  diffWebgpu: number | null;
  diffWasm: number | null;
  /** TF.js measured this fraction of the work; its times above are already scaled to the whole. */
  tfFraction: number;
  notes: string[];
}

export interface RowRoof {
  intensity: number | null; // FLOPs per byte
  fmaShare: number | null; // our GFLOP/s / the FMA roof
  bandwidthShare: number | null; // our GB/s / the bandwidth roof
  against: 'fma' | 'bandwidth' | null; // the roof that bounds the row
}

export interface RunOptions {
  budgetMs: number; // aim for about this much timed work per case (all contenders together)
  minRounds: number;
  maxRounds: number;
  contenders: Contender[];
  log: (line: string) => void;
}

async function time(impl: Impl): Promise<number> {
  const t0 = performance.now();
  const finish = impl.start();
  await finish();
  return performance.now() - t0;
}

/** Runs fn, counting the compute dispatches encoded meanwhile (by anyone: run nothing else). */
async function counting<T>(fn: () => Promise<T>): Promise<{ value: T; dispatches: number | null }> {
  const proto = (globalThis as any).GPUComputePassEncoder?.prototype;
  if (!proto?.dispatchWorkgroups) return { value: await fn(), dispatches: null };
  const original = proto.dispatchWorkgroups;
  let n = 0;
  proto.dispatchWorkgroups = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    return { value: await fn(), dispatches: n };
  } finally {
    proto.dispatchWorkgroups = original;
  }
}

interface GpuRun {
  gpuMs: number | null;
  kernels?: ProfileRow[];
  dispatches: number | null;
  trace?: DispatchTrace[];
}

/**
 * Bytes the traced dispatches move at least if each storage buffer they bind is touched once (a matmul's
 * placeholder bias, bound but never read, is left out); FLOPs of the matmul dispatches (2 M N K a batch entry).
 */
export function fromTrace(trace: DispatchTrace[]): { bytes: number; flops: number } {
  let bytes = 0;
  let flops = 0;
  for (const d of trace) {
    const u = d.uniforms as Record<string, number>;
    for (const b of d.bindings)
      if (!(d.module === 'matmul' && b.name === 'bias' && !d.constants.HAS_BIAS)) bytes += b.bytes;
    if (d.module === 'matmul') flops += 2 * u.m! * u.n! * u.k! * Math.max(u.batch!, 1);
  }
  return { bytes, flops };
}

/** One iteration of ours with GPU timestamps on. */
async function oursTimed(impl: Impl): Promise<GpuRun> {
  const g = gpu();
  g.profiler.reset();
  g.setProfiling(g.canProfile);
  g.startTrace();
  let run: GpuRun;
  try {
    const { dispatches } = await counting(() => time(impl));
    const kernels = g.canProfile ? g.profiler.summary() : undefined;
    const gpuMs = kernels ? kernels.reduce((s, r) => s + r.totalMs, 0) : null;
    run = { gpuMs, kernels, dispatches };
  } finally {
    run = { ...run!, trace: g.stopTrace() };
    g.setProfiling(false);
  }
  return run;
}

/** One iteration of TF.js-WebGPU inside tf.time. */
async function webgpuTimed(env: BenchEnv, impl: Impl): Promise<GpuRun> {
  const { value: ms, dispatches } = await counting(async () => {
    let finish: (() => Promise<void>) | null = null;
    const info = await quietly(() =>
      env.tf.time(() => {
        finish = impl.start();
      }),
    );
    await finish!();
    return info.kernelMs;
  });
  return { gpuMs: typeof ms === 'number' && ms > 0 ? ms : null, dispatches };
}

export async function runCase(env: BenchEnv, c: Case, o: RunOptions): Promise<Row> {
  const frac = c.tfFraction ?? 1;
  const row: Row = {
    op: c.op,
    shape: c.shape,
    flops: c.flops ?? null,
    bytes: c.bytes ?? null,
    bound: c.bound ?? 'intensity',
    tracedFlops: null,
    roof: null,
    perSecond: c.perSecond ?? false,
    ours: null,
    webgpu: null,
    wasm: null,
    oursGpuMs: null,
    webgpuGpuMs: null,
    oursKernels: null,
    oursDispatches: null,
    webgpuDispatches: null,
    diffWebgpu: null,
    diffWasm: null,
    tfFraction: frac,
    notes: [...(c.notes ?? [])],
  };
  const impls = new Map<Contender, Impl>();
  const firstMs = new Map<Contender, number>();
  try {
    for (const who of o.contenders) {
      try {
        const t0 = performance.now();
        if (who === 'ours') {
          impls.set(who, await c.ours());
          firstMs.set(who, performance.now() - t0);
          continue;
        }
        await useBackend(env.tf, who);
        const impl = await quietly(() => c.tf(env.tf, who));
        firstMs.set(who, performance.now() - t0);
        if (impl) impls.set(who, impl);
        else row.notes.push(`${c.op} ${c.shape}: TF.js-${who} cannot run this case`);
      } catch (e) {
        row.notes.push(`${c.op} ${c.shape}: ${who} failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    const ours = impls.get('ours');
    if (ours) {
      for (const who of ['webgpu', 'wasm'] as const) {
        const impl = impls.get(who);
        if (impl) row[who === 'webgpu' ? 'diffWebgpu' : 'diffWasm'] = maxAbsDiff(ours.first, impl.first);
      }
    }
    // warm-up, unless the first iteration was slow (compiling is then a small part of it)
    for (const [who, impl] of impls) {
      if (who !== 'ours') await useBackend(env.tf, who);
      if (firstMs.get(who)! <= 2000) await time(impl);
    }
    // rounds until the budget is spent
    const runs = new Map<Contender, number[]>([...impls.keys()].map((k) => [k, []]));
    const t0 = performance.now();
    let min = Math.max(o.minRounds, Math.min(c.minRounds ?? 0, o.maxRounds));
    for (let r = 0; r < o.maxRounds && (r < min || performance.now() - t0 < o.budgetMs); r++) {
      const roundStart = performance.now();
      for (const [who, impl] of impls) {
        if (who !== 'ours') await useBackend(env.tf, who);
        runs.get(who)!.push(await time(impl));
      }
      if (r === 0 && performance.now() - roundStart > 10_000) min = 2; // very slow: two rounds will do
    }
    for (const [who, list] of runs) {
      const scaled = who === 'ours' ? list : list.map((ms) => ms / frac);
      row[who] = { ms: median(scaled), runs: scaled };
    }
    for (const who of ['ours', 'webgpu'] as const) {
      const impl = impls.get(who);
      if (!impl || (who === 'ours' && !env.timestamps)) continue;
      if (who === 'webgpu') await useBackend(env.tf, 'webgpu');
      const t = who === 'ours' ? await oursTimed(impl) : await webgpuTimed(env, impl);
      const scale = who === 'ours' ? 1 : frac;
      if (who === 'ours') {
        row.oursGpuMs = t.gpuMs;
        row.oursKernels = t.kernels ?? null;
        row.oursDispatches = t.dispatches;
        if (t.trace?.length) {
          const traced = fromTrace(t.trace);
          row.bytes ??= traced.bytes;
          row.tracedFlops = traced.flops;
        }
      } else {
        row.webgpuGpuMs = t.gpuMs === null ? null : t.gpuMs / scale;
        row.webgpuDispatches = t.dispatches === null ? null : Math.round(t.dispatches / scale);
      }
    }
  } finally {
    for (const [who, impl] of impls) {
      if (who !== 'ours') await useBackend(env.tf, who);
      impl.dispose();
    }
  }
  return row;
}

export async function runCases(env: BenchEnv, cases: Case[], o: RunOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of cases) {
    const t0 = performance.now();
    const row = await runCase(env, c, o);
    rows.push(row);
    const f = (t: Timing | null) => (t ? `${t.ms.toFixed(2)} ms` : '-');
    o.log(
      `  ${c.op} ${c.shape}: ours ${f(row.ours)}, TF.js-WebGPU ${f(row.webgpu)}, TF.js-wasm ${f(row.wasm)} ` +
        `(${row.ours?.runs.length ?? 0} rounds, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  return rows;
}

const NOOP = `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn noop(@builtin(local_invocation_index) li: u32) {
  if (li == 0u) { out[0] = out[0] + 1.0; }
}
`;

/**
 * The fixed costs on this adapter, for reading the table: one dispatch of a one-workgroup kernel within a
 * batch (from the slope between batches of 1 and 201 dispatches), and a round trip (one dispatch, submit,
 * 4-byte readback). Medians of `runs`.
 */
export async function overheads(runs = 9): Promise<{ dispatchUs: number; roundTripUs: number }> {
  const g = gpu();
  g.kernels.register('bench_noop', NOOP);
  const buf = g.pool.acquire(256, 0x80 | 0x4 | 0x8, 'bench noop');
  const ref = { buffer: buf, offset: 0, size: 256 };
  const batch = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) g.dispatch({ shader: 'bench_noop', entry: 'noop' }, { out: ref }, {}, [1, 1, 1]);
    await g.read({ ...ref, size: 4 });
    return performance.now() - t0;
  };
  try {
    await batch(2); // compile
    const one: number[] = [];
    const many: number[] = [];
    for (let r = 0; r < runs; r++) {
      one.push(await batch(1));
      many.push(await batch(201));
    }
    return { dispatchUs: ((median(many) - median(one)) / 200) * 1000, roundTripUs: median(one) * 1000 };
  } finally {
    g.pool.release(buf);
  }
}
