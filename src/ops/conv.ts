// 2-D convolution (shaders/conv2d.wgsl): conv2d, and conv2dGrouped, which applies G independent weight
// sets to G slices of a batch in one dispatch (the hypernetwork evaluates 32 generated networks at once).
// Forward dispatch, backward rules and float64 CPU references. Not here: pooling (pool.ts), dilation,
// channel groups within one weight set (as torch's `groups`), or a bias that is not per output channel.
//
// Layout: activations are NHWC (N, H, W, C) and weights HWIO (KH, KW, Cin, Cout), TensorFlow's layout,
// which the hypernetwork paper's code used, so its generated kernels drop in without a transpose. Channels
// last also makes the innermost loop of every kernel run along contiguous memory: a patch of x is KW*Cin
// contiguous values per row, a filter tap is Cout contiguous weights, and the weight matrix (KH*KW*Cin,
// Cout) is the HWIO tensor itself.
//
// Padding follows TensorFlow: VALID out = ceil((H - KH + 1) / s); SAME out = ceil(H / s) with
// pad_total = max((out - 1) * s + KH - H, 0), pad_top = floor(pad_total / 2), the extra row at the bottom
// (and column at the right).

import { type BufferRef, gpu } from '../gpu/index.js';
import { fmtShape, record, type Shape, Tensor } from '../tensor/index.js';
import { sum } from './reduce.js';

export type Padding = 'SAME' | 'VALID';

export interface Conv2dOptions {
  stride?: number | readonly [number, number]; // default 1
  padding: Padding;
}

/** The output tile of one workgroup: TM x TN in shaders/conv2d.wgsl. */
const TM = 64;
const TN = 16;

/**
 * Row tiles per workgroup for conv_forward and conv_backward_input. On a GPU one: many short workgroups
 * fill it best. On a CPU adapter (SwiftShader) every workgroup has a fixed cost (zeroing its workgroup
 * memory, starting its threads) of about what a tile's work costs at small K, so 16 tiles share one
 * workgroup (measured: the first layer's forward runs 3 times faster). The results are the same either way.
 */
function rowTilesPerGroup(): number {
  return gpu().adapter.fallback ? 16 : 1;
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

function uniforms(g: ConvGeometry, hasBias: boolean, rowTiles: number) {
  return {
    n: g.n,
    in_h: g.inH,
    in_w: g.inW,
    c_in: g.cIn,
    out_h: g.outH,
    out_w: g.outW,
    c_out: g.cOut,
    k_h: g.kH,
    k_w: g.kW,
    stride_h: g.strideH,
    stride_w: g.strideW,
    pad_top: g.padTop,
    pad_left: g.padLeft,
    has_bias: hasBias ? 1 : 0,
    row_tiles: rowTiles,
  };
}

/**
 * Records one of the three kernels: C (rows, cols) per group, in tiles of TM x TN, `rowTiles` row tiles
 * per workgroup, G in the grid's z.
 */
function dispatch(
  entry: string,
  g: ConvGeometry,
  rows: number,
  cols: number,
  buffers: Record<string, BufferRef>,
  opts: { hasBias?: boolean; rowTiles?: number } = {},
): void {
  const rowTiles = opts.rowTiles ?? 1;
  const groups: [number, number, number] = [Math.ceil(rows / TM / rowTiles), Math.ceil(cols / TN), g.groups];
  const max = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  if (groups.some((d) => d > max)) {
    throw new Error(
      `conv2d ${entry}: ${rows} x ${cols} outputs per group in ${g.groups} groups need [${groups}] ` +
        `workgroups, above ${max} per dimension; split the batch`,
    );
  }
  gpu().dispatch({ shader: 'conv2d', entry }, buffers, uniforms(g, opts.hasBias ?? false, rowTiles), groups, entry);
}

function forwardKernel(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, shape: Shape): Tensor {
  const y = Tensor.empty(shape);
  const buffers = { x: x.ref, weight: w.ref, bias: (bias ?? w).ref, y: y.ref }; // w stands in for a missing bias
  dispatch('conv_forward', g, g.n * g.outH * g.outW, g.cOut, buffers, {
    hasBias: bias !== null,
    rowTiles: rowTilesPerGroup(),
  });
  return y;
}

function backwardInput(dy: Tensor, w: Tensor, g: ConvGeometry, shape: Shape): Tensor {
  const dx = Tensor.empty(shape);
  const buffers = { dy: dy.ref, weight: w.ref, dx: dx.ref };
  dispatch('conv_backward_input', g, g.n * g.inH * g.inW, g.cIn, buffers, { rowTiles: rowTilesPerGroup() });
  return dx;
}

function backwardWeight(x: Tensor, dy: Tensor, g: ConvGeometry, shape: Shape): Tensor {
  const dw = Tensor.empty(shape);
  dispatch('conv_backward_weight', g, g.kH * g.kW * g.cIn, g.cOut, { x: x.ref, dy: dy.ref, dw: dw.ref });
  return dw;
}

function checkF32(op: string, ts: (Tensor | null)[]): void {
  for (const t of ts) {
    if (t && t.dtype !== 'f32') throw new Error(`${op}: expects f32 tensors, got ${t.dtype} ${fmtShape(t.shape)}`);
  }
}

/** Forward dispatch and backward rule, shared by conv2d and conv2dGrouped (which differ in shapes only). */
function convOp(
  op: string,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  yShape: Shape,
  biasAxes: number[],
) {
  const y = forwardKernel(x, w, bias, g, yShape);
  const parents = bias ? [x, w, bias] : [x, w];
  return record(y, op, parents, (dy) => [
    // dx = dy (*) w, a transposed convolution: dx[n, ih, iw, ci] = sum_{kh, kw, co} dy[n, oh, ow, co] w[kh, kw, ci, co]
    x.requiresGrad ? backwardInput(dy, w, g, x.shape) : null,
    // dw = x (*) dy, a correlation: dw[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*sh - pt + kh, ow*sw - pl + kw, ci] dy[n, oh, ow, co]
    w.requiresGrad ? backwardWeight(x, dy, g, w.shape) : null,
    // db = sum of dy over the batch and every output pixel
    ...(bias ? [bias.requiresGrad ? sum(dy, biasAxes) : null] : []),
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
  return convOp('conv2d', x, w, bias, g, [g.n, g.outH, g.outW, g.cOut], [0, 1, 2]);
}

/**
 * G independent convolutions in one dispatch: group g convolves x[g] (N, H, W, Cin) with w[g]
 * (KH, KW, Cin, Cout) plus bias[g]. x: (G, N, H, W, Cin), w: (G, KH, KW, Cin, Cout), bias: (G, Cout) or
 * null. Returns (G, N, OH, OW, Cout); equals G calls of conv2d, value for value.
 */
export function conv2dGrouped(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dOptions): Tensor {
  checkF32('conv2dGrouped', [x, w, bias]);
  const g = convGeometry(x.shape, w.shape, opts);
  if (bias && (bias.rank !== 2 || bias.shape[0] !== g.groups || bias.shape[1] !== g.cOut)) {
    throw new Error(`conv2dGrouped: bias ${fmtShape(bias.shape)} must be (${g.groups}, ${g.cOut}): (G, Cout)`);
  }
  return convOp('conv2dGrouped', x, w, bias, g, [g.groups, g.n, g.outH, g.outW, g.cOut], [1, 2, 3]);
}

// ---- float64 CPU references (grouped layout; G = 1 for conv2d) ----------------------------------------

/** Calls f(xAt, wAt, yAt) for every (group, image, output pixel, tap) whose input pixel is in the image. */
function eachTap(g: ConvGeometry, f: (xAt: number, wAt: number, yAt: number) => void): void {
  for (let gi = 0; gi < g.groups; gi++) {
    for (let n = 0; n < g.n; n++) {
      for (let oh = 0; oh < g.outH; oh++) {
        for (let ow = 0; ow < g.outW; ow++) {
          const yAt = (((gi * g.n + n) * g.outH + oh) * g.outW + ow) * g.cOut;
          for (let kh = 0; kh < g.kH; kh++) {
            const ih = oh * g.strideH - g.padTop + kh;
            if (ih < 0 || ih >= g.inH) continue;
            for (let kw = 0; kw < g.kW; kw++) {
              const iw = ow * g.strideW - g.padLeft + kw;
              if (iw < 0 || iw >= g.inW) continue;
              const xAt = (((gi * g.n + n) * g.inH + ih) * g.inW + iw) * g.cIn;
              const wAt = ((gi * g.kH + kh) * g.kW + kw) * g.cIn * g.cOut;
              f(xAt, wAt, yAt);
            }
          }
        }
      }
    }
  }
}

/** y = x (*) w + bias. x (G, N, H, W, Cin), w (G, KH, KW, Cin, Cout), bias (G, Cout) or null. */
export function cpuConv2d(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  g: ConvGeometry,
): Float64Array {
  const y = new Float64Array(g.groups * g.n * g.outH * g.outW * g.cOut);
  if (bias) {
    for (let i = 0; i < y.length; i++) {
      const gi = Math.floor(i / (g.n * g.outH * g.outW * g.cOut));
      y[i] = bias[gi * g.cOut + (i % g.cOut)]!;
    }
  }
  eachTap(g, (xAt, wAt, yAt) => {
    for (let ci = 0; ci < g.cIn; ci++) {
      const xv = x[xAt + ci]!;
      for (let co = 0; co < g.cOut; co++) y[yAt + co] += xv * w[wAt + ci * g.cOut + co]!;
    }
  });
  return y;
}

/** dx (G, N, H, W, Cin) from dy (G, N, OH, OW, Cout) and w. */
export function cpuConv2dBackwardInput(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const dx = new Float64Array(g.groups * g.n * g.inH * g.inW * g.cIn);
  eachTap(g, (xAt, wAt, yAt) => {
    for (let ci = 0; ci < g.cIn; ci++) {
      let s = 0;
      for (let co = 0; co < g.cOut; co++) s += dy[yAt + co]! * w[wAt + ci * g.cOut + co]!;
      dx[xAt + ci] += s;
    }
  });
  return dx;
}

/** dw (G, KH, KW, Cin, Cout) from x and dy. */
export function cpuConv2dBackwardWeight(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const dw = new Float64Array(g.groups * g.kH * g.kW * g.cIn * g.cOut);
  eachTap(g, (xAt, wAt, yAt) => {
    for (let ci = 0; ci < g.cIn; ci++) {
      const xv = x[xAt + ci]!;
      for (let co = 0; co < g.cOut; co++) dw[wAt + ci * g.cOut + co] += xv * dy[yAt + co]!;
    }
  });
  return dw;
}

/** dbias (G, Cout): dy summed over images and output pixels. */
export function cpuConv2dBackwardBias(dy: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const db = new Float64Array(g.groups * g.cOut);
  const per = g.n * g.outH * g.outW * g.cOut;
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / per) * g.cOut + (i % g.cOut)] += dy[i]!;
  return db;
}
