// The input-gradient plan of the 2-D convolution: dx = dy (*) w, a transposed convolution, run as a
// forward product (conv-forward.ts) with stride 1 on dy dilated by the stride and padded, with the weights
// flipped (shaders/conv2d.wgsl pad, pad_dilated, flip). Not here: the kernels (conv2d-forward.wgsl) or the
// backward rule (conv.ts).
//
//   dx[n, ih, iw, ci] = sum_{kh, kw, co} dyp[n, ih + kh, iw + kw, co] * wt[kh, kw, co, ci]
//
// where dyp is dy dilated by the stride (dy[oh, ow] lands at row KH-1-pt + oh*sh) and padded by KH-1-pt
// rows (KW-1-pl columns) before, and wt the weights flipped in kh, kw with Cin and Cout swapped.

import { type Shape, Tensor } from '../tensor/index.js';
import { dispatchConv, layoutUniforms } from './conv-dispatch.js';
import { forwardProduct } from './conv-forward.js';
import type { ConvGeometry } from './conv-geometry.js';

/** dyp: dy (G, N, OH, OW, Cout) dilated by the stride and padded, (G, N, H + KH - 1, W + KW - 1, Cout). */
function padGradient(dy: Tensor, g: ConvGeometry): { dyp: Tensor; padH: number; padW: number } {
  const padH = g.inH + g.kH - 1;
  const padW = g.inW + g.kW - 1;
  const dyp = Tensor.empty([g.groups, g.n, padH, padW, g.cOut]);
  const u = layoutUniforms({
    n: g.n,
    in_h: g.outH,
    in_w: g.outW,
    c_in: g.cOut,
    pad_h: padH,
    pad_w: padW,
    before_h: g.kH - 1 - g.padTop,
    before_w: g.kW - 1 - g.padLeft,
    dil_h: g.strideH,
    dil_w: g.strideW,
    size: g.n * padH * padW * g.cOut,
  });
  const buffers = { src: dy.ref, dst: dyp.ref };
  if (g.strideH === 1 && g.strideW === 1) dispatchConv('conv2d', 'pad', g.n * padH * 4, g.groups, buffers, u);
  else dispatchConv('conv2d', 'pad_dilated', u.size!, g.groups, buffers, u);
  return { dyp, padH, padW };
}

/** dx (shape) from dy and w: the padded dy (*) the flipped weights, stride 1. */
export function convBackwardInput(dy: Tensor, w: Tensor, g: ConvGeometry, shape: Shape): Tensor {
  const { dyp, padH, padW } = padGradient(dy, g);
  const wt = Tensor.empty([g.groups, g.kH, g.kW, g.cOut, g.cIn]);
  const size = g.kH * g.kW * g.cIn * g.cOut;
  const u = layoutUniforms({ k_h: g.kH, k_w: g.kW, c_in: g.cIn, c_out: g.cOut, size });
  dispatchConv('conv2d', 'flip', size, g.groups, { src: w.ref, dst: wt.ref }, u);
  const d = { groups: g.groups, n: g.n, outH: g.inH, outW: g.inW, cIn: g.cOut, cOut: g.cIn, kH: g.kH, kW: g.kW };
  const dx = forwardProduct(dyp, wt, null, { ...d, strideH: 1, strideW: 1, padH, padW }, shape);
  dyp.dispose();
  wt.dispose();
  return dx;
}
