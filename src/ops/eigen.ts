// Eigenpairs of small symmetric matrices on the GPU, B at a time, by cyclic Jacobi rotations
// (shaders/eigen.wgsl), and the small-matrix steps that subspace iteration builds on them: orthonormalising a
// block of vectors (Lowdin) and fixing the sign of eigenvectors; the float64 CPU reference (cyclic Jacobi,
// row by row). Nothing here records a backward rule: these are analysis tools, not layers.
// Not here: the solver for large matrices (subspace iteration, src/analysis/pca.ts), which calls these.

import { gpu } from '../gpu/index.js';
import { SHADER_CONSTS } from '../gpu/shaders.gen.js';
import { fmtShape, groups1d, noGrad, numel, Tensor } from '../tensor/index.js';
import { matmul } from './matmul.js';

/** The largest matrix `symEig` takes (its workgroup holds one rotation per pair of rows). */
export const JACOBI_MAX = SHADER_CONSTS.eigen.MAX_M;

export interface SymEigOptions {
  /** A pair (p, q) is rotated while |a_pq| > tol sqrt(|a_pp a_qq|) (a few f32 ulps by default). */
  tol?: number;
  /** ... and |a_pq| > floor ||a||_F: entries this small are rounding noise at the scale of the matrix. */
  floor?: number;
  /** At most this many sweeps; `sweeps` says -1 for a matrix that needed more. */
  maxSweeps?: number;
}

export interface SymEig {
  values: Tensor; // (..., m) descending
  vectors: Tensor; // (..., m, m) unit eigenvectors as columns, in the order of `values`
  sweeps: Tensor; // (...) i32: sweeps made, -1 where maxSweeps ran out first
}

const DEFAULTS = { tol: 3e-7, floor: 1e-9, maxSweeps: 40 };

/** Uniforms of shaders/eigen.wgsl with every field named (the unused ones zero). */
function uniforms(u: Partial<Record<'batch' | 'm' | 'max_sweeps' | 'tol' | 'floor' | 'cut' | 'rows' | 'len', number>>) {
  return { batch: 0, m: 0, max_sweeps: 0, tol: 0, floor: 0, cut: 0, rows: 0, len: 0, ...u };
}

function square(op: string, a: Tensor): { batch: number[]; m: number } {
  const m = a.shape.at(-1)!;
  if (a.dtype !== 'f32' || a.rank < 2 || a.shape.at(-2) !== m) {
    throw new Error(`${op}: expects f32 square matrices (..., m, m), got ${a.dtype} ${fmtShape(a.shape)}`);
  }
  return { batch: a.shape.slice(0, -2), m };
}

/**
 * Eigenvalues (descending) and unit eigenvectors of the symmetric matrices a (..., m, m), m <= JACOBI_MAX.
 * a is symmetrised first ((a + a^T) / 2), so rounding in a matmul that made it does not matter. One
 * workgroup per matrix: meant for small matrices (a sweep costs about 3 m^3 multiply-adds).
 */
export function symEig(a: Tensor, o: SymEigOptions = {}): SymEig {
  const { batch, m } = square('symEig', a);
  if (m > JACOBI_MAX || m < 1) {
    throw new Error(
      `symEig: matrices of ${fmtShape(a.shape)} are ${m} x ${m}; the Jacobi kernel takes 1 to ${JACOBI_MAX} ` +
        '(for larger ones use topEigenpairs in src/analysis/pca.ts, which iterates on a few vectors)',
    );
  }
  const B = numel(batch);
  const { tol, floor, maxSweeps } = { ...DEFAULTS, ...o };
  const work = Tensor.empty([B, m, m]);
  const v = Tensor.empty([B, m, m]);
  const values = Tensor.empty([...batch, m]);
  const vectors = Tensor.empty([...batch, m, m]);
  const sweeps = Tensor.empty(batch, 'i32');
  gpu().dispatch(
    { shader: 'eigen', entry: 'jacobi' },
    { a: a.ref, work: work.ref, v: v.ref, values: values.ref, vectors: vectors.ref, sweeps: sweeps.ref },
    uniforms({ batch: B, m, max_sweeps: maxSweeps, tol, floor }),
    groups1d(B, 1),
    'jacobi',
  );
  work.dispose();
  v.dispose();
  return { values, vectors, sweeps };
}

/**
 * q with orthonormal columns spanning the columns of z (..., n, p), p <= JACOBI_MAX: z's columns scaled to
 * unit length, then Lowdin's symmetric orthonormalisation (q = z D (D z^T z D)^(-1/2)), which moves nearly
 * orthogonal columns the least. Directions whose eigenvalue of D z^T z D is below `cut` (dependent or zero
 * columns) are dropped: q then has fewer than p independent columns (the others are combinations of them).
 */
export function orthonormalize(z: Tensor, cut = 1e-5): Tensor {
  if (z.dtype !== 'f32' || z.rank < 2)
    throw new Error(`orthonormalize: expects f32 (..., n, p), got ${fmtShape(z.shape)}`);
  return noGrad(() => {
    const g = matmul(z, z, true, false); // (..., p, p)
    const mixing = lowdinMix(g, cut);
    const q = matmul(z, mixing);
    g.dispose();
    mixing.dispose();
    return q;
  });
}

/** D U f(L) U^T for the Gram matrices g (..., p, p): see shaders/eigen.wgsl, `lowdin`. */
export function lowdinMix(g: Tensor, cut: number): Tensor {
  const { batch, m } = square('lowdinMix', g);
  const B = numel(batch);
  const n = B * m * m;
  const u = uniforms({ batch: B, m, cut });
  const unit = Tensor.empty(g.shape);
  gpu().dispatch(
    { shader: 'eigen', entry: 'unit_diagonal' },
    { g: g.ref, mixing: unit.ref },
    u,
    groups1d(n),
    'unit_diagonal',
  );
  const { values, vectors, sweeps } = symEig(unit);
  const mixing = Tensor.empty(g.shape);
  gpu().dispatch(
    { shader: 'eigen', entry: 'lowdin' },
    { g: g.ref, evec: vectors.ref, evals: values.ref, mixing: mixing.ref },
    u,
    groups1d(n),
    'lowdin',
  );
  for (const t of [unit, values, vectors, sweeps]) t.dispose();
  return mixing;
}

/**
 * Negates, in place, each row of x (..., len) whose entry of largest magnitude (the first on ties) is
 * negative: an eigenvector's sign is arbitrary, and this makes it the same whatever solver found it.
 */
export function orientRows(x: Tensor): void {
  if (x.dtype !== 'f32' || x.rank < 1)
    throw new Error(`orientRows: expects f32 rows (..., len), got ${fmtShape(x.shape)}`);
  const len = x.shape.at(-1)!;
  const rows = len ? x.size / len : 0;
  gpu().dispatch(
    { shader: 'eigen', entry: 'orient' },
    { rowvecs: x.ref },
    uniforms({ rows, len }),
    groups1d(rows),
    'orient',
  );
}

// ---- float64 CPU reference --------------------------------------------------------------------------

/**
 * Eigenvalues (descending) and eigenvectors (columns, row-major m x m) of the symmetric m x m matrix a, by
 * cyclic Jacobi in float64, pair after pair in row order, until the off-diagonal is 1e-15 of the norm.
 */
export function cpuSymEig(a: ArrayLike<number>, m: number): { values: Float64Array; vectors: Float64Array } {
  const w = Float64Array.from({ length: m * m }, (_, e) => 0.5 * (a[e]! + a[(e % m) * m + Math.floor(e / m)]!));
  const v = Float64Array.from({ length: m * m }, (_, e) => (e % (m + 1) === 0 ? 1 : 0));
  const norm = Math.sqrt(w.reduce((s, x) => s + x * x, 0));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (i !== j) off += w[i * m + j]! ** 2;
    if (Math.sqrt(off) <= 1e-15 * norm) break;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) cpuRotate(w, v, m, p, q);
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => w[j * m + j]! - w[i * m + i]! || i - j);
  const values = Float64Array.from(order, (i) => w[i * m + i]!);
  const vectors = new Float64Array(m * m);
  order.forEach((col, k) => {
    for (let r = 0; r < m; r++) vectors[r * m + k] = v[r * m + col]!;
  });
  return { values, vectors };
}

/** One Jacobi rotation zeroing w[p, q]: w <- J^T w J, v <- v J. */
function cpuRotate(w: Float64Array, v: Float64Array, m: number, p: number, q: number): void {
  const apq = w[p * m + q]!;
  if (apq === 0) return;
  const theta = (w[q * m + q]! - w[p * m + p]!) / (2 * apq);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < m; k++) {
    const [wp, wq] = [w[p * m + k]!, w[q * m + k]!];
    w[p * m + k] = c * wp - s * wq;
    w[q * m + k] = s * wp + c * wq;
  }
  for (let k = 0; k < m; k++) {
    const [wp, wq] = [w[k * m + p]!, w[k * m + q]!];
    w[k * m + p] = c * wp - s * wq;
    w[k * m + q] = s * wp + c * wq;
    const [vp, vq] = [v[k * m + p]!, v[k * m + q]!];
    v[k * m + p] = c * vp - s * vq;
    v[k * m + q] = s * vp + c * vq;
  }
}
