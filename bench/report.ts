// The benchmark's table, its JSON record (bench/results/<date>-<env>.json), each row as a share of the
// roof that bounds it (roofline.ts measures the roofs), and the issue's targets.

import type { Row } from './harness.js';
import type { Roofs } from './roofline.js';
import { fmtDiff, fmtMs, fmtNum, fmtRatio, textTable } from './util.js';

export interface Report {
  date: string; // ISO
  runtime: 'node' | 'browser';
  adapter: string;
  tfAdapter: string;
  dawnFlags: string;
  userAgent: string;
  versions: Record<string, string>;
  options: object;
  /** The machine's load average (1, 5, 15 min) before and after, in Node: this machine is shared. */
  load: { before: number[]; after: number[] } | null;
  /** Our fixed costs on this adapter (harness.ts overheads()). */
  overheads: { dispatchUs: number; roundTripUs: number } | null;
  rows: Row[];
  /**
   * The adapter's roofs (roofline.ts), measured before the cases; `after`: its best configurations measured
   * again after them (the machine's load moves). null with --no-roofline.
   */
  roofs?: (Roofs & { after: { fmaGflops: number; bandwidthGBs: number } | null }) | null;
  /** Kernel variant sweep (sweep.ts), when it ran. */
  sweep?: unknown;
  targets: Target[];
}

export interface Target {
  kind: 'headline' | 'not slower';
  what: string;
  ratio: number | null; // measured
  needed: number;
  met: boolean;
  /** The ratio is a share (printed as a percentage), not a speed-up. */
  share?: boolean;
}

const gflops = (flops: number | null, ms: number | undefined) =>
  flops && ms ? fmtNum(flops / ms / 1e6, flops / ms / 1e6 >= 10 ? 1 : 2) : '-';

/** TF.js time / our time: above 1, we are faster. */
export function speedup(row: Row, other: 'webgpu' | 'wasm'): number | null {
  const t = row[other];
  return t && row.ours ? t.ms / row.ours.ms : null;
}

/**
 * Each row's shares of the roofs, from our wall time: GFLOP/s over the FMA roof and GB/s over the bandwidth
 * roof. The row is read against the roof its bound names; a training step's FLOPs (the case's count, else
 * its matmul dispatches') per byte against the ridge (FMA roof / bandwidth roof) decides. A captured step,
 * whose replay the trace does not see, takes the FLOPs and bytes of the same step uncaptured.
 */
export function applyRoofs(rows: Row[], roofs: Roofs): void {
  const ridge = (roofs.fmaGflops * 1e9) / (roofs.bandwidthGBs * 1e9);
  for (const r of rows) {
    const twin = rows.find((x) => x !== r && `${x.op}, captured` === r.op && x.shape === r.shape);
    r.bytes ??= twin?.bytes ?? null;
    r.tracedFlops ??= twin?.tracedFlops ?? null;
    const flops = r.flops || (r.tracedFlops ?? 0) || null;
    const ms = r.ours?.ms;
    const intensity = flops && r.bytes ? flops / r.bytes : null;
    const fmaShare = flops && ms ? flops / ms / 1e6 / roofs.fmaGflops : null;
    const bandwidthShare = r.bytes && ms ? r.bytes / ms / 1e6 / roofs.bandwidthGBs : null;
    let against: 'fma' | 'bandwidth' | null =
      r.bound === 'flops'
        ? 'fma'
        : r.bound === 'bytes'
          ? 'bandwidth'
          : intensity === null
            ? null
            : intensity >= ridge
              ? 'fma'
              : 'bandwidth';
    if (against === 'fma' && fmaShare === null) against = null;
    if (against === 'bandwidth' && bandwidthShare === null) against = null;
    r.roof = { intensity, fmaShare, bandwidthShare, against };
  }
}

/** "12.3% F" (of the FMA roof) or "4.5% B" (of the bandwidth roof): the share that bounds the row. */
function fmtShare(r: Row): string {
  const x = r.roof;
  if (!x?.against) return '-';
  const v = x.against === 'fma' ? x.fmaShare! : x.bandwidthShare!;
  return `${(100 * v).toFixed(v >= 0.1 ? 0 : 1)}% ${x.against === 'fma' ? 'F' : 'B'}`;
}

export function formatRoofs(roofs: NonNullable<Report['roofs']>): string {
  const after = roofs.after
    ? `; after the cases ${fmtNum(roofs.after.fmaGflops, 1)} GFLOP/s, ${fmtNum(roofs.after.bandwidthGBs, 1)} GB/s`
    : '';
  return (
    `roofs (${roofs.timing}): FMA ${fmtNum(roofs.fmaGflops, 1)} GFLOP/s (${roofs.fmaBest}); bandwidth ` +
    `${fmtNum(roofs.bandwidthGBs, 1)} GB/s (sum ${fmtNum(roofs.sumGBs, 1)}: ${roofs.sumBest}; copy ` +
    `${fmtNum(roofs.copyGBs, 1)}: ${roofs.copyBest}; ${roofs.streamBytes / 2 ** 20} MiB); ridge ` +
    `${fmtNum(roofs.fmaGflops / roofs.bandwidthGBs, 2)} FLOP/byte${after}`
  );
}

export function formatTable(rows: Row[]): string {
  const head = [
    'op',
    'shape',
    'ours ms',
    'ours GPU ms',
    'TF-WebGPU ms',
    'TF-WebGPU GPU ms',
    'TF-wasm ms',
    'vs WebGPU',
    'vs wasm',
    'ours GFLOP/s',
    'WebGPU GFLOP/s',
    'wasm GFLOP/s',
    'ours % roof',
    'dispatches',
    'max|d| WebGPU',
    'max|d| wasm',
  ];
  const body = rows.map((r) => [
    r.op,
    r.shape,
    fmtMs(r.ours?.ms),
    fmtMs(r.oursGpuMs),
    fmtMs(r.webgpu?.ms),
    fmtMs(r.webgpuGpuMs),
    fmtMs(r.wasm?.ms),
    fmtRatio(speedup(r, 'webgpu')),
    fmtRatio(speedup(r, 'wasm')),
    gflops(r.flops, r.ours?.ms),
    gflops(r.flops, r.webgpu?.ms),
    gflops(r.flops, r.wasm?.ms),
    fmtShare(r),
    `${r.oursDispatches ?? '-'} / ${r.webgpuDispatches ?? '-'}`,
    fmtDiff(r.diffWebgpu),
    fmtDiff(r.diffWasm),
  ]);
  const right = new Set(Array.from({ length: head.length - 2 }, (_, i) => i + 2));
  const lines = [textTable([head, ...body], right)];
  for (const r of rows.filter((x) => x.perSecond)) {
    const ps = (ms: number | undefined) => (ms ? `${(1000 / ms).toFixed(1)}/s` : '-');
    lines.push(
      `${r.op}: ours ${ps(r.ours?.ms)}, TF.js-WebGPU ${ps(r.webgpu?.ms)}, TF.js-wasm ${ps(r.wasm?.ms)} ` +
        '(one step each, loss read back every step)',
    );
  }
  return lines.join('\n');
}

export const LEGEND = [
  'ms: median wall time of one iteration, from issuing the work to a completed readback of its whole result',
  '  (the output, the gradients, or the updated parameters), each contender timed in turn in every round.',
  'GPU ms: the kernels alone, from GPU timestamp queries (begin and end of each dispatch, summed), one iteration.',
  'vs WebGPU / vs wasm: their wall time / ours (above 1: ours is faster). GFLOP/s from wall time.',
  '% roof: our wall-time rate as a share of the roof that bounds the row: F, GFLOP/s of the FMA roof (matmul,',
  '  conv; a step whose FLOPs per byte pass the ridge), B, GB/s of the bandwidth roof (the least bytes the',
  '  row moves: its operands read and results written once, or the sum of the buffers its dispatches bind).',
  '  The JSON has both shares of every row (roof.fmaShare, roof.bandwidthShare).',
  'dispatches: compute dispatches in one iteration, ours / TF.js-WebGPU.',
  "max|d|: largest |ours - TF.js| over the first iteration's outputs (same inputs and initial weights).",
];

/** The issue's targets, as ratios of wall time measured in this run. */
export function targets(rows: Row[]): Target[] {
  const out: Target[] = [];
  const mm = rows.find((r) => r.op === 'matmul' && r.shape === '1024^3');
  if (mm) {
    const s = speedup(mm, 'webgpu');
    out.push({ kind: 'headline', what: 'matmul 1024^3: >= 3x TF.js-WebGPU', ratio: s, needed: 3, met: (s ?? 0) >= 3 });
  }
  const vae = rows.find((r) => r.op === 'VAE train step');
  if (vae) {
    const s = speedup(vae, 'webgpu');
    const what = 'VAE train step: >= 10x the steps/s of TF.js-WebGPU';
    out.push({ kind: 'headline', what, ratio: s, needed: 10, met: (s ?? 0) >= 10 });
  }
  out.push(...roundTwo(rows, mm));
  for (const r of rows) {
    if (r.op.includes('[')) continue; // kernel candidates are not the library
    const s = speedup(r, 'webgpu');
    const what = `${r.op} ${r.shape}: not slower than TF.js-WebGPU`;
    if (s !== null) out.push({ kind: 'not slower', what, ratio: s, needed: 1, met: s >= 1 });
  }
  return out;
}

/** The share of the matmul row's GFLOP/s a conv row must reach (performance issue, round two, item 1). */
export const CONV_SHARE = 0.7;
/** The share of the FMA roof the matmul 1024^3 row must reach (item 4). */
export const MATMUL_ROOF_SHARE = 0.5;

/**
 * The second round's targets that a table can decide: each convolution row at CONV_SHARE of the matmul
 * 1024^3 row's GFLOP/s, each VAE training step row faster than TF.js-wasm, the matmul row at
 * MATMUL_ROOF_SHARE of the FMA roof (when the roofs were measured).
 */
function roundTwo(rows: Row[], mm: Row | undefined): Target[] {
  const out: Target[] = [];
  const rate = (r: Row) => (r.flops && r.ours ? r.flops / r.ours.ms : null);
  const mmRate = mm ? rate(mm) : null;
  for (const r of rows.filter((x) => x.op.startsWith('conv2d') && mmRate)) {
    const share = rate(r)! / mmRate!;
    const what = `${r.op} ${r.shape.split(':')[0]}: >= ${100 * CONV_SHARE}% of matmul 1024^3's GFLOP/s`;
    out.push({ kind: 'headline', what, ratio: share, needed: CONV_SHARE, met: share >= CONV_SHARE, share: true });
  }
  for (const r of rows.filter((x) => x.op.startsWith('VAE train step'))) {
    const s = speedup(r, 'wasm');
    if (s !== null)
      out.push({ kind: 'headline', what: `${r.op}: faster than TF.js-wasm`, ratio: s, needed: 1, met: s > 1 });
  }
  const roofShare = mm?.roof?.fmaShare ?? null;
  if (roofShare !== null) {
    const what = `matmul 1024^3: >= ${100 * MATMUL_ROOF_SHARE}% of the FMA roof`;
    const met = roofShare >= MATMUL_ROOF_SHARE;
    out.push({ kind: 'headline', what, ratio: roofShare, needed: MATMUL_ROOF_SHARE, met, share: true });
  }
  return out;
}

const fmtPercent = (r: number | null) => (r === null ? '-' : `${(100 * r).toFixed(0)}%`);

export function formatTargets(ts: Target[]): string {
  const missed = ts.filter((t) => !t.met);
  const head = ts
    .filter((t) => t.kind === 'headline')
    .map((t) => `  ${t.met ? 'met   ' : 'MISSED'} ${t.what}: ${t.share ? fmtPercent(t.ratio) : fmtRatio(t.ratio)}`);
  const rest = ts.filter((t) => t.kind === 'not slower');
  const slow = rest.filter((t) => !t.met);
  head.push(
    slow.length
      ? `  MISSED no case slower than TF.js-WebGPU: ${slow.map((t) => `${t.what.split(':')[0]} (${fmtRatio(t.ratio)})`).join('; ')}`
      : `  met    no case slower than TF.js-WebGPU (${rest.length} cases, lowest ${fmtRatio(Math.min(...rest.map((t) => t.ratio ?? Infinity)))})`,
  );
  return [`targets (${ts.length - missed.length} of ${ts.length} checks met):`, ...head].join('\n');
}
