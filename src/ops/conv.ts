// 2-D convolution: conv2d, and conv2dGrouped, which applies G independent weight sets to G slices of a
// batch in the same dispatches (the hypernetwork evaluates 32 generated networks at once). The ops and
// their backward rule; the rest of the convolution lives beside this file, one file per meaning:
//
//   conv-geometry.ts     output sizes and padding as TensorFlow computes them, the geometry
//   conv-dispatch.ts     kernel settings, the dispatch, the padded input, the sum of splits
//   conv-forward.ts      y = x (*) w + bias          (shaders/conv2d-forward.wgsl)
//   conv-input-grad.ts   dx, the forward product on the padded dy with flipped weights
//   conv-weight-grad.ts  dw and db, split over output rows (shaders/conv2d-weight-grad.wgsl)
//   conv-reference.ts    the float64 CPU references
//
// shaders/conv2d.wgsl has the layout kernels (pad, pad_dilated, flip, sum_splits) and the design notes.
// Not here: pooling (pool.ts), dilation, channel groups within one weight set (as torch's `groups`), or a
// bias that is not per output channel.
//
// Layout: activations are NHWC (N, H, W, C) and weights HWIO (KH, KW, Cin, Cout), TensorFlow's layout,
// which the hypernetwork paper's code used, so its generated kernels drop in without a transpose. Channels
// last also makes the innermost loop of every kernel run along contiguous memory: a patch of x is KW*Cin
// contiguous values per row, a filter tap is Cout contiguous weights, and the weight matrix (KH*KW*Cin,
// Cout) is the HWIO tensor itself.

import { fmtShape, record, type Shape, type Tensor } from '../tensor/index.js';
import { type Conv2dOptions, type ConvGeometry, convGeometry } from './conv-geometry.js';
import { convForward } from './conv-forward.js';
import { convBackwardInput } from './conv-input-grad.js';
import { convBackwardBias, convBackwardWeight } from './conv-weight-grad.js';

export { type ConvTuning, useConvTuning } from './conv-dispatch.js';
export {
  type Conv2dOptions,
  type ConvGeometry,
  convGeometry,
  convOutputSize,
  type Padding,
  toPair,
} from './conv-geometry.js';
export {
  cpuConv2d,
  cpuConv2dBackwardBias,
  cpuConv2dBackwardInput,
  cpuConv2dBackwardWeight,
} from './conv-reference.js';

function checkF32(op: string, ts: (Tensor | null)[]): void {
  for (const t of ts) {
    if (t && t.dtype !== 'f32') throw new Error(`${op}: expects f32 tensors, got ${t.dtype} ${fmtShape(t.shape)}`);
  }
}

/** Forward dispatch and backward rule, shared by conv2d and conv2dGrouped (which differ in shapes only). */
function convOp(op: string, x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, yShape: Shape) {
  const y = convForward(x, w, bias, g, yShape);
  const parents = bias ? [x, w, bias] : [x, w];
  return record(y, op, parents, (dy) => [
    // dx = dy (*) w, a transposed convolution: dx[n, ih, iw, ci] = sum_{kh, kw, co} dy[n, oh, ow, co] w[kh, kw, ci, co]
    x.requiresGrad ? convBackwardInput(dy, w, g, x.shape) : null,
    // dw = x (*) dy, a correlation: dw[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*sh - pt + kh, ow*sw - pl + kw, ci] dy[n, oh, ow, co]
    w.requiresGrad ? convBackwardWeight(x, dy, g, w.shape) : null,
    // db = sum of dy over the batch and every output pixel
    ...(bias ? [bias.requiresGrad ? convBackwardBias(dy, g, bias.shape) : null] : []),
  ]);
}

/**
 * 2-D convolution (cross-correlation, as in every framework). x: (N, H, W, Cin), w: (KH, KW, Cin, Cout),
 * bias: (Cout) or null. Returns (N, OH, OW, Cout).
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dOptions): Tensor {
  checkF32('conv2d', [x, w, bias]);
  if (x.rank !== 4 || w.rank !== 4) {
    throw new Error(
      `conv2d of x ${fmtShape(x.shape)} with w ${fmtShape(w.shape)}: expected x (N, H, W, Cin) and w ` +
        '(KH, KW, Cin, Cout); for G weight sets use conv2dGrouped',
    );
  }
  const what = `conv2d of x ${fmtShape(x.shape)} with w ${fmtShape(w.shape)}`;
  const g = convGeometry([1, ...x.shape], [1, ...w.shape], opts, what);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.cOut)) {
    throw new Error(`${what}: bias ${fmtShape(bias.shape)} must be (${g.cOut}), one value per output channel`);
  }
  return convOp('conv2d', x, w, bias, g, [g.n, g.outH, g.outW, g.cOut]);
}

/**
 * G independent convolutions in one call: group g convolves x[g] (N, H, W, Cin) with w[g]
 * (KH, KW, Cin, Cout) plus bias[g]. x: (G, N, H, W, Cin), w: (G, KH, KW, Cin, Cout), bias: (G, Cout) or
 * null. Returns (G, N, OH, OW, Cout); equals G calls of conv2d, value for value.
 */
export function conv2dGrouped(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dOptions): Tensor {
  checkF32('conv2dGrouped', [x, w, bias]);
  const g = convGeometry(x.shape, w.shape, opts);
  if (bias && (bias.rank !== 2 || bias.shape[0] !== g.groups || bias.shape[1] !== g.cOut)) {
    throw new Error(`conv2dGrouped: bias ${fmtShape(bias.shape)} must be (${g.groups}, ${g.cOut}): (G, Cout)`);
  }
  return convOp('conv2dGrouped', x, w, bias, g, [g.groups, g.n, g.outH, g.outW, g.cOut]);
}
