// The weight- and bias-gradient plans of the 2-D convolution (shaders/conv2d-weight-grad.wgsl):
// dw = x (*) dy, a correlation whose K (every output pixel) is long and whose output is small, so K is
// split into runs of output rows summed by their own threads, then the runs are added in a fixed order
// (shaders/conv2d.wgsl sum_splits); db sums dy in the same splits. Not here: the backward rule (conv.ts).

import { type Shape, Tensor } from '../tensor/index.js';
import { convSettings, dispatchConv, padInput, sumSplits } from './conv-dispatch.js';
import type { ConvGeometry } from './conv-geometry.js';

/** At most this many partial sums (words) per weight set: the splits' buffer stays small. */
const PART_WORDS = 2 ** 18;

/**
 * How conv_weight_grad splits K (the output rows (image, oh) of one weight set) into runs of `chunk` rows:
 * about convSettings().dwGroups groups of 4 lanes per weight set. A function of one weight set's shapes
 * only, so that a grouped call sums in the same order as G single ones.
 */
function weightGradSplits(g: ConvGeometry): { tiles: number; colTiles: number; chunk: number; splits: number } {
  const tiles = Math.ceil((g.kH * g.kW * g.cIn) / 32); // rows of dw per tile
  const colTiles = Math.ceil(g.cOut / 16);
  const lines = g.n * g.outH;
  const size = g.kH * g.kW * g.cIn * g.cOut; // the partial sums of a split
  const most = Math.max(1, Math.floor(PART_WORDS / size));
  const want = Math.min(lines, most, Math.max(1, Math.ceil(convSettings().dwGroups / (tiles * colTiles))));
  const chunk = Math.ceil(lines / want);
  return { tiles, colTiles, chunk, splits: Math.ceil(lines / chunk) };
}

/** Every field of the WGSL struct WeightGrad; the kernel's own fields override these defaults. */
function uniforms(u: Partial<Record<string, number>>): Record<string, number> {
  const one = { n: 1, out_h: 1, out_w: 1, c_in: 1, c_out: 1, k_h: 1, k_w: 1, stride_h: 1, stride_w: 1 };
  return { ...one, pad_h: 1, pad_w: 1, col_tiles: 1, tiles: 1, chunk: 1, splits: 1, ...u } as Record<string, number>;
}

/** dw: partial sums over runs of output rows (conv_weight_grad), then their sum in order (sum_splits). */
export function convBackwardWeight(x: Tensor, dy: Tensor, g: ConvGeometry, shape: Shape): Tensor {
  const { xp, padH, padW } = padInput(x, g);
  const { tiles, colTiles, chunk, splits } = weightGradSplits(g);
  const size = g.kH * g.kW * g.cIn * g.cOut;
  const dw = Tensor.empty(shape);
  const part = splits === 1 ? dw : Tensor.empty([g.groups, splits, size]);
  const u = uniforms({
    n: g.n,
    out_h: g.outH,
    out_w: g.outW,
    c_in: g.cIn,
    c_out: g.cOut,
    k_h: g.kH,
    k_w: g.kW,
    stride_h: g.strideH,
    stride_w: g.strideW,
    pad_h: padH,
    pad_w: padW,
    col_tiles: colTiles,
    tiles,
    chunk,
    splits,
  });
  const buffers = { xp: xp.ref, dy: dy.ref, part: part.ref };
  dispatchConv('conv2d-weight-grad', 'conv_weight_grad', splits * tiles * colTiles * 4, g.groups, buffers, u);
  xp.dispose();
  if (part !== dw) {
    sumSplits(part, dw, g.groups, splits, size);
    part.dispose();
  }
  return dw;
}

/** db (G, Cout): dy summed over images and output pixels, in the weight gradient's splits, then in order. */
export function convBackwardBias(dy: Tensor, g: ConvGeometry, shape: Shape): Tensor {
  const { chunk, splits } = weightGradSplits(g);
  const colTiles = Math.ceil(g.cOut / 16);
  const db = Tensor.empty(shape);
  const part = splits === 1 ? db : Tensor.empty([g.groups, splits, g.cOut]);
  const u = uniforms({ n: g.n, out_h: g.outH, out_w: g.outW, c_out: g.cOut, col_tiles: colTiles, chunk, splits });
  dispatchConv('conv2d-weight-grad', 'bias_grad', splits * colTiles * 4, g.groups, { dy: dy.ref, part: part.ref }, u);
  if (part !== db) {
    sumSplits(part, db, g.groups, splits, g.cOut);
    part.dispose();
  }
  return db;
}
