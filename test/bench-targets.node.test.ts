// The bench's targets (bench/report.ts) decide from the rows what the performance issue asks: a
// convolution row against the matmul 1024^3 row's GFLOP/s, a VAE step row against TF.js-wasm, the matmul
// row against the FMA roof. Made-up rows; no GPU.

import { describe, expect, it } from 'vitest';
import type { Row } from '../bench/harness.js';
import { CONV_SHARE, formatTargets, targets } from '../bench/report.js';

const ms = (v: number) => ({ ms: v, runs: [v] });

function row(op: string, shape: string, flops: number | null, ours: number, wasm: number | null = null): Row {
  return {
    op,
    shape,
    flops,
    bytes: null,
    bound: 'flops',
    tracedFlops: null,
    roof: null,
    perSecond: false,
    ours: ms(ours),
    webgpu: ms(10 * ours),
    wasm: wasm === null ? null : ms(wasm),
    oursGpuMs: null,
    webgpuGpuMs: null,
    oursKernels: null,
    oursDispatches: null,
    webgpuDispatches: null,
    diffWebgpu: null,
    diffWasm: null,
    tfFraction: 1,
    notes: [],
  };
}

describe('bench targets, round two', () => {
  // matmul: 2 GFLOP in 400 ms = 5 GFLOP/s, a fifth of a 25 GFLOP/s roof
  const mm = {
    ...row('matmul', '1024^3', 2e9, 400, 60),
    roof: { intensity: 170, fmaShare: 0.2, bandwidthShare: 0, against: 'fma' as const },
  };
  const rows = [
    mm,
    row('conv2d fwd', 'layer 1: x 4x32x28x28x1', 1e8, (1e8 / (0.75 * 5e9)) * 1000), // 75% of matmul's rate
    row('conv2d fwd', 'layer 2: x 4x32x14x14x32', 1e8, (1e8 / (0.65 * 5e9)) * 1000), // 65%
    row('VAE train step', 'batch 32', null, 8, 6),
    row('VAE train step, captured, 10 a readback', 'batch 32', null, 50, 55),
  ];
  const ts = targets(rows);
  const find = (what: string) => ts.find((t) => t.what.startsWith(what))!;

  it('conv rows against the matmul row, by GFLOP/s', () => {
    expect(find('conv2d fwd layer 1').ratio).toBeCloseTo(0.75, 10);
    expect(find('conv2d fwd layer 1').met).toBe(true);
    expect(find('conv2d fwd layer 2').ratio).toBeCloseTo(0.65, 10);
    expect(find('conv2d fwd layer 2').met).toBe(false);
    expect(find('conv2d fwd layer 2').needed).toBe(CONV_SHARE);
  });

  it('VAE step rows against TF.js-wasm, and matmul against the FMA roof', () => {
    expect(find('VAE train step: faster').ratio).toBeCloseTo(0.75, 10);
    expect(find('VAE train step: faster').met).toBe(false);
    expect(find('VAE train step, captured, 10 a readback').met).toBe(true);
    expect(find('matmul 1024^3: >= 50% of the FMA roof').ratio).toBe(0.2);
    expect(find('matmul 1024^3: >= 50% of the FMA roof').met).toBe(false);
  });

  it('prints shares as percentages and marks the misses', () => {
    const text = formatTargets(ts);
    expect(text).toContain("met    conv2d fwd layer 1: >= 70% of matmul 1024^3's GFLOP/s: 75%");
    expect(text).toContain("MISSED conv2d fwd layer 2: >= 70% of matmul 1024^3's GFLOP/s: 65%");
    expect(text).toContain('MISSED matmul 1024^3: >= 50% of the FMA roof: 20%');
  });

  it('no conv target without the matmul row to compare with', () => {
    expect(targets(rows.slice(1)).some((t) => t.kind === 'headline' && t.what.startsWith('conv2d'))).toBe(false);
  });
});
