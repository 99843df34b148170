// Making tensors from values: arrays, constants. Random tensors are in rng.ts. Each checks its size against
// the device's limits before anything is recorded, naming the call and the shape.

import { gpu, groups1d, STORAGE_USAGE, strideThreads } from '../gpu/index.js';
import { checkShape, type DType, fmtShape, numel, type Shape, Tensor } from './tensor.js';

/** Throws, naming `fn` and the shape, if a tensor of this shape is over a limit of the device. */
function checkFits(fn: string, shape: Shape): void {
  checkShape(shape);
  gpu().pool.checkSize(4 * numel(shape), STORAGE_USAGE, `${fn}(${fmtShape(shape)})`);
}

type Values = ArrayLike<number> | number[][] | number[][][];

function flatten(values: Values): number[] | ArrayLike<number> {
  if (Array.isArray(values) && Array.isArray(values[0])) return (values as unknown[]).flat(Infinity) as number[];
  return values as ArrayLike<number>;
}

function inferShape(values: Values): number[] {
  const shape: number[] = [];
  let v: unknown = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape.length ? shape : [(values as ArrayLike<number>).length];
}

/**
 * A tensor holding `values` (flat, typed or nested). The shape defaults to the nesting (or 1-D); dtype
 * defaults to i32 for an Int32Array and f32 otherwise.
 */
export function tensor(values: Values, shape?: Shape, dtype?: DType): Tensor {
  const flat = flatten(values);
  const s = shape ? [...shape] : inferShape(values);
  checkFits('tensor', s);
  if (numel(s) !== flat.length) {
    throw new Error(`tensor(): ${flat.length} values do not fill shape ${fmtShape(s)} (${numel(s)} needed)`);
  }
  const dt = dtype ?? (values instanceof Int32Array ? 'i32' : 'f32');
  const t = Tensor.empty(s, dt);
  const data = dt === 'f32' ? Float32Array.from(flat) : Int32Array.from(flat);
  if (dt === 'i32' && !Array.prototype.every.call(flat, Number.isInteger)) {
    throw new Error('tensor(): i32 values must be integers');
  }
  gpu().write(t.ref, data);
  return t;
}

/** Overwrites a tensor's values (same size), e.g. to feed the next minibatch into the same memory. */
export function assign(t: Tensor, values: ArrayLike<number>): void {
  if (values.length !== t.size) throw new Error(`assign(): ${values.length} values into ${fmtShape(t.shape)}`);
  gpu().write(t.ref, t.dtype === 'f32' ? Float32Array.from(values) : Int32Array.from(values));
}

export function scalar(value: number): Tensor {
  return fill([], value);
}

export function zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
  checkFits('zeros', shape);
  return fill(shape, 0, dtype);
}

export function ones(shape: Shape, dtype: DType = 'f32'): Tensor {
  checkFits('ones', shape);
  return fill(shape, 1, dtype);
}

export function full(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  checkFits('full', shape);
  return fill(shape, value, dtype);
}

/** A tensor of `shape` filled with `value` (no size check: for internal buffers of known size). */
export function fill(shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor {
  const t = Tensor.empty(shape, dtype);
  fillInPlace(t, value);
  return t;
}

export function fillInPlace(t: Tensor, value: number): void {
  const bits = new DataView(new ArrayBuffer(4));
  if (t.dtype === 'f32') bits.setFloat32(0, value, true);
  else bits.setInt32(0, value, true);
  const n = t.size;
  const threads = strideThreads(n, gpu().adapter.fallback);
  gpu().dispatch(
    { shader: 'tensor', entry: 'fill' },
    { out: t.ref },
    { n, bits: bits.getUint32(0, true), threads },
    groups1d(threads),
    'fill',
  );
}

/** A copy with its own memory. */
export function copyOf(t: Tensor): Tensor {
  const out = Tensor.empty(t.shape, t.dtype);
  gpu().copy({ ...t.ref, size: 4 * t.size }, out.ref);
  return out;
}
