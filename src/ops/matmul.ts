// Matrix multiply (shaders/matmul.wgsl): op(a) @ op(b), where op transposes the last two dims when its
// flag is set, batched over the leading dims: the forward dispatch, the backward rule and the float64 CPU
// reference. Transposes are read through strides, never materialised. linear() is the same dispatch with
// the bias and the activation of a layer fused into it. Not here: 1-D operands (reshape to (1, K) or
// (K, 1) first), or NumPy-style broadcasting of batch dims other than one 2-D operand.

import { gpu } from '../gpu/index.js';
import { SHADER_CONSTS } from '../gpu/shaders.gen.js';
import { fill, fmtShape, groups1d, numel, record, type Shape, Tensor } from '../tensor/index.js';
import { activationBackward } from './elementwise.js';
import { sum, sumToShape } from './reduce.js';

const WGSL = SHADER_CONSTS.matmul;
/** Rows and columns of the output per workgroup, [rows, columns], from the constants of shaders/matmul.wgsl. */
const TILE: Record<'tiled' | 'regs' | 'vec4' | 'regs4', [number, number]> = {
  tiled: [WGSL.TILE_M, WGSL.TILE_N],
  regs: [WGSL.REGS_ROWS * WGSL.REGS_WG_Y, WGSL.REGS_COLS * WGSL.REGS_WG_X],
  vec4: [WGSL.REGS_ROWS * WGSL.REGS_WG_Y, WGSL.REGS_COLS * WGSL.REGS_WG_X],
  regs4: [WGSL.REGS4_TILE, WGSL.REGS4_TILE],
};
/** Below this many workgroups of `regs`, its 64x128 tiles are too few to share out: use `regs4`. */
const REGS_MIN_GROUPS = 4;
/**
 * At most this many columns, a `regs` tile (128 wide, 16 threads across) keeps 4 of its threads in a row
 * busy or fewer: use `regs4` (the same sums, to the bit). Measured on SwiftShader, one kernel each: (256, 40)
 * @ (40, 26) 0.77 -> 0.45 ms, (256, 300) @ (300, 10) 1.99 -> 1.06, (1024, 784) @ (784, 8) 13.5 -> 7.0; at 60
 * columns, (256, 800) @ (800, 60), `vec4` is ahead (7.4 against 9.2 ms).
 */
const REGS_THIN = 32;
/** Below this many rows or columns of output, a thread per output beats the tiled kernels (see the WGSL). */
const SMALL = 8;

/**
 * The kernels of shaders/matmul.wgsl: `tiled` stages tiles in workgroup memory (best on GPUs),
 * `regs` blocks 16x8 outputs a thread in registers with no workgroup memory (4-8x faster on SwiftShader,
 * measured in bench/), `vec4` is `regs` with vec4 loads (row-major operands, K and N multiples of 4: where
 * it cannot run, `regs` does, even when forced), `regs4` the same with 4x4 outputs a thread (small
 * products, on SwiftShader),
 * `small` is a thread per output (products with few rows or columns), `small4` a 4x4 block of them a thread
 * (the same products, on SwiftShader, to the bit: the enhanced VAE's function-space term, 64 networks of
 * 4-5-3 on 100 rows, 5.7-6.9 -> 4.5 ms of its training step).
 */
export type MatmulKernel = 'tiled' | 'regs' | 'vec4' | 'regs4' | 'small' | 'small4';
let forced: MatmulKernel | null = null;

/** Forces one kernel (tests, benchmarks); null restores the automatic choice. */
export function useMatmulKernel(k: MatmulKernel | null): void {
  forced = k;
}

/**
 * vec4 loads need op(a) and op(b) row-major (no transpose) and rows of whole vec4s (K, N multiples of 4, and
 * not 0: an empty operand's placeholder buffer is smaller than one vec4).
 */
const vec4Fits = (k: number, n: number, transA: boolean, transB: boolean) =>
  !transA && !transB && k > 0 && n > 0 && k % 4 === 0 && n % 4 === 0;

function chooseKernel(m: number, k: number, n: number, batch: number, transA: boolean, transB: boolean): MatmulKernel {
  const vec4 = vec4Fits(k, n, transA, transB);
  if (forced) return forced === 'vec4' && !vec4 ? 'regs' : forced;
  const cpu = gpu().adapter.fallback;
  if (m < SMALL || n < SMALL) return cpu ? 'small4' : 'small';
  if (!cpu) return 'tiled';
  const groups = Math.ceil(m / TILE.regs[0]) * Math.ceil(n / TILE.regs[1]) * batch;
  if (groups < REGS_MIN_GROUPS || n <= REGS_THIN) return 'regs4';
  return vec4 ? 'vec4' : 'regs';
}

const ENTRY: Record<MatmulKernel, string> = {
  tiled: 'matmul',
  regs: 'matmul_regs',
  vec4: 'matmul_vec4',
  regs4: 'matmul_regs4',
  small: 'matmul_small',
  small4: 'matmul_small4',
};

interface MatmulShape {
  batch: number[]; // the output's leading dims
  m: number;
  k: number;
  n: number;
  aBatched: boolean; // false: a is 2-D and is reused for every batch entry
  bBatched: boolean;
}

/** The shapes of op(a) @ op(b), or an error naming both shapes and what to do. */
function matmulShape(a: Shape, b: Shape, transA: boolean, transB: boolean): MatmulShape {
  const flags = transA || transB ? ` (transA=${transA}, transB=${transB})` : '';
  const what = `matmul${flags} of ${fmtShape(a)} and ${fmtShape(b)}`;
  if (a.length < 2 || b.length < 2) {
    throw new Error(
      `${what}: both operands need at least 2 dims; reshape a vector to (1, K) or (K, 1) first (1-D is not supported)`,
    );
  }
  const [m, ka] = transA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const [kb, n] = transB ? [b.at(-1)!, b.at(-2)!] : [b.at(-2)!, b.at(-1)!];
  if (ka !== kb) {
    throw new Error(
      `${what}: inner dims differ (op(a) is ${m}x${ka}, op(b) is ${kb}x${n}); they must be equal (check the ` +
        'order of the operands and the transpose flags)',
    );
  }
  const ba = a.slice(0, -2);
  const bb = b.slice(0, -2);
  const same = ba.length === bb.length && ba.every((d, i) => d === bb[i]);
  if (!same && ba.length && bb.length) {
    throw new Error(
      `${what}: batch dims ${fmtShape(ba)} and ${fmtShape(bb)} differ; they must be equal, or one operand must ` +
        'be 2-D (it is then used for every batch entry). expand() or reshape the operands to match',
    );
  }
  return { batch: ba.length ? ba : bb, m, k: ka, n, aBatched: ba.length > 0, bBatched: bb.length > 0 };
}

/** op(a) @ op(b). a: (..., M, K) or (..., K, M) when transA; b: (..., K, N) or (..., N, K) when transB. */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  const { out, shape: s } = dispatchMatmul(a, b, transA, transB, null);
  return record(out, 'matmul', [a, b], (dc) => [
    a.requiresGrad ? sumBatch(matmulGradA(b, dc, transA, transB), s.aBatched) : null,
    b.requiresGrad ? sumBatch(matmulGradB(a, dc, transA, transB), s.bBatched) : null,
  ]);
}

/** The activations linear() can fuse, numbered by the ACT_* constants of shaders/matmul.wgsl. */
export const ACTIVATIONS = { none: WGSL.ACT_NONE, relu: WGSL.ACT_RELU, sigmoid: WGSL.ACT_SIGMOID } as const;
export type Activation = keyof typeof ACTIVATIONS;

/**
 * act(x @ w^T + bias) in one dispatch: a linear layer, or a population of them. x: (..., in);
 * w: (out, in), or (G, out, in) with x (G, B, in); bias: (out), or (G, 1, out) with a batched w, or null.
 * Equal to add(matmul(x, w, false, true), bias) and then relu or sigmoid, forward and backward.
 */
export function linear(x: Tensor, w: Tensor, bias: Tensor | null, act: Activation = 'none'): Tensor {
  const { out, shape: s } = dispatchMatmul(x, w, false, true, { bias, act });
  const parents = bias ? [x, w, bias] : [x, w];
  return record(out, `linear_${act}`, parents, (dy) => {
    const dz = act === 'none' ? dy : activationBackward(act, out, dy);
    return [
      x.requiresGrad ? sumBatch(matmulGradA(w, dz, false, true), s.aBatched) : null,
      w.requiresGrad ? sumBatch(matmulGradB(x, dz, false, true), s.bBatched) : null,
      bias?.requiresGrad ? sumToShape(dz, bias.shape) : null,
    ];
  });
}

interface Epilogue {
  bias: Tensor | null;
  act: Activation;
}

/** The bias's stride per batch entry (0: one row for all), or an error naming the shapes. */
function biasStride(bias: Tensor, s: MatmulShape, what: string): number {
  const n = s.n;
  const batch = numel(s.batch);
  if (bias.dtype !== 'f32') throw new Error(`${what}: the bias must be f32, got ${bias.dtype}`);
  if (bias.rank === 1 && bias.shape[0] === n) return 0;
  const perEntry = [...s.batch, 1, n];
  if (
    bias.size === batch * n &&
    bias.shape.length === perEntry.length &&
    bias.shape.every((d, i) => d === perEntry[i])
  ) {
    return n;
  }
  throw new Error(`${what}: bias ${fmtShape(bias.shape)}; expected (${n}) or ${fmtShape(perEntry)}`);
}

function dispatchMatmul(
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  epilogue: Epilogue | null,
): { out: Tensor; shape: MatmulShape } {
  const what = epilogue ? 'linear' : 'matmul';
  for (const x of [a, b]) {
    if (x.dtype !== 'f32') throw new Error(`${what}: expects f32 tensors, got ${x.dtype} ${fmtShape(x.shape)}`);
  }
  const s = matmulShape(a.shape, b.shape, transA, transB);
  const { m, k, n } = s;
  const batch = numel(s.batch);
  const maxGroups = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxGroups) {
    throw new Error(
      `${what} of ${fmtShape(a.shape)} and ${fmtShape(b.shape)}: ${batch} batch entries is above the limit of ` +
        `${maxGroups}; split the batch into chunks`,
    );
  }
  const bias = epilogue?.bias ?? null;
  const biasBatch = bias ? biasStride(bias, s, `${what} of ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`) : 0;
  const out = Tensor.empty([...s.batch, m, n]); // (..., M, N)
  // a is stored (M, K), or (K, M) when transposed; b (K, N), or (N, K).
  const uniforms = {
    m,
    n,
    k,
    a_batch: s.aBatched ? m * k : 0,
    a_row: transA ? 1 : k,
    a_col: transA ? m : 1,
    b_batch: s.bBatched ? k * n : 0,
    b_row: transB ? 1 : n,
    b_col: transB ? k : 1,
    batch,
    bias_batch: biasBatch,
  };
  const constants = { HAS_BIAS: bias ? 1 : 0, ACT: ACTIVATIONS[epilogue?.act ?? 'none'] };
  const kernel = chooseKernel(m, k, n, batch, transA, transB);
  // Without a bias, a stands in for the binding (read-only, never read). matmul_vec4 binds a and b as vec4s.
  const [na, nb] = kernel === 'vec4' ? ['a4', 'b4'] : ['a', 'b'];
  const buffers = { [na]: a.ref, [nb]: b.ref, c: out.ref, bias: (bias ?? a).ref };
  const groups: [number, number, number] =
    kernel === 'small'
      ? groups1d(batch * m * n)
      : kernel === 'small4'
        ? groups1d(batch * Math.ceil(m / 4) * Math.ceil(n / 4))
        : [Math.ceil(n / TILE[kernel][1]), Math.ceil(m / TILE[kernel][0]), batch];
  gpu().dispatch({ shader: 'matmul', entry: ENTRY[kernel], constants }, buffers, uniforms, groups, `matmul_${kernel}`);
  return { out, shape: s };
}

// For c = op_a(a) @ op_b(b), each gradient is one more matmul whose flags do the transposes.
function matmulGradA(b: Tensor, dc: Tensor, transA: boolean, transB: boolean): Tensor {
  // transA false: da = dc @ op_b(b)^T    (M, N) @ (N, K) = (M, K)
  if (!transA) return matmul(dc, b, false, !transB);
  // transA true: da = op_b(b) @ dc^T     (K, N) @ (N, M) = (K, M), the transpose of the above
  return matmul(b, dc, transB, true);
}

function matmulGradB(a: Tensor, dc: Tensor, transA: boolean, transB: boolean): Tensor {
  // transB false: db = op_a(a)^T @ dc    (K, M) @ (M, N) = (K, N)
  if (!transB) return matmul(a, dc, !transA, false);
  // transB true: db = dc^T @ op_a(a)     (N, M) @ (M, K) = (N, K), the transpose of the above
  return matmul(dc, a, true, transA);
}

/** A 2-D operand used for every batch entry gets the sum of its per-entry gradients. */
function sumBatch(g: Tensor, batched: boolean): Tensor {
  if (batched || g.rank === 2) return g;
  // d(shared a) = sum over the batch of d(a used in entry i)
  if (numel(g.shape.slice(0, -2)) === 0) {
    g.dispose();
    return fill(g.shape.slice(-2), 0); // an empty batch
  }
  const s = sum(g, [...Array(g.rank - 2).keys()]);
  g.dispose();
  return s;
}

// ---- float64 CPU reference --------------------------------------------------------------------------

/** op(a) @ op(b) in float64, with the same shape rules (and errors) as matmul. */
export function cpuMatmul(
  a: ArrayLike<number>,
  aShape: Shape,
  b: ArrayLike<number>,
  bShape: Shape,
  transA = false,
  transB = false,
): { data: Float64Array; shape: number[] } {
  const s = matmulShape(aShape, bShape, transA, transB);
  const { m, k, n } = s;
  const batch = numel(s.batch);
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const ao = s.aBatched ? z * m * k : 0;
    const bo = s.bBatched ? z * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let kk = 0; kk < k; kk++) {
          const av = a[ao + (transA ? kk * m + i : i * k + kk)]!;
          const bv = b[bo + (transB ? j * k + kk : kk * n + j)]!;
          acc += av * bv;
        }
        out[(z * m + i) * n + j] = acc;
      }
    }
  }
  return { data: out, shape: [...s.batch, m, n] };
}
