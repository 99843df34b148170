// 2-D convolution (shaders/conv2d.wgsl): conv2d, and conv2dGrouped, which applies G independent weight
// sets to G slices of a batch in the same dispatches (the hypernetwork evaluates 32 generated networks at
// once). Forward dispatch, backward rules and float64 CPU references. Not here: pooling (pool.ts),
// dilation, channel groups within one weight set (as torch's `groups`), or a bias that is not per output
// channel.
//
// Dispatches: the forward pads x (pad) and runs conv_forward16 or conv_forward32; dx pads dy (dilated
// for a stride) and flips w, then runs the same forward kernel; dw pads x and sums runs of output rows
// (conv_weight_grad, sum_splits); db sums dy the same way (bias_grad, sum_splits).
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

// ---- dispatch (shaders/conv2d.wgsl) ---------------------------------------------------------------------

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
function settings(): ConvTuning {
  if (forcedTuning) return forcedTuning;
  return gpu().adapter.fallback ? { pixelsPerThread: 128, dwGroups: 256 } : { pixelsPerThread: 16, dwGroups: 4096 };
}

/** Every field of the WGSL struct Conv; the kernel's own fields override these defaults. */
function uniforms(u: Partial<Record<string, number>>): Record<string, number> {
  return {
    n: 1,
    in_h: 1,
    in_w: 1,
    c_in: 1,
    out_h: 1,
    out_w: 1,
    c_out: 1,
    k_h: 1,
    k_w: 1,
    stride_h: 1,
    stride_w: 1,
    pad_h: 1,
    pad_w: 1,
    before_h: 0,
    before_w: 0,
    dil_h: 1,
    dil_w: 1,
    has_bias: 0,
    col_tiles: 1,
    tiles: 1,
    tiles_per_thread: 1,
    chunk: 1,
    splits: 1,
    size: 1,
    ...u,
  } as Record<string, number>;
}

/** Records one kernel with `threads` invocations per weight set (64 a workgroup, over x and y), G in z. */
function dispatch(
  entry: string,
  threads: number,
  groups: number,
  buffers: Record<string, BufferRef>,
  u: Partial<Record<string, number>>,
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
  gpu().dispatch({ shader: 'conv2d', entry }, buffers, uniforms(u), grid, `conv2d_${entry}`);
}

/** The shape of one forward kernel run: xp (G, N, padH, padW, cIn) (*) w (G, kH, kW, cIn, cOut). */
interface Product {
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

/** xp: x (G, N, H, W, Cin) with the zeros of the padding in place, the rows and columns the output reads. */
function padInput(x: Tensor, g: ConvGeometry): { xp: Tensor; padH: number; padW: number } {
  const padH = (g.outH - 1) * g.strideH + g.kH;
  const padW = (g.outW - 1) * g.strideW + g.kW;
  const xp = Tensor.empty([g.groups, g.n, padH, padW, g.cIn]);
  dispatch(
    'pad',
    g.n * padH * 4,
    g.groups,
    { src: x.ref, dst: xp.ref },
    {
      n: g.n,
      in_h: g.inH,
      in_w: g.inW,
      c_in: g.cIn,
      pad_h: padH,
      pad_w: padW,
      before_h: g.padTop,
      before_w: g.padLeft,
    },
  );
  return { xp, padH, padW };
}

/** y = xp (*) w (+ bias): conv_forward16 for up to 16 output channels, conv_forward32 above. */
function forwardKernel(xp: Tensor, w: Tensor, bias: Tensor | null, d: Product, shape: Shape): Tensor {
  const y = Tensor.empty(shape);
  const wide = d.cOut > 16;
  const [tileRows, tileCols] = wide ? [8, 32] : [16, 16]; // pixels and channels of a tile
  const colTiles = Math.ceil(d.cOut / tileCols);
  const tiles = Math.ceil((d.n * d.outH * d.outW) / tileRows); // of pixels
  const perThread = Math.max(1, Math.floor(settings().pixelsPerThread / tileRows));
  const threads = Math.ceil(tiles / perThread) * colTiles * 4;
  const buffers = { xp: xp.ref, weight: w.ref, bias: (bias ?? w).ref, y: y.ref }; // w stands in for a missing bias
  dispatch(wide ? 'conv_forward32' : 'conv_forward16', threads, d.groups, buffers, {
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

function forward(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, shape: Shape): Tensor {
  const { xp, padH, padW } = padInput(x, g);
  const y = forwardKernel(xp, w, bias, { ...g, padH, padW }, shape);
  xp.dispose();
  return y;
}

/**
 * dx = dyp (*) wt with stride 1, where dyp is dy dilated by the stride and padded by KH-1-pt rows (KW-1-pl
 * columns) before, and wt the weights flipped in kh, kw with Cin and Cout swapped (shaders/conv2d.wgsl).
 */
function backwardInput(dy: Tensor, w: Tensor, g: ConvGeometry, shape: Shape): Tensor {
  const padH = g.inH + g.kH - 1;
  const padW = g.inW + g.kW - 1;
  const dyp = Tensor.empty([g.groups, g.n, padH, padW, g.cOut]);
  const pad = {
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
  };
  if (g.strideH === 1 && g.strideW === 1) dispatch('pad', g.n * padH * 4, g.groups, { src: dy.ref, dst: dyp.ref }, pad);
  else dispatch('pad_dilated', pad.size, g.groups, { src: dy.ref, dst: dyp.ref }, pad);
  const wt = Tensor.empty([g.groups, g.kH, g.kW, g.cOut, g.cIn]);
  const size = g.kH * g.kW * g.cIn * g.cOut;
  dispatch(
    'flip',
    size,
    g.groups,
    { src: w.ref, dst: wt.ref },
    { k_h: g.kH, k_w: g.kW, c_in: g.cIn, c_out: g.cOut, size },
  );
  const d = { groups: g.groups, n: g.n, outH: g.inH, outW: g.inW, cIn: g.cOut, cOut: g.cIn, kH: g.kH, kW: g.kW };
  const dx = forwardKernel(dyp, wt, null, { ...d, strideH: 1, strideW: 1, padH, padW }, shape);
  dyp.dispose();
  wt.dispose();
  return dx;
}

/** At most this many partial sums (words) per weight set: the splits' buffer stays small. */
const PART_WORDS = 2 ** 18;

/**
 * How conv_weight_grad splits K (the output rows (image, oh) of one weight set) into runs of `chunk` rows:
 * about settings().dwGroups groups of 4 lanes per weight set. A function of one weight set's shapes only,
 * so that a grouped call sums in the same order as G single ones.
 */
function weightGradSplits(g: ConvGeometry): { tiles: number; colTiles: number; chunk: number; splits: number } {
  const tiles = Math.ceil((g.kH * g.kW * g.cIn) / 32); // rows of dw per tile
  const colTiles = Math.ceil(g.cOut / 16);
  const lines = g.n * g.outH;
  const size = g.kH * g.kW * g.cIn * g.cOut; // the partial sums of a split
  const most = Math.max(1, Math.floor(PART_WORDS / size));
  const want = Math.min(lines, most, Math.max(1, Math.ceil(settings().dwGroups / (tiles * colTiles))));
  const chunk = Math.ceil(lines / want);
  return { tiles, colTiles, chunk, splits: Math.ceil(lines / chunk) };
}

/** dw: partial sums over runs of output rows (conv_weight_grad), then their sum in order (sum_splits). */
function backwardWeight(x: Tensor, dy: Tensor, g: ConvGeometry, shape: Shape): Tensor {
  const { xp, padH, padW } = padInput(x, g);
  const { tiles, colTiles, chunk, splits } = weightGradSplits(g);
  const size = g.kH * g.kW * g.cIn * g.cOut;
  const dw = Tensor.empty(shape);
  const part = splits === 1 ? dw : Tensor.empty([g.groups, splits, size]);
  dispatch(
    'conv_weight_grad',
    splits * tiles * colTiles * 4,
    g.groups,
    { xp: xp.ref, dy: dy.ref, part: part.ref },
    {
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
    },
  );
  xp.dispose();
  if (part !== dw) {
    dispatch('sum_splits', size, g.groups, { src: part.ref, dst: dw.ref }, { splits, size });
    part.dispose();
  }
  return dw;
}

/** db (G, Cout): dy summed over images and output pixels, in the weight gradient's splits, then in order. */
function backwardBias(dy: Tensor, g: ConvGeometry, shape: Shape): Tensor {
  const { chunk, splits } = weightGradSplits(g);
  const colTiles = Math.ceil(g.cOut / 16);
  const db = Tensor.empty(shape);
  const part = splits === 1 ? db : Tensor.empty([g.groups, splits, g.cOut]);
  const u = { n: g.n, out_h: g.outH, out_w: g.outW, c_out: g.cOut, col_tiles: colTiles, chunk, splits };
  dispatch('bias_grad', splits * colTiles * 4, g.groups, { dy: dy.ref, part: part.ref }, u);
  if (part !== db) {
    dispatch('sum_splits', g.cOut, g.groups, { src: part.ref, dst: db.ref }, { splits, size: g.cOut });
    part.dispose();
  }
  return db;
}

function checkF32(op: string, ts: (Tensor | null)[]): void {
  for (const t of ts) {
    if (t && t.dtype !== 'f32') throw new Error(`${op}: expects f32 tensors, got ${t.dtype} ${fmtShape(t.shape)}`);
  }
}

/** Forward dispatch and backward rule, shared by conv2d and conv2dGrouped (which differ in shapes only). */
function convOp(op: string, x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, yShape: Shape) {
  const y = forward(x, w, bias, g, yShape);
  const parents = bias ? [x, w, bias] : [x, w];
  return record(y, op, parents, (dy) => [
    // dx = dy (*) w, a transposed convolution: dx[n, ih, iw, ci] = sum_{kh, kw, co} dy[n, oh, ow, co] w[kh, kw, ci, co]
    x.requiresGrad ? backwardInput(dy, w, g, x.shape) : null,
    // dw = x (*) dy, a correlation: dw[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*sh - pt + kh, ow*sw - pl + kw, ci] dy[n, oh, ow, co]
    w.requiresGrad ? backwardWeight(x, dy, g, w.shape) : null,
    // db = sum of dy over the batch and every output pixel
    ...(bias ? [bias.requiresGrad ? backwardBias(dy, g, bias.shape) : null] : []),
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
