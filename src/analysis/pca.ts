// Principal component analysis on the GPU, of B data sets at once: mean-centring, the covariance (d x d) or,
// with fewer samples than dimensions, the Gram matrix (n x n) by matmul, its top k eigenpairs, explained
// variance and projections. The eigenpairs (topEigenpairs) come from the batched Jacobi kernel
// (ops/eigen.ts) for matrices up to DIRECT_MAX, and beyond it from subspace iteration: a block of p = k +
// oversampling vectors is multiplied by the matrix, Rayleigh-Ritz on the p x p projection (Jacobi) orders it,
// and Lowdin re-orthonormalises it, until the top k residuals are small.
// Not here: which weights to analyse, and the scatter figures (the analyze command, figures-scatter.ts).

import { orientRows, orthonormalize, symEig } from '../ops/eigen.js';
import { add, div, matmul, mean, mul, reshape, slice, sqrt, square, sub, sum, transpose } from '../ops/index.js';
import { fmtShape, noGrad, numel, Rng, scope, scopeAsync, type Tensor } from '../tensor/index.js';

/** Matrices up to this size are diagonalised whole by Jacobi (on SwiftShader here: 64 took ~70 ms, 128 about 2 s). */
export const DIRECT_MAX = 64;
/** The most vectors subspace iteration carries (the Ritz problems stay small for Jacobi). */
const BLOCK_MAX = 64;
/** The largest covariance or Gram matrix pca() forms: 4096^2 floats are 64 MiB. */
const MATRIX_MAX = 4096;

export interface EigOptions {
  /** Stop once every top-k residual |A v - theta v| is at most tol * theta_1 (default 1e-5; f32 floors it near 1e-6). */
  tol?: number;
  /** Subspace iterations at most (default 2000); the result says whether tol was reached. */
  maxIterations?: number;
  /** Residuals are read back (a GPU sync) every this many iterations (default 10). */
  checkEvery?: number;
  /** Vectors beyond k in the block (default max(k, 10)): convergence goes as (theta_{p+1} / theta_k)^iterations. */
  oversample?: number;
  /** Seed of the random start block (default 1). */
  seed?: number;
}

export interface TopEig {
  values: Tensor; // (..., k) descending
  vectors: Tensor; // (..., m, k) unit columns
  /** Subspace iterations made (0: Jacobi on the whole matrix). */
  iterations: number;
  /** The largest |A v - theta v| / |theta_1| over the top k pairs of every matrix. */
  residual: number;
  converged: boolean;
}

/**
 * The k largest eigenvalues and their eigenvectors of the symmetric positive semi-definite matrices
 * a (..., m, m) (covariance and Gram matrices; subspace iteration finds the largest in magnitude).
 */
export async function topEigenpairs(a: Tensor, k: number, o: EigOptions = {}): Promise<TopEig> {
  const m = a.shape.at(-1)!;
  if (a.dtype !== 'f32' || a.rank < 2 || a.shape.at(-2) !== m) {
    throw new Error(`topEigenpairs: expects f32 square matrices (..., m, m), got ${a.dtype} ${fmtShape(a.shape)}`);
  }
  if (!Number.isInteger(k) || k < 1 || k > Math.min(m, BLOCK_MAX)) {
    throw new Error(
      `topEigenpairs: k = ${k} for ${m} x ${m} matrices; it must be an integer in 1..${Math.min(m, BLOCK_MAX)}`,
    );
  }
  const batch = a.shape.slice(0, -2);
  const B = numel(batch);
  const a3 = a.view([B, m, m]);
  const out = m <= DIRECT_MAX ? await direct(a3, k) : await subspace(a3, k, o);
  a3.dispose();
  const values = out.values.view([...batch, k]);
  const vectors = out.vectors.view([...batch, m, k]);
  out.values.dispose();
  out.vectors.dispose();
  return { ...out, values, vectors };
}

/** Jacobi on the whole of a (B, m, m). */
async function direct(a: Tensor, k: number): Promise<TopEig> {
  const [B, m] = a.shape as [number, number];
  const r = symEig(a);
  const values = slice(r.values, [0, 0], [B, k]);
  const vectors = slice(r.vectors, [0, 0, 0], [B, m, k]);
  const sweeps = await r.sweeps.data();
  for (const t of [r.values, r.vectors, r.sweeps]) t.dispose();
  const residual = await scopeAsync(() => residualOf(matmul(a, vectors), vectors, values, k));
  return { values, vectors, iterations: 0, residual, converged: sweeps.every((s) => s >= 0) };
}

/** Subspace iteration with Rayleigh-Ritz on a (B, m, m), m > the block. */
async function subspace(a: Tensor, k: number, o: EigOptions): Promise<TopEig> {
  const [B, m] = a.shape as [number, number];
  const tol = o.tol ?? 1e-5;
  const maxIterations = o.maxIterations ?? 2000;
  const checkEvery = o.checkEvery ?? 10;
  const p = Math.min(m, k + (o.oversample ?? Math.max(k, 10)), BLOCK_MAX);
  const rng = new Rng(o.seed ?? 1);
  let q = noGrad(() => scope(() => orthonormalize(rng.normal([B, m, p])))); // (B, m, p) orthonormal columns
  for (let it = 1; ; it++) {
    // y = A q; the Ritz pairs (theta, q w) of A on span(q); y w = A (q w)
    const { y, theta, w } = noGrad(() =>
      scope(() => {
        const y = matmul(a, q); // (B, m, p)
        const r = symEig(matmul(q, y, true, false)); // of (B, p, p)
        return { y, theta: r.values, w: r.vectors };
      }),
    );
    if (it % checkEvery === 0 || it >= maxIterations) {
      const ritz = noGrad(() => matmul(q, w)); // (B, m, p)
      const residual = await scopeAsync(async () => residualOf(matmul(y, w), ritz, theta, k));
      if (residual <= tol || it >= maxIterations) {
        const values = slice(theta, [0, 0], [B, k]);
        const vectors = slice(ritz, [0, 0, 0], [B, m, k]);
        for (const t of [q, y, theta, w, ritz]) t.dispose();
        return { values, vectors, iterations: it, residual, converged: residual <= tol };
      }
      ritz.dispose();
    }
    const next = noGrad(() => scope(() => orthonormalize(matmul(y, w)))); // A times the Ritz vectors
    for (const t of [q, y, theta, w]) t.dispose();
    q = next;
  }
}

/** max over matrices and the first k columns of |av - v theta| / |theta_1|; av, v (B, m, p), theta (B, p). */
async function residualOf(av: Tensor, v: Tensor, theta: Tensor, k: number): Promise<number> {
  const [B, , p] = v.shape as [number, number, number];
  const r2 = noGrad(() => sum(square(sub(av, mul(v, reshape(theta, [B, 1, p])))), 1)); // (B, p)
  const [norms, th] = [await r2.data(), await theta.data()];
  let worst = 0;
  for (let b = 0; b < B; b++) {
    const scale = Math.abs(th[b * p]!);
    for (let i = 0; i < k; i++) worst = Math.max(worst, scale > 0 ? Math.sqrt(norms[b * p + i]!) / scale : 0);
  }
  return worst;
}

// ---- PCA ----------------------------------------------------------------------------------------------

export type PcaMethod = 'auto' | 'covariance' | 'gram';

export interface PcaOptions extends EigOptions {
  /** Components to find. */
  k: number;
  /** 'auto' (default): the Gram matrix when there are fewer samples than dimensions, else the covariance. */
  method?: PcaMethod;
}

export interface Pca {
  mean: Tensor; // (..., d)
  components: Tensor; // (..., k, d) unit rows, each with its entry of largest magnitude positive
  variance: Tensor; // (..., k) the variance along each component: eigenvalues of the covariance (n - 1)
  explained: Tensor; // (..., k) each variance as a fraction of the total
  total: Tensor; // (...) the total variance: the trace of the covariance
  projections: Tensor; // (..., n, k) the centred samples in the components' coordinates
  method: 'covariance' | 'gram';
  solver: { iterations: number; residual: number; converged: boolean };
}

/** PCA of the n samples (rows) of x (..., n, d), every leading index its own data set. */
export async function pca(x: Tensor, o: PcaOptions): Promise<Pca> {
  const [n, d] = x.shape.slice(-2) as [number, number];
  if (x.dtype !== 'f32' || x.rank < 2 || n < 2) {
    throw new Error(`pca: expects f32 samples as rows (..., n, d) with n >= 2, got ${x.dtype} ${fmtShape(x.shape)}`);
  }
  const method = o.method === 'covariance' || o.method === 'gram' ? o.method : n < d ? 'gram' : 'covariance';
  const m = method === 'gram' ? n : d;
  if (m > MATRIX_MAX) {
    throw new Error(
      `pca of ${fmtShape(x.shape)}: its ${method} matrix would be ${m} x ${m}, above ${MATRIX_MAX} x ${MATRIX_MAX}; ` +
        `take fewer samples or fewer dimensions (the Gram matrix is n x n, the covariance d x d)`,
    );
  }
  if (!Number.isInteger(o.k) || o.k < 1 || o.k > Math.min(n, d, BLOCK_MAX)) {
    throw new Error(
      `pca of ${fmtShape(x.shape)}: k = ${o.k}; it must be an integer in 1..${Math.min(n, d, BLOCK_MAX)}`,
    );
  }
  const batch = x.shape.slice(0, -2);
  const B = numel(batch);
  const k = o.k;
  const { xc, mu, a } = noGrad(() =>
    scope(() => {
      const xb = reshape(x, [B, n, d]);
      const mu = mean(xb, 1, true); // (B, 1, d)
      const xc = sub(xb, mu); // (B, n, d)
      const a = mul(method === 'gram' ? matmul(xc, xc, false, true) : matmul(xc, xc, true, false), 1 / (n - 1));
      return { xc, mu, a };
    }),
  );
  const eig = await topEigenpairs(a, k, o);
  a.dispose();
  const out = noGrad(() => scope(() => finish(xc, eig, method)));
  const solver = { iterations: eig.iterations, residual: eig.residual, converged: eig.converged };
  const total = out.total.view(batch);
  const result: Pca = {
    mean: mu.view([...batch, d]),
    components: out.components.view([...batch, k, d]),
    variance: eig.values.view([...batch, k]),
    explained: out.explained.view([...batch, k]),
    total,
    projections: out.projections.view([...batch, n, k]),
    method,
    solver,
  };
  for (const t of [xc, mu, eig.values, eig.vectors, out.components, out.explained, out.total, out.projections])
    t.dispose();
  return result;
}

/** Components, projections and variances from the centred data xc (B, n, d) and the top eigenpairs. */
function finish(xc: Tensor, eig: TopEig, method: 'covariance' | 'gram') {
  const [B, n] = xc.shape as [number, number, number];
  // covariance: the eigenvectors are the components; Gram (u of Xc Xc^T): component = Xc^T u, normalised
  const raw = method === 'covariance' ? transpose(eig.vectors, 1, 2) : matmul(eig.vectors, xc, true, false); // (B, k, d)
  const components = div(raw, add(sqrt(sum(square(raw), -1, true)), 1e-30));
  orientRows(components);
  const projections = matmul(xc, components, false, true); // (B, n, k)
  const total = mul(sum(square(xc), [1, 2]), 1 / (n - 1)); // (B)
  const explained = div(eig.values, reshape(total, [B, 1]));
  return { components, projections, total, explained };
}

/** The values of a Pca, read back: flat row-major arrays in the shapes of its tensors. */
export interface PcaData {
  mean: Float32Array;
  components: Float32Array;
  variance: Float32Array;
  explained: Float32Array;
  total: Float32Array;
  projections: Float32Array;
}

/** Reads a Pca back (its tensors stay alive: disposeAll(result) frees them). */
export async function readPca(r: Pca): Promise<PcaData> {
  const read = async (t: Tensor) => (await t.data()) as Float32Array;
  return {
    mean: await read(r.mean),
    components: await read(r.components),
    variance: await read(r.variance),
    explained: await read(r.explained),
    total: await read(r.total),
    projections: await read(r.projections),
  };
}
