// The sizes of a 2-D convolution (src/ops/conv.ts): output size and padding as TensorFlow computes them,
// strides and windows given as one number or a pair, and the geometry every kernel plan and CPU reference
// of the convolution reads. Not here: dispatch (conv-forward.ts, conv-input-grad.ts, conv-weight-grad.ts)
// or the ops themselves (conv.ts). pool.ts uses the same padding rules.
//
// Padding follows TensorFlow: VALID out = ceil((H - KH + 1) / s); SAME out = ceil(H / s) with
// pad_total = max((out - 1) * s + KH - H, 0), pad_top = floor(pad_total / 2), the extra row at the bottom
// (and column at the right).

import { fmtShape, type Shape } from '../tensor/index.js';

export type Padding = 'SAME' | 'VALID';

export interface Conv2dOptions {
  stride?: number | readonly [number, number]; // default 1
  padding: Padding;
}

/** Output size and padding before (top or left) along one dim, as TensorFlow computes them. */
export function convOutputSize(
  size: number,
  k: number,
  stride: number,
  padding: Padding,
): { out: number; before: number } {
  if (padding === 'VALID') return { out: Math.max(Math.ceil((size - k + 1) / stride), 0), before: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  return { out, before: Math.floor(total / 2) };
}

/** A stride or window size given as one number or as (height, width), checked. */
export function toPair(v: number | readonly [number, number], what: string): [number, number] {
  const [a, b] = typeof v === 'number' ? [v, v] : v;
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < 1) {
    throw new Error(`${what} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [a, b];
}

/** Every size a convolution needs, per weight set (groups = G). */
export interface ConvGeometry {
  groups: number;
  n: number;
  inH: number;
  inW: number;
  cIn: number;
  kH: number;
  kW: number;
  cOut: number;
  strideH: number;
  strideW: number;
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

/**
 * The geometry of a grouped convolution of x (G, N, H, W, Cin) with w (G, KH, KW, Cin, Cout), or an error
 * naming the shapes. `what` names the call in errors.
 */
export function convGeometry(
  xShape: Shape,
  wShape: Shape,
  opts: Conv2dOptions,
  what = `conv2dGrouped of x ${fmtShape(xShape)} with w ${fmtShape(wShape)}`,
): ConvGeometry {
  if (xShape.length !== 5 || wShape.length !== 5) {
    throw new Error(`${what}: expected x (G, N, H, W, Cin) and w (G, KH, KW, Cin, Cout)`);
  }
  const [groups, n, inH, inW, cIn] = xShape as [number, number, number, number, number];
  const [gw, kH, kW, cInW, cOut] = wShape as [number, number, number, number, number];
  if (gw !== groups) throw new Error(`${what}: x has ${groups} groups but w has ${gw}`);
  if (cInW !== cIn) throw new Error(`${what}: x has ${cIn} input channels but w expects ${cInW} (w is HWIO)`);
  if (opts.padding !== 'SAME' && opts.padding !== 'VALID') {
    throw new Error(`${what}: padding must be 'SAME' or 'VALID', got ${JSON.stringify(opts.padding)}`);
  }
  const [strideH, strideW] = toPair(opts.stride ?? 1, `${what}: stride`);
  const h = convOutputSize(inH, kH, strideH, opts.padding);
  const v = convOutputSize(inW, kW, strideW, opts.padding);
  if (h.out === 0 || v.out === 0 || kH === 0 || kW === 0) {
    throw new Error(`${what}: a ${kH}x${kW} kernel on a ${inH}x${inW} image gives an empty output (${opts.padding})`);
  }
  const g = { groups, n, inH, inW, cIn, kH, kW, cOut, strideH, strideW, outH: h.out, outW: v.out };
  return { ...g, padTop: h.before, padLeft: v.before };
}
