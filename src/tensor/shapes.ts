// Shape arithmetic the ops share: broadcasting (NumPy rules) and reduced axes. Pure functions of shapes.

import { fmtShape, type Shape } from './tensor.js';

/** The broadcast shape of a and b (NumPy rules), or an error naming both shapes. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Normalises `axes` (negative allowed; undefined = all) to a sorted list of distinct axes. */
export function normAxes(rank: number, axes?: number | readonly number[]): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    const b = a < 0 ? a + rank : a;
    if (!Number.isInteger(b) || b < 0 || b >= rank) throw new Error(`axis ${a} is out of range for rank ${rank}`);
    return b;
  });
  if (new Set(out).size !== out.length) throw new Error(`axes [${list}] repeat an axis`);
  return out.sort((a, b) => a - b);
}

/** The output shape: reduced axes dropped, or kept as 1s. */
export function reducedShape(shape: Shape, axes: number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/**
 * The smallest index space that walks the same elements as `shape` read through each of `strides`
 * (element strides, one list per operand, aligned with `shape`): dims of size 1 dropped, and a dim merged
 * into the next wherever every operand steps across the pair as across one dim (stride[d] ==
 * stride[d + 1] * shape[d + 1]). Element k of the result is element k of the original, at the same offset
 * in every operand. Kernels that turn a flat index into offsets pay a division and a remainder per dim
 * (scalar code on a CPU-emulated GPU), so fewer dims are cheaper: the gauge fixing's (8, 16, 800) / (8, 16, 1)
 * becomes (128, 800) / (128, 1).
 */
/**
 * The RANK pipeline constant of the strided kernels (shaders/elementwise.wgsl's binary, shaders/shape.wgsl's
 * copy_strided) for a collapsed shape: its rank, in straight-line index arithmetic, up to 4 dims; 0 (a loop
 * over the uniform's rank) above.
 */
export function rankConstant(shape: Shape): number {
  return shape.length <= 4 ? shape.length : 0;
}

export function collapseDims(
  shape: Shape,
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = dims.length - 1;
    const merges = last >= 0 && strides.every((s, i) => out[i]![last] === s[d]! * size);
    if (merges) dims[last]! *= size;
    else dims.push(size);
    for (const [i, s] of strides.entries()) out[i]![merges ? last : last + 1] = s[d]!;
  }
  return { shape: dims, strides: out };
}
