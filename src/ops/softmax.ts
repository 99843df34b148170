// Softmax and log-softmax over the last axis (shaders/softmax.wgsl): forward dispatch, backward rule and
// float64 CPU reference for each. Numerically stable: each row subtracts its maximum before exp.
// Not here: other axes (permute the axis to the end first), losses (loss.ts).

import { gpu } from '../gpu/index.js';
import { fmtShape, groups1d, record, type Shape, Tensor } from '../tensor/index.js';

/** (rows, cols) of x read as rows along its last axis; throws for any other axis. */
function lastAxisRows(x: Tensor, axis: number, op: string): { rows: number; cols: number } {
  if (x.dtype !== 'f32') throw new Error(`${op}: expects an f32 tensor, got ${x.dtype} ${fmtShape(x.shape)}`);
  if (x.rank === 0) throw new Error(`${op}: needs at least one axis, got a scalar`);
  const a = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= x.rank) {
    throw new Error(`${op}: axis ${axis} is out of range for ${fmtShape(x.shape)} (rank ${x.rank})`);
  }
  if (a !== x.rank - 1) {
    throw new Error(
      `${op}: only the last axis is supported, got axis ${axis} of ${fmtShape(x.shape)}; ` +
        `permute that axis to the end, apply ${op} with axis -1, and permute back`,
    );
  }
  const cols = x.shape[a]!;
  return { rows: cols ? x.size / cols : 0, cols };
}

/** Dispatches a one-thread-per-row kernel that reads `inputs` and writes a new tensor bound as `output`. */
function rowKernel(
  entry: string,
  inputs: Record<string, Tensor>,
  output: 'out' | 'dx',
  rows: number,
  cols: number,
  shape: Shape,
): Tensor {
  const result = Tensor.empty(shape);
  if (!result.size) return result;
  const buffers = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, t.ref]));
  buffers[output] = result.ref;
  gpu().dispatch({ shader: 'softmax', entry }, buffers, { rows, cols, scale: 0 }, groups1d(rows), entry);
  return result;
}

/** exp(x) / sum(exp(x)) along the last axis. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const { rows, cols } = lastAxisRows(x, axis, 'softmax');
  const y = rowKernel('softmax_forward', { x }, 'out', rows, cols, x.shape);
  // dx = y * (dy - sum(dy * y)) per row
  return record(y, 'softmax', [x], (dy) => [rowKernel('softmax_backward', { y, dy }, 'dx', rows, cols, x.shape)]);
}

/** x - log(sum(exp(x))) along the last axis. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const { rows, cols } = lastAxisRows(x, axis, 'logSoftmax');
  const y = rowKernel('log_softmax_forward', { x }, 'out', rows, cols, x.shape);
  // dx = dy - softmax(x) * sum(dy) per row, softmax(x) = exp(y)
  return record(y, 'log_softmax', [x], (dy) => [
    rowKernel('log_softmax_backward', { y, dy }, 'dx', rows, cols, x.shape),
  ]);
}

// ---- float64 CPU references -------------------------------------------------------------------------

/** (max, log sum exp(v - max)) of data[start, start + length), in float64. */
export function cpuRowLogSumExp(
  data: ArrayLike<number>,
  start = 0,
  length = data.length - start,
): { max: number; logSum: number } {
  let m = -Infinity;
  for (let j = start; j < start + length; j++) m = Math.max(m, data[j]!);
  let s = 0;
  for (let j = start; j < start + length; j++) s += Math.exp(data[j]! - m);
  return { max: m, logSum: Math.log(s) };
}

/** Maps each value v of each row of `cols` values to f(v, row max, row log sum exp(v - max)). */
function cpuRows(
  data: ArrayLike<number>,
  cols: number,
  f: (v: number, max: number, logSum: number) => number,
): Float64Array {
  const out = new Float64Array(data.length);
  for (let base = 0; base < data.length; base += cols) {
    const { max, logSum } = cpuRowLogSumExp(data, base, cols);
    for (let j = base; j < base + cols; j++) out[j] = f(data[j]!, max, logSum);
  }
  return out;
}

/** Softmax along the last axis of flat row-major data with that axis of length `cols`. */
export function cpuSoftmax(data: ArrayLike<number>, cols: number): Float64Array {
  return cpuRows(data, cols, (v, max, logSum) => Math.exp(v - max - logSum));
}

/** Log-softmax along the last axis of flat row-major data with that axis of length `cols`. */
export function cpuLogSoftmax(data: ArrayLike<number>, cols: number): Float64Array {
  return cpuRows(data, cols, (v, max, logSum) => v - max - logSum);
}
