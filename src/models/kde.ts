// A multivariate Gaussian kernel density estimate, as scipy.stats.gaussian_kde defines it, for sampling:
// the kernel's covariance is factor^2 times the data's covariance (unbiased, ddof 1), the factor Scott's
// rule n^(-1/(d+4)) unless set, and a draw is a data point chosen uniformly plus N(0, kernel covariance).
// The hyper-representations paper's code drew each dimension from its own 1-D KDE with one random seed for
// all, which returns jittered copies of training points (docs: PAPERS.md section 3); this is the decision.
//
// float64 on the CPU: d is the weights of a network (Iris's M2: 43; another dataset's: h(d+1) + k(h+1)) or
// a latent space's dimensions, a few hundred at most in practice (a Jacobi sweep is O(d^3)). The kernel's
// square root comes from the eigendecomposition (Jacobi), not Cholesky, so a singular covariance (fewer points than dimensions, or a
// constant dimension) still samples, with no spread along the directions the data do not span.
//
// Not here: density evaluation (nothing here needs it), weighted data.

import type { Rng } from '../tensor/index.js';

/** Scott's rule: n^(-1/(d+4)), scipy's gaussian_kde default factor. */
export function scottFactor(n: number, d: number): number {
  return n ** (-1 / (d + 4));
}

/** Column means and the unbiased (ddof 1) covariance (d, d) of data (n, d) row-major, in float64. */
export function dataCovariance(data: ArrayLike<number>, d: number): { mean: Float64Array; cov: Float64Array } {
  const n = data.length / d;
  if (!Number.isInteger(n) || n < 2) {
    throw new Error(`dataCovariance: ${data.length} values are not 2 or more rows of ${d}; a covariance needs 2 rows`);
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n * d; i++) mean[i % d]! += data[i]! / n;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < n; r++) {
    for (let a = 0; a < d; a++) {
      const da = data[r * d + a]! - mean[a]!;
      for (let b = a; b < d; b++) cov[a * d + b]! += (da * (data[r * d + b]! - mean[b]!)) / (n - 1);
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a]!;
  return { mean, cov };
}

/**
 * Eigenvalues and eigenvectors of a symmetric (d, d) matrix by cyclic Jacobi rotations, in float64.
 * vectors (d, d) holds one eigenvector a column: a = V diag(values) V^T.
 */
export function symmetricEigen(a: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += A[i]! ** 2;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += A[p * d + q]! ** 2;
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) rotate(A, V, d, p, q);
  }
  return { values: Float64Array.from({ length: d }, (_, i) => A[i * d + i]!), vectors: V };
}

/** One Jacobi rotation in the (p, q) plane that zeroes A[p][q]; accumulates it into V. */
function rotate(A: Float64Array, V: Float64Array, d: number, p: number, q: number): void {
  const apq = A[p * d + q]!;
  if (apq === 0) return;
  const theta = (A[q * d + q]! - A[p * d + p]!) / (2 * apq);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < d; k++) {
    // columns p and q, then rows p and q: A <- J^T A J
    const akp = A[k * d + p]!;
    const akq = A[k * d + q]!;
    A[k * d + p] = c * akp - s * akq;
    A[k * d + q] = s * akp + c * akq;
  }
  for (let k = 0; k < d; k++) {
    const apk = A[p * d + k]!;
    const aqk = A[q * d + k]!;
    A[p * d + k] = c * apk - s * aqk;
    A[q * d + k] = s * apk + c * aqk;
  }
  for (let k = 0; k < d; k++) {
    const vkp = V[k * d + p]!;
    const vkq = V[k * d + q]!;
    V[k * d + p] = c * vkp - s * vkq;
    V[k * d + q] = s * vkp + c * vkq;
  }
}

/** n standard normal numbers on the CPU (Box-Muller on two uniform streams of rng). */
export function normalCpu(rng: Rng, n: number): Float64Array {
  const u1 = rng.uniformCpu(n);
  const u2 = rng.uniformCpu(n);
  return Float64Array.from(u1, (u, i) => Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * u2[i]!));
}

export class GaussianKde {
  readonly n: number;
  /** The bandwidth factor: Scott's n^(-1/(d+4)) unless given. */
  readonly factor: number;
  /** The kernel's covariance (d, d): factor^2 times the data's (ddof 1), as scipy's kde.covariance. */
  readonly covariance: Float64Array;
  private readonly points: Float64Array;
  private readonly root: Float64Array; // (d, d): root root^T = covariance

  /** data: (n, d) row-major, n >= 2. factor: the bandwidth factor (default Scott's rule). */
  constructor(
    data: ArrayLike<number>,
    readonly d: number,
    factor?: number,
  ) {
    this.n = data.length / d;
    if (factor !== undefined && !(Number.isFinite(factor) && factor > 0)) {
      throw new Error(`GaussianKde: bandwidth factor ${factor} must be a finite number > 0`);
    }
    const { cov } = dataCovariance(data, d); // checks n >= 2
    this.factor = factor ?? scottFactor(this.n, d);
    this.covariance = cov.map((c) => c * this.factor ** 2);
    this.points = Float64Array.from(data);
    const { values, vectors } = symmetricEigen(this.covariance, d);
    // V sqrt(max(lambda, 0)): rounding can leave a zero eigenvalue slightly negative
    this.root = vectors.map((v, i) => v * Math.sqrt(Math.max(0, values[i % d]!)));
  }

  /** count draws (count, d): a data point chosen uniformly, plus N(0, covariance). */
  sample(count: number, rng: Rng): Float64Array {
    const { d } = this;
    const pick = rng.uniformCpu(count);
    const eps = normalCpu(rng, count * d);
    const out = new Float64Array(count * d);
    for (let s = 0; s < count; s++) {
      const at = Math.min(this.n - 1, Math.floor(pick[s]! * this.n)) * d;
      for (let a = 0; a < d; a++) {
        let v = this.points[at + a]!;
        for (let b = 0; b < d; b++) v += this.root[a * d + b]! * eps[s * d + b]!;
        out[s * d + a] = v;
      }
    }
    return out;
  }
}
