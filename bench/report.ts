// The benchmark's table, its JSON record (bench/results/<date>-<env>.json) and the issue's targets.

import type { Row } from './harness.js';
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
}

const gflops = (flops: number | null, ms: number | undefined) =>
  flops && ms ? fmtNum(flops / ms / 1e6, flops / ms / 1e6 >= 10 ? 1 : 2) : '-';

/** TF.js time / our time: above 1, we are faster. */
export function speedup(row: Row, other: 'webgpu' | 'wasm'): number | null {
  const t = row[other];
  return t && row.ours ? t.ms / row.ours.ms : null;
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
  for (const r of rows) {
    if (r.op.includes('[')) continue; // kernel candidates are not the library
    const s = speedup(r, 'webgpu');
    const what = `${r.op} ${r.shape}: not slower than TF.js-WebGPU`;
    if (s !== null) out.push({ kind: 'not slower', what, ratio: s, needed: 1, met: s >= 1 });
  }
  return out;
}

export function formatTargets(ts: Target[]): string {
  const missed = ts.filter((t) => !t.met);
  const head = ts
    .filter((t) => t.kind === 'headline')
    .map((t) => `  ${t.met ? 'met   ' : 'MISSED'} ${t.what}: ${fmtRatio(t.ratio)}`);
  const rest = ts.filter((t) => t.kind === 'not slower');
  const slow = rest.filter((t) => !t.met);
  head.push(
    slow.length
      ? `  MISSED no case slower than TF.js-WebGPU: ${slow.map((t) => `${t.what.split(':')[0]} (${fmtRatio(t.ratio)})`).join('; ')}`
      : `  met    no case slower than TF.js-WebGPU (${rest.length} cases, lowest ${fmtRatio(Math.min(...rest.map((t) => t.ratio ?? Infinity)))})`,
  );
  return [`targets (${ts.length - missed.length} of ${ts.length} checks met):`, ...head].join('\n');
}
