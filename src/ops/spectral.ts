// Spectral norms of the differences of every pair of small matrices on the GPU (shaders/spectral.wgsl: a
// thread per pair, the power method by repeated squaring on the pair's Gram matrix), and the float64 CPU
// reference (Jacobi on the same Gram matrix). Records no backward rule: a distance for analyses, not a loss.
// Not here: which matrices (a network's layers as [W | b]) and how layers add up (src/analysis/spectral.ts).

import { gpu } from '../gpu/index.js';
import { SHADER_CONSTS } from '../gpu/shaders.gen.js';
import { fmtShape, groups1d, Tensor } from '../tensor/index.js';
import { cpuSymEig } from './eigen.js';

/** The largest short side (min(R, C)) a matrix may have: each thread keeps three such square matrices. */
export const SPECTRAL_MAX = SHADER_CONSTS.spectral.MAX_M;

export interface SpectralOptions {
  /** Squaring stops once 1 - tr(b^2) <= tol, b the normalised power (default 1e-6: f32 rounding is ~1e-7). */
  tol?: number;
  /** At most this many squarings, i.e. 2^maxSquarings power steps (default 32). */
  maxSquarings?: number;
}

/**
 * ||A_i - A_j||_2 (the largest singular value) for every pair of the matrices mats (N, R, C): (N, N),
 * symmetric with a zero diagonal. min(R, C) <= SPECTRAL_MAX; f32, about 1e-6 relative.
 */
export function pairwiseSpectralNorms(mats: Tensor, o: SpectralOptions = {}): Tensor {
  if (mats.dtype !== 'f32' || mats.rank !== 3) {
    throw new Error(`pairwiseSpectralNorms: expects f32 matrices (N, R, C), got ${mats.dtype} ${fmtShape(mats.shape)}`);
  }
  const [n, rows, cols] = mats.shape as [number, number, number];
  if (Math.min(rows, cols) > SPECTRAL_MAX || rows < 1 || cols < 1) {
    throw new Error(
      `pairwiseSpectralNorms: matrices of ${fmtShape(mats.shape)} are ${rows} x ${cols}; the kernel takes a ` +
        `short side of 1 to ${SPECTRAL_MAX} (the long side is free): transpose them or split the comparison`,
    );
  }
  if (n * n >= 2 ** 31) throw new Error(`pairwiseSpectralNorms: ${n} matrices make ${n} x ${n} pairs, too many`);
  const tol = o.tol ?? 1e-6;
  const maxSquarings = o.maxSquarings ?? 32;
  if (!(tol >= 0) || !Number.isInteger(maxSquarings) || maxSquarings < 0) {
    throw new Error(`pairwiseSpectralNorms: tol ${tol} must be >= 0 and maxSquarings ${maxSquarings} an integer >= 0`);
  }
  const out = Tensor.empty([n, n]);
  if (n === 0) return out;
  gpu().dispatch(
    { shader: 'spectral', entry: 'pair_norms' },
    { mats: mats.ref, norms: out.ref },
    { n, rows, cols, max_squarings: maxSquarings, tol },
    groups1d(n * n),
    'spectral_pair_norms',
  );
  return out;
}

// ---- float64 CPU reference --------------------------------------------------------------------------

/** ||d||_2 of the matrix d (rows, cols), row-major: the square root of the Gram matrix's top eigenvalue. */
export function cpuSpectralNorm(d: ArrayLike<number>, rows: number, cols: number): number {
  const s = Math.min(rows, cols);
  const at = (a: number, k: number) => (rows <= cols ? d[a * cols + k]! : d[k * cols + a]!);
  const g = new Float64Array(s * s);
  for (let a = 0; a < s; a++) {
    for (let b = 0; b < s; b++) {
      let acc = 0;
      for (let k = 0; k < Math.max(rows, cols); k++) acc += at(a, k) * at(b, k);
      g[a * s + b] = acc;
    }
  }
  return Math.sqrt(Math.max(cpuSymEig(g, s).values[0]!, 0));
}

/** The (n, n) matrix of ||A_i - A_j||_2 for mats (n, rows, cols), flat row-major. */
export function cpuPairwiseSpectralNorms(mats: ArrayLike<number>, n: number, rows: number, cols: number): Float64Array {
  const size = rows * cols;
  const out = new Float64Array(n * n);
  const d = new Float64Array(size);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      for (let e = 0; e < size; e++) d[e] = mats[i * size + e]! - mats[j * size + e]!;
      out[i * n + j] = out[j * n + i] = cpuSpectralNorm(d, rows, cols);
    }
  }
  return out;
}
