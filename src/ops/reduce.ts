// Reductions over any set of axes (shaders/reduce.wgsl): sum, mean, max (with argmax), var.
// Forward dispatch, backward rule and float64 CPU reference for each. Not here: softmax (softmax.ts).

import { type BufferRef, gpu } from '../gpu/index.js';
import {
  fill,
  fmtShape,
  groups1d,
  normAxes,
  record,
  reducedShape,
  type Shape,
  stridesOf,
  Tensor,
} from '../tensor/index.js';
import { mul, square, sub } from './elementwise.js';
import { expand } from './shape.js';

/**
 * Short reductions run a thread per output; longer ones a workgroup per output, except on a CPU adapter
 * when there are outputs enough to share among threads and rows of at most 4,096: there a workgroup's
 * barriers cost more than the loop (SwiftShader, sums of 800 values for 128 outputs: 0.5-1.3 ms a thread
 * per output, 9-11 ms a workgroup per output; of 400 for 256 outputs: 1.4-2.6 against 19-28 ms).
 */
const WIDE_FROM = 256;
const CPU_ROWS_FROM_OUTPUTS = 16;
const CPU_ROWS_UP_TO = 4096; // longest rows measured (16 x 4096: 0.4-2.6 ms a thread each, 3.2-4.5 a workgroup)

/** Whether a reduction of nRed values into each of nOut outputs takes a workgroup per output (see above). */
export function workgroupPerOutput(nOut: number, nRed: number): boolean {
  const cpuRows = gpu().adapter.fallback && nOut >= CPU_ROWS_FROM_OUTPUTS && nRed <= CPU_ROWS_UP_TO;
  return nRed >= WIDE_FROM && !cpuRows;
}

export interface ReductionPlan {
  nOut: number;
  nRed: number;
  kept: { shape: number[]; stride: number[] };
  red: { shape: number[]; stride: number[] };
}

/**
 * Splits the input into kept and reduced dims, merging neighbours of the same kind (size-1 dims dropped).
 * Shaders address output o, reduced position j at base(o) + offset(j) from these (reduce, batchnorm).
 */
export function reductionPlan(shape: Shape, axes: number[], op = 'reduce'): ReductionPlan {
  const strides = stridesOf(shape);
  const kept = { shape: [] as number[], stride: [] as number[] };
  const red = { shape: [] as number[], stride: [] as number[] };
  let last: 'kept' | 'red' | null = null;
  shape.forEach((d, i) => {
    if (d === 1) return;
    const kind = axes.includes(i) ? 'red' : 'kept';
    const g = kind === 'red' ? red : kept;
    if (last === kind) {
      // merge with the previous dim: it is contiguous with this one
      g.shape[g.shape.length - 1]! *= d;
      g.stride[g.stride.length - 1] = strides[i]!;
    } else {
      g.shape.push(d);
      g.stride.push(strides[i]!);
    }
    last = kind;
  });
  if (kept.shape.length > 4 || red.shape.length > 4) {
    throw new Error(
      `${op} over axes [${axes}] of ${fmtShape(shape)}: too many alternating kept/reduced dims (max 4 each)`,
    );
  }
  const prod = (v: number[]) => v.reduce((p, d) => p * d, 1);
  return { nOut: prod(kept.shape), nRed: prod(red.shape), kept, red };
}

/** The ranks of the kept and the reduced dims, as the pipeline constants of shaders/reduce.wgsl and batchnorm.wgsl. */
export function rankConstants(p: ReductionPlan): { KEPT_RANK: number; RED_RANK: number } {
  return { KEPT_RANK: p.kept.shape.length, RED_RANK: p.red.shape.length };
}

function uniforms(p: ReductionPlan, scale: number) {
  const v4 = (v: number[]) => [...v, 0, 0, 0, 0].slice(0, 4);
  return {
    n_out: p.nOut,
    n_red: p.nRed,
    kept_shape: v4(p.kept.shape),
    kept_stride: v4(p.kept.stride),
    red_shape: v4(p.red.shape),
    red_stride: v4(p.red.stride),
    scale,
  };
}

function reduceKernel(kind: 'sum' | 'max', x: Tensor, axes: number[], outShape: number[], scale: number) {
  if (x.dtype !== 'f32') throw new Error(`${kind}: expects f32, got ${x.dtype}`);
  const out = Tensor.empty(outShape);
  const arg = kind === 'max' ? Tensor.empty(outShape, 'i32') : null;
  const p = reductionPlan(x.shape, axes, kind);
  if (p.nRed === 0) throw new Error(`${kind} over an empty axis of ${fmtShape(x.shape)}`);
  const wide = workgroupPerOutput(p.nOut, p.nRed);
  const entry = `${kind}_${wide ? 'wide' : 'rows'}`;
  const buffers: Record<string, BufferRef> = { x: x.ref, out: out.ref };
  if (arg) buffers.arg = arg.ref;
  gpu().dispatch(
    { shader: 'reduce', entry, constants: rankConstants(p) },
    buffers,
    uniforms(p, scale),
    wide ? groups1d(p.nOut, 1) : groups1d(p.nOut),
    kind,
  );
  return { out, arg, plan: p };
}

/** Sum over `axes` (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes(x.rank, axes);
  const kept = reducedShape(x.shape, ax, true);
  const { out } = reduceKernel('sum', x, ax, reducedShape(x.shape, ax, keepDims), 1);
  // d sum = dy broadcast back over the reduced axes
  return record(out, 'sum', [x], (dy) => [expand(dy.view(kept), x.shape)]);
}

/** Mean over `axes` (all by default). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes(x.rank, axes);
  const n = ax.reduce((p, a) => p * x.shape[a]!, 1);
  const kept = reducedShape(x.shape, ax, true);
  const { out } = reduceKernel('sum', x, ax, reducedShape(x.shape, ax, keepDims), 1 / n);
  // d mean = dy / n broadcast back
  return record(out, 'mean', [x], (dy) => [mul(expand(dy.view(kept), x.shape), 1 / n)]);
}

/** Max over `axes` and the position of the maximum (first on ties) as j over the reduced dims. */
export function maxWithIndex(
  x: Tensor,
  axes?: number | readonly number[],
  keepDims = false,
): { values: Tensor; indices: Tensor } {
  const ax = normAxes(x.rank, axes);
  const { out, arg, plan: p } = reduceKernel('max', x, ax, reducedShape(x.shape, ax, keepDims), 1);
  // d max = dy at the argmax, 0 elsewhere
  record(out, 'max', [x], (dy) => {
    const dx = fill(x.shape, 0);
    gpu().dispatch(
      { shader: 'reduce', entry: 'max_backward', constants: rankConstants(p) },
      { argmax_in: arg!.ref, dy: dy.ref, dx: dx.ref },
      uniforms(p, 1),
      groups1d(p.nOut),
      'max_backward',
    );
    return [dx];
  });
  return { values: out, indices: arg! };
}

export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const { values, indices } = maxWithIndex(x, axes, keepDims);
  // indices are needed by the backward rule only
  if (!values.requiresGrad) indices.dispose();
  return values;
}

/** Index of the maximum along one axis (first on ties), as i32. */
export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  const { values, indices } = maxWithIndex(x, axis, keepDims);
  values.dispose();
  return indices;
}

/** Variance over `axes`; unbiased divides by n - 1 (torch.var's default). Composed, so its gradient follows. */
export function variance(
  x: Tensor,
  axes?: number | readonly number[],
  opts: { unbiased?: boolean; keepDims?: boolean } = {},
): Tensor {
  const ax = normAxes(x.rank, axes);
  const n = ax.reduce((p, a) => p * x.shape[a]!, 1);
  const unbiased = opts.unbiased ?? true;
  if (unbiased && n < 2) throw new Error(`unbiased variance over ${n} value(s) is undefined; pass { unbiased: false }`);
  const m = mean(x, ax, true);
  const d = sub(x, m);
  const d2 = square(d);
  const v = mean(d2, ax, opts.keepDims ?? false);
  for (const t of [m, d, d2]) if (!t.requiresGrad) t.dispose();
  if (!unbiased) return v;
  const out = mul(v, n / (n - 1));
  if (!v.requiresGrad) v.dispose();
  return out;
}

/** Sums a broadcast gradient back to `shape` (the shape of the input that was broadcast). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const s = sum(g, axes, true);
  const v = s.view(shape);
  s.dispose();
  return v;
}

// ---- float64 CPU references -------------------------------------------------------------------------

/** Reduces flat row-major data over axes with f; returns the output (kept dims dropped) and argmax j. */
export function cpuReduce(
  data: ArrayLike<number>,
  shape: Shape,
  axes: number[],
  kind: 'sum' | 'mean' | 'max',
): { data: Float64Array; arg: Int32Array } {
  const p = reductionPlan(shape, axes, kind);
  const outer = (o: number, dims: { shape: number[]; stride: number[] }) => {
    let rest = o;
    let at = 0;
    for (let d = dims.shape.length - 1; d >= 0; d--) {
      at += (rest % dims.shape[d]!) * dims.stride[d]!;
      rest = Math.floor(rest / dims.shape[d]!);
    }
    return at;
  };
  const out = new Float64Array(p.nOut);
  const arg = new Int32Array(p.nOut);
  for (let o = 0; o < p.nOut; o++) {
    const base = outer(o, p.kept);
    let acc = kind === 'max' ? -Infinity : 0;
    for (let j = 0; j < p.nRed; j++) {
      const v = data[base + outer(j, p.red)]!;
      if (kind === 'max') {
        if (v > acc) {
          acc = v;
          arg[o] = j;
        }
      } else acc += v;
    }
    out[o] = kind === 'mean' ? acc / p.nRed : acc;
  }
  return { data: out, arg };
}
