// 2-D max and average pooling of NHWC activations (shaders/pool.wgsl): forward dispatch, backward rule and
// float64 CPU reference for each. Leading dims beyond one batch dim, e.g. (G, N, H, W, C), are folded into
// the batch. Padding is TensorFlow's (see conv.ts): SAME pads by the same rule as a convolution, and the
// padded cells take no part, so a max is always a real input (as if padded with -inf) and an average
// divides by the number of real cells in its window. Not here: global pooling (a mean over axes, reduce.ts).

import { gpu } from '../gpu/index.js';
import { fmtShape, groups1d, numel, record, type Shape, Tensor } from '../tensor/index.js';
import { convOutputSize, type Padding, toPair } from './conv.js';

export interface Pool2dOptions {
  size?: number | readonly [number, number]; // window, default 2
  stride?: number | readonly [number, number]; // default: the window size
  padding: Padding;
}

/** Every size a pooling needs (leading dims folded into n). */
export interface PoolGeometry {
  n: number;
  inH: number;
  inW: number;
  c: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

/** The geometry of pooling an input of `shape` (..., H, W, C), or an error naming the shape. */
export function poolGeometry(shape: Shape, opts: Pool2dOptions, op = 'pool2d'): PoolGeometry {
  if (shape.length < 4) {
    throw new Error(`${op} of ${fmtShape(shape)}: expected (N, H, W, C), with any extra leading dims`);
  }
  if (opts.padding !== 'SAME' && opts.padding !== 'VALID') {
    throw new Error(`${op}: padding must be 'SAME' or 'VALID', got ${JSON.stringify(opts.padding)}`);
  }
  const [kH, kW] = toPair(opts.size ?? 2, `${op} size`);
  const [strideH, strideW] = toPair(opts.stride ?? [kH, kW], `${op} stride`);
  const [inH, inW, c] = shape.slice(-3) as [number, number, number];
  const h = convOutputSize(inH, kH, strideH, opts.padding);
  const v = convOutputSize(inW, kW, strideW, opts.padding);
  if (h.out === 0 || v.out === 0) {
    throw new Error(`${op} of ${fmtShape(shape)}: a ${kH}x${kW} window gives an empty output (${opts.padding})`);
  }
  const n = numel(shape.slice(0, -3));
  return { n, inH, inW, c, kH, kW, strideH, strideW, outH: h.out, outW: v.out, padTop: h.before, padLeft: v.before };
}

function uniforms(g: PoolGeometry) {
  return {
    n: g.n,
    in_h: g.inH,
    in_w: g.inW,
    c: g.c,
    out_h: g.outH,
    out_w: g.outW,
    k_h: g.kH,
    k_w: g.kW,
    stride_h: g.strideH,
    stride_w: g.strideW,
    pad_top: g.padTop,
    pad_left: g.padLeft,
    run: 1,
    chunks: 1,
  };
}

/**
 * The channels a thread of the tiled kernels takes: all of a pixel's on a CPU adapter, where a thread per
 * output spent most of its time finding its window (the hypernetwork's first pool, 200,704 outputs of 32
 * channels, forward and backward, GPU time: 6.7-8.1 and 4.2-4.5 ms a thread per output, 4.6-5.8 and 3.0-3.7
 * a thread per pixel, before the 2x2 kernels were written out), one on a GPU.
 */
function tileRun(g: PoolGeometry): { run: number; chunks: number } {
  const run = forcedRun ?? (gpu().adapter.fallback ? g.c : 1);
  return { run: Math.min(run, g.c), chunks: Math.ceil(g.c / Math.min(run, g.c)) };
}

let forcedRun: number | null = null;

/** Forces the channels a thread of the tiled max-pool kernels takes (tests); null restores the adapter's. */
export function usePoolRun(run: number | null): void {
  forcedRun = run;
}

function outShape(shape: Shape, g: PoolGeometry): number[] {
  return [...shape.slice(0, -3), g.outH, g.outW, g.c];
}

function checkF32(op: string, x: Tensor): void {
  if (x.dtype !== 'f32') throw new Error(`${op}: expects an f32 tensor, got ${x.dtype} ${fmtShape(x.shape)}`);
}

/**
 * Windows that tile the input exactly (stride = size, no padding, in = out x size: each input cell in one
 * window): the kernels of a thread per output with the window's size as pipeline constants.
 */
export function poolWindowsTile(g: PoolGeometry): boolean {
  return (
    g.strideH === g.kH &&
    g.strideW === g.kW &&
    g.padTop === 0 &&
    g.padLeft === 0 &&
    g.inH === g.outH * g.kH &&
    g.inW === g.outW * g.kW
  );
}

/** Max over each window. x: (..., H, W, C). The gradient goes to the window's maximum (the first on ties). */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  checkF32('maxPool2d', x);
  const g = poolGeometry(x.shape, opts, 'maxPool2d');
  const y = Tensor.empty(outShape(x.shape, g));
  const arg = Tensor.empty(y.shape, 'i32');
  const tiled = poolWindowsTile(g);
  const u = tiled ? { ...uniforms(g), ...tileRun(g) } : uniforms(g);
  const twoByTwo = tiled && g.kH === 2 && g.kW === 2;
  const constants = tiled && !twoByTwo ? { TILE_H: g.kH, TILE_W: g.kW } : undefined;
  const tiledThreads = g.n * g.outH * g.outW * u.chunks;
  const [forward, backward] = twoByTwo
    ? ['max_pool_2x2_forward', 'max_pool_2x2_backward']
    : tiled
      ? ['max_pool_tiled_forward', 'max_pool_tiled_backward']
      : ['max_pool_forward', 'max_pool_backward'];
  gpu().dispatch(
    { shader: 'pool', entry: forward, constants },
    { x: x.ref, y: y.ref, arg: arg.ref },
    u,
    groups1d(tiled ? tiledThreads : y.size),
    forward,
  );
  // d max = dy at the window's argmax; an input that is the max of several windows sums their dy (tiled:
  // a thread per window writes each of its cells once)
  record(y, 'maxPool2d', [x], (dy) => {
    const dx = Tensor.empty(x.shape);
    const threads = tiled ? tiledThreads : dx.size;
    gpu().dispatch(
      { shader: 'pool', entry: backward, constants },
      { arg_in: arg.ref, dy: dy.ref, dx: dx.ref },
      u,
      groups1d(threads),
      backward,
    );
    return [dx];
  });
  // the argmax is needed by the backward rule only
  if (!y.requiresGrad) arg.dispose();
  return y;
}

/** Mean over each window's real (unpadded) cells. x: (..., H, W, C). */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  checkF32('avgPool2d', x);
  const g = poolGeometry(x.shape, opts, 'avgPool2d');
  const y = Tensor.empty(outShape(x.shape, g));
  const u = uniforms(g);
  gpu().dispatch(
    { shader: 'pool', entry: 'avg_pool_forward' },
    { x: x.ref, y: y.ref },
    u,
    groups1d(y.size),
    'avg_pool_forward',
  );
  // d avg = dy / count, to every real cell of the window
  return record(y, 'avgPool2d', [x], (dy) => {
    const dx = Tensor.empty(x.shape);
    gpu().dispatch(
      { shader: 'pool', entry: 'avg_pool_backward' },
      { dy: dy.ref, dx: dx.ref },
      u,
      groups1d(dx.size),
      'avg_pool_backward',
    );
    return [dx];
  });
}

// ---- float64 CPU references ---------------------------------------------------------------------------

/** Calls f(yAt, xAt's of the window's real cells in row-major order, window positions) for each output. */
function eachWindow(g: PoolGeometry, f: (yAt: number, xAts: number[], positions: number[]) => void): void {
  for (let n = 0; n < g.n; n++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        for (let c = 0; c < g.c; c++) {
          const xAts: number[] = [];
          const positions: number[] = [];
          for (let kh = 0; kh < g.kH; kh++) {
            const ih = oh * g.strideH - g.padTop + kh;
            if (ih < 0 || ih >= g.inH) continue;
            for (let kw = 0; kw < g.kW; kw++) {
              const iw = ow * g.strideW - g.padLeft + kw;
              if (iw < 0 || iw >= g.inW) continue;
              xAts.push(((n * g.inH + ih) * g.inW + iw) * g.c + c);
              positions.push(kh * g.kW + kw);
            }
          }
          f(((n * g.outH + oh) * g.outW + ow) * g.c + c, xAts, positions);
        }
      }
    }
  }
}

/** Max pooling: the values, the window position of each max (first on ties, as the GPU) and its input index. */
export function cpuMaxPool2d(
  x: ArrayLike<number>,
  g: PoolGeometry,
): { y: Float64Array; arg: Int32Array; from: Int32Array } {
  const size = g.n * g.outH * g.outW * g.c;
  const y = new Float64Array(size);
  const arg = new Int32Array(size);
  const from = new Int32Array(size);
  eachWindow(g, (yAt, xAts, positions) => {
    let best = 0;
    xAts.forEach((at, k) => {
      if (k === 0 || x[at]! > x[xAts[best]!]!) best = k;
    });
    y[yAt] = x[xAts[best]!]!;
    arg[yAt] = positions[best]!;
    from[yAt] = xAts[best]!;
  });
  return { y, arg, from };
}

/** dx of max pooling: each dy added to the input its window's max came from. */
export function cpuMaxPool2dBackward(x: ArrayLike<number>, dy: ArrayLike<number>, g: PoolGeometry): Float64Array {
  const { from } = cpuMaxPool2d(x, g);
  const dx = new Float64Array(g.n * g.inH * g.inW * g.c);
  for (let o = 0; o < from.length; o++) dx[from[o]!] += dy[o]!;
  return dx;
}

export function cpuAvgPool2d(x: ArrayLike<number>, g: PoolGeometry): Float64Array {
  const y = new Float64Array(g.n * g.outH * g.outW * g.c);
  eachWindow(g, (yAt, xAts) => {
    let s = 0;
    for (const at of xAts) s += x[at]!;
    y[yAt] = s / xAts.length;
  });
  return y;
}

export function cpuAvgPool2dBackward(dy: ArrayLike<number>, g: PoolGeometry): Float64Array {
  const dx = new Float64Array(g.n * g.inH * g.inW * g.c);
  eachWindow(g, (yAt, xAts) => {
    for (const at of xAts) dx[at] += dy[yAt]! / xAts.length;
  });
  return dx;
}
