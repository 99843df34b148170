// Shape ops: reshape, permute/transpose, slice, concat, expand (broadcast) and gathering rows by an
// index tensor (shaders/shape.wgsl), each with its backward rule and a CPU reference. All but reshape
// copy: every tensor here is contiguous and row-major.

import { gpu, strideThreads } from '../gpu/index.js';
import {
  broadcastShapes,
  collapseDims,
  rankConstant,
  fill,
  fmtShape,
  groups1d,
  numel,
  record,
  type Shape,
  stridesOf,
  Tensor,
} from '../tensor/index.js';
import { sumToShape } from './reduce.js';

const MAX_RANK = 8;

function pad8(v: readonly number[]): number[] {
  return [...v, ...new Array(MAX_RANK - v.length).fill(0)];
}

/** Records copy_strided over index space `shape` (see shaders/shape.wgsl). */
function copyStrided(
  x: Tensor,
  out: Tensor,
  shape: Shape,
  src: { offset: number; stride: readonly number[] },
  dst: { offset: number; stride: readonly number[] },
  name: string,
): void {
  if (shape.length > MAX_RANK) throw new Error(`${name}: rank ${shape.length} is above the maximum of ${MAX_RANK}`);
  const n = numel(shape);
  const c = collapseDims(shape, [src.stride, dst.stride]); // fewer dims, fewer divisions per element
  const threads = strideThreads(n, gpu().adapter.fallback);
  gpu().dispatch(
    { shader: 'shape', entry: 'copy_strided', constants: { RANK: rankConstant(c.shape) } },
    { x: x.ref, out: out.ref },
    {
      n,
      rank: c.shape.length,
      src_offset: src.offset,
      dst_offset: dst.offset,
      threads,
      shape: pad8(c.shape),
      src_stride: pad8(c.strides[0]!),
      dst_stride: pad8(c.strides[1]!),
    },
    groups1d(threads),
    name,
  );
}

/** The same values with another shape of the same size; one dim may be -1 (inferred). No copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const free = s.indexOf(-1);
  if (free >= 0) {
    const rest = s.reduce((p, d, i) => (i === free ? p : p * d), 1);
    if (rest === 0 || x.size % rest)
      throw new Error(`reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}: -1 cannot be inferred`);
    s[free] = x.size / rest;
  }
  // d reshape = dy reshaped back
  return record(x.view(s), 'reshape', [x], (dy) => [dy.view(x.shape)]);
}

/** Reorders dims: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of the ${x.rank} dims of ${fmtShape(x.shape)}`);
  }
  const xs = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const out = Tensor.empty(shape, x.dtype);
  copyStrided(
    x,
    out,
    shape,
    { offset: 0, stride: perm.map((p) => xs[p]!) },
    { offset: 0, stride: stridesOf(shape) },
    'permute',
  );
  const inverse = perm.map((_, i) => perm.indexOf(i));
  // d permute = dy permuted back
  return record(out, 'permute', [x], (dy) => [permute(dy, inverse)]);
}

/** Swaps two dims (the last two by default). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = [...Array(x.rank).keys()];
  const i = a < 0 ? a + x.rank : a;
  const j = b < 0 ? b + x.rank : b;
  if (perm[i] === undefined || perm[j] === undefined)
    throw new Error(`transpose: dims ${a}, ${b} out of range for ${fmtShape(x.shape)}`);
  [perm[i], perm[j]] = [j, i];
  return permute(x, perm);
}

/** x[begin[0] : begin[0] + size[0], ...]; size -1 takes the rest of a dim. */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  if (begin.length !== x.rank || size.length !== x.rank) {
    throw new Error(`slice of ${fmtShape(x.shape)}: begin [${begin}] and size [${size}] need ${x.rank} entries each`);
  }
  const sz = size.map((s, i) => (s === -1 ? x.shape[i]! - begin[i]! : s));
  sz.forEach((s, i) => {
    if (begin[i]! < 0 || s < 0 || begin[i]! + s > x.shape[i]!) {
      throw new Error(`slice of ${fmtShape(x.shape)}: dim ${i} range [${begin[i]}, ${begin[i]! + s}) is out of bounds`);
    }
  });
  const xs = stridesOf(x.shape);
  const offset = begin.reduce((p, b, i) => p + b * xs[i]!, 0);
  const out = Tensor.empty(sz, x.dtype);
  copyStrided(x, out, sz, { offset, stride: xs }, { offset: 0, stride: stridesOf(sz) }, 'slice');
  // d slice = dy placed at its position in zeros
  return record(out, 'slice', [x], (dy) => {
    const dx = fill(x.shape, 0);
    copyStrided(dy, dx, sz, { offset: 0, stride: stridesOf(sz) }, { offset, stride: xs }, 'slice_backward');
    return [dx];
  });
}

/** Joins tensors along `axis`; all other dims must agree. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!xs.length) throw new Error('concat of no tensors');
  const first = xs[0]!;
  const ax = axis < 0 ? axis + first.rank : axis;
  for (const t of xs) {
    if (t.rank !== first.rank || t.dtype !== first.dtype || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(
        `concat on axis ${axis}: ${xs.map((v) => `${fmtShape(v.shape)} ${v.dtype}`).join(', ')} do not fit`,
      );
    }
  }
  const shape = [...first.shape];
  shape[ax] = xs.reduce((p, t) => p + t.shape[ax]!, 0);
  const out = Tensor.empty(shape, first.dtype);
  const os = stridesOf(shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of xs) {
    starts.push(at);
    copyStrided(
      t,
      out,
      t.shape,
      { offset: 0, stride: stridesOf(t.shape) },
      { offset: at * os[ax]!, stride: os },
      'concat',
    );
    at += t.shape[ax]!;
  }
  // d concat = the matching slice of dy for each input
  return record(out, 'concat', [...xs], (dy) =>
    xs.map((t, i) => {
      const begin = shape.map((_, d) => (d === ax ? starts[i]! : 0));
      return t.requiresGrad ? slice(dy, begin, t.shape) : null;
    }),
  );
}

/** Repeats size-1 dims (and adds leading ones) to reach `shape`, NumPy-style. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const target = broadcastShapes(x.shape, shape);
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
    throw new Error(`expand: ${fmtShape(x.shape)} cannot be broadcast to ${fmtShape(shape)}`);
  }
  const xs = stridesOf(x.shape);
  const lead = shape.length - x.rank;
  const src = shape.map((_, i) => (i < lead || x.shape[i - lead] === 1 ? 0 : xs[i - lead]!));
  const out = Tensor.empty(shape, x.dtype);
  copyStrided(x, out, shape, { offset: 0, stride: src }, { offset: 0, stride: stridesOf(shape) }, 'expand');
  return record(out, 'expand', [x], (dy) => [sumToShape(dy, x.shape)]);
}

/** Rows of x picked by an i32 index tensor: out[i] = x[idx[i]]. An index out of range gives NaN. */
export function gatherRows(x: Tensor, idx: Tensor): Tensor {
  if (idx.dtype !== 'i32' || idx.rank !== 1) throw new Error(`gatherRows: indices must be 1-D i32, got ${idx}`);
  if (x.rank < 1) throw new Error('gatherRows: x needs at least one dim');
  const row = x.size / (x.shape[0] || 1);
  const shape = [idx.size, ...x.shape.slice(1)];
  const out = Tensor.empty(shape, x.dtype);
  const u = { n: out.size, row, n_rows: x.shape[0]!, n_idx: idx.size };
  gpu().dispatch(
    { shader: 'shape', entry: 'gather_rows' },
    { idx: idx.ref, src: x.ref, dst: out.ref },
    u,
    groups1d(out.size),
    'gather_rows',
  );
  // d gather = dy rows added into the rows they came from
  return record(out, 'gather_rows', [x], (dy) => {
    const dx = Tensor.empty(x.shape);
    const v = { ...u, n: x.size };
    gpu().dispatch(
      { shader: 'shape', entry: 'scatter_add_rows' },
      { idx: idx.ref, dy: dy.ref, dx: dx.ref },
      v,
      groups1d(x.size),
      'scatter_add_rows',
    );
    return [dx];
  });
}

// ---- CPU reference ----------------------------------------------------------------------------------

/** permute on flat row-major data. */
export function cpuPermute(data: ArrayLike<number>, shape: Shape, perm: readonly number[]): Float64Array {
  const xs = stridesOf(shape);
  const os = perm.map((p) => shape[p]!);
  const n = numel(shape);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let rest = i;
    let src = 0;
    for (let d = os.length - 1; d >= 0; d--) {
      src += (rest % os[d]!) * xs[perm[d]!]!;
      rest = Math.floor(rest / os[d]!);
    }
    out[i] = data[src]!;
  }
  return out;
}
