// The forward plan of the 2-D convolution (shaders/conv2d-forward.wgsl): y = x (*) w + bias as an implicit
// GEMM over the padded input, and the same product for the input gradient (conv-input-grad.ts runs it on
// the padded dy with flipped weights). Not here: the gradients' own plans or the backward rule (conv.ts).

import { type Shape, Tensor } from '../tensor/index.js';
import { convSettings, dispatchConv, padInput } from './conv-dispatch.js';
import type { ConvGeometry } from './conv-geometry.js';

/** The shape of one forward kernel run: xp (G, N, padH, padW, cIn) (*) w (G, kH, kW, cIn, cOut). */
export interface Product {
  groups: number;
  n: number;
  outH: number;
  outW: number;
  cIn: number;
  cOut: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

/** y = xp (*) w (+ bias): conv_forward16 for up to 16 output channels, conv_forward32 above. */
export function forwardProduct(xp: Tensor, w: Tensor, bias: Tensor | null, d: Product, shape: Shape): Tensor {
  const y = Tensor.empty(shape);
  const wide = d.cOut > 16;
  const [tileRows, tileCols] = wide ? [8, 32] : [16, 16]; // pixels and channels of a tile
  const colTiles = Math.ceil(d.cOut / tileCols);
  const tiles = Math.ceil((d.n * d.outH * d.outW) / tileRows); // of pixels
  const perThread = Math.max(1, Math.floor(convSettings().pixelsPerThread / tileRows));
  const threads = Math.ceil(tiles / perThread) * colTiles * 4;
  const buffers = { xp: xp.ref, weight: w.ref, bias: (bias ?? w).ref, y: y.ref }; // w stands in for a missing bias
  dispatchConv('conv2d-forward', wide ? 'conv_forward32' : 'conv_forward16', threads, d.groups, buffers, {
    n: d.n,
    out_h: d.outH,
    out_w: d.outW,
    c_in: d.cIn,
    c_out: d.cOut,
    k_h: d.kH,
    k_w: d.kW,
    stride_h: d.strideH,
    stride_w: d.strideW,
    pad_h: d.padH,
    pad_w: d.padW,
    has_bias: bias ? 1 : 0,
    col_tiles: colTiles,
    tiles,
    tiles_per_thread: perThread,
  });
  return y;
}

/** y (shape) = x (*) w + bias: x padded once (pad), then the product. */
export function convForward(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, shape: Shape): Tensor {
  const { xp, padH, padW } = padInput(x, g);
  const y = forwardProduct(xp, w, bias, { ...g, padH, padW }, shape);
  xp.dispose();
  return y;
}
