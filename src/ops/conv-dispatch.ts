// What the convolution's kernel plans share (conv-forward.ts, conv-input-grad.ts, conv-weight-grad.ts):
// the kernel settings of this adapter, the dispatch of a convolution kernel (64 threads a workgroup over x
// and y, the weight sets in z), and the padded input every product reads (shaders/conv2d.wgsl `pad`). Not
// here: the products' plans or the backward rule (conv.ts).

import { type BufferRef, gpu } from '../gpu/index.js';
import { Tensor } from '../tensor/index.js';
import type { ConvGeometry } from './conv-geometry.js';

/**
 * Kernel settings: the output pixels a thread of the forward kernels computes (tiles one after the other),
 * and about how many groups of 4 lanes share one weight set's weight gradient (K is split until there
 * are this many). Neither changes a result.
 */
export interface ConvTuning {
  pixelsPerThread: number;
  dwGroups: number;
}

let forcedTuning: ConvTuning | null = null;

/** Forces the kernel settings (tests, benchmarks); null restores the adapter's. */
export function useConvTuning(t: ConvTuning | null): void {
  forcedTuning = t;
}

/**
 * The adapter's settings. On a CPU adapter (SwiftShader) fewer, longer threads win: each thread and each
 * tile has a fixed cost (measured in bench/conv-sweep.ts); a GPU wants many short ones.
 */
export function convSettings(): ConvTuning {
  if (forcedTuning) return forcedTuning;
  return gpu().adapter.fallback ? { pixelsPerThread: 128, dwGroups: 256 } : { pixelsPerThread: 16, dwGroups: 4096 };
}

/** The convolution's kernel modules: shaders/<name>.wgsl. */
export type ConvShader = 'conv2d' | 'conv2d-forward' | 'conv2d-weight-grad';

/**
 * Records one kernel with `threads` invocations per weight set (64 a workgroup, over x and y), G in z.
 * `u` holds every field of the module's uniform struct. The profiler names it conv2d_<entry>.
 */
export function dispatchConv(
  shader: ConvShader,
  entry: string,
  threads: number,
  groups: number,
  buffers: Record<string, BufferRef>,
  u: Record<string, number>,
): void {
  const max = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  const wgs = Math.ceil(threads / 64);
  const rows = Math.ceil(wgs / max);
  const grid: [number, number, number] = [Math.ceil(wgs / rows), rows, groups];
  if (groups > max || rows > max) {
    throw new Error(
      `conv2d ${entry}: ${threads} threads per weight set in ${groups} weight sets need [${grid}] workgroups, ` +
        `above ${max} per dimension; split the batch`,
    );
  }
  gpu().dispatch({ shader, entry }, buffers, u, grid, `conv2d_${entry}`);
}

/** Every field of the WGSL struct Layout (shaders/conv2d.wgsl); the kernel's own fields override these. */
export function layoutUniforms(u: Partial<Record<string, number>>): Record<string, number> {
  return {
    n: 1,
    in_h: 1,
    in_w: 1,
    c_in: 1,
    c_out: 1,
    k_h: 1,
    k_w: 1,
    pad_h: 1,
    pad_w: 1,
    before_h: 0,
    before_w: 0,
    dil_h: 1,
    dil_w: 1,
    splits: 1,
    size: 1,
    ...u,
  } as Record<string, number>;
}

/** xp: x (G, N, H, W, Cin) with the zeros of the padding in place, the rows and columns the output reads. */
export function padInput(x: Tensor, g: ConvGeometry): { xp: Tensor; padH: number; padW: number } {
  const padH = (g.outH - 1) * g.strideH + g.kH;
  const padW = (g.outW - 1) * g.strideW + g.kW;
  const xp = Tensor.empty([g.groups, g.n, padH, padW, g.cIn]);
  const u = {
    n: g.n,
    in_h: g.inH,
    in_w: g.inW,
    c_in: g.cIn,
    pad_h: padH,
    pad_w: padW,
    before_h: g.padTop,
    before_w: g.padLeft,
  };
  dispatchConv('conv2d', 'pad', g.n * padH * 4, g.groups, { src: x.ref, dst: xp.ref }, layoutUniforms(u));
  return { xp, padH, padW };
}

/** dst (G, size) = the sum over s, in order, of src (G, splits, size): the splits of a gradient. */
export function sumSplits(part: Tensor, dst: Tensor, groups: number, splits: number, size: number): void {
  const u = layoutUniforms({ splits, size });
  dispatchConv('conv2d', 'sum_splits', size, groups, { src: part.ref, dst: dst.ref }, u);
}
