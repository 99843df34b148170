// Where networks sit in a VAE's latent space, in two dimensions: each network's encoder mean (the VAE's own
// encoder, on the GPU, batch norm in evaluation mode), projected on the two principal axes of the zoo the VAE
// was trained on. The projection is a plain float64 PCA of at most 32 dimensions on the CPU (Jacobi
// rotations), small enough to read here; it is fitted on the zoo and applied to every set unchanged, so a
// new sample lands in the same picture.
//
// Not here: drawing the points (scatter.ts), training (pipeline.ts).

import type { Module } from '../../src/nn/index.js';
import { noGrad, scope, type Tensor, tensor } from '../../src/tensor/index.js';

/** A trained VAE of either kind, as far as encoding needs it. */
export interface Encodable {
  vae: Module & { encode(x: Tensor): { mu: Tensor }; latent: number };
  scaler: { scale(v: ArrayLike<number>): Float32Array };
}

/** The encoder means of n networks given as weight vectors (n, dim): (n, latent). */
export async function encodeMeans(t: Encodable, vectors: Float32Array, dim: number): Promise<Float32Array> {
  const n = vectors.length / dim;
  if (!Number.isInteger(n) || n < 1) throw new Error(`encodeMeans: ${vectors.length} values are not rows of ${dim}`);
  const mu = noGrad(() => scope(() => t.vae.eval().encode(tensor(t.scaler.scale(vectors), [n, dim])).mu));
  try {
    return (await mu.data()) as Float32Array;
  } finally {
    mu.dispose();
  }
}

/** Two principal axes of some rows, and the share of the variance each explains. */
export interface Projection {
  mean: Float64Array; // (d)
  axes: [Float64Array, Float64Array]; // unit vectors (d)
  explained: [number, number]; // fractions of the total variance
}

/** The top two principal axes of rows (n, d), signs fixed so each axis's largest component is positive. */
export function fitProjection(rows: ArrayLike<number>, d: number): Projection {
  const n = rows.length / d;
  if (!Number.isInteger(n) || n < 2) throw new Error(`fitProjection: needs 2 or more rows of ${d}, got ${rows.length}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < rows.length; i++) mean[i % d]! += rows[i]! / n;
  const cov = new Float64Array(d * d); // (d, d), unbiased
  for (let r = 0; r < n; r++) {
    for (let a = 0; a < d; a++) {
      const da = rows[r * d + a]! - mean[a]!;
      for (let b = 0; b < d; b++) cov[a * d + b]! += (da * (rows[r * d + b]! - mean[b]!)) / (n - 1);
    }
  }
  const { values, vectors } = symmetricEigen(cov, d);
  const order = Array.from({ length: d }, (_, i) => i).sort((x, y) => values[y]! - values[x]!);
  const total = values.reduce((s, v) => s + Math.max(v, 0), 0) || 1;
  const axis = (k: number) => {
    const v = Float64Array.from({ length: d }, (_, i) => vectors[i * d + order[k]!]!);
    const big = v.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
    return big < 0 ? v.map((x) => -x) : v;
  };
  const share = (k: number) => Math.max(values[order[k]!]!, 0) / total;
  return { mean, axes: [axis(0), axis(1)], explained: [share(0), share(1)] };
}

/** Rows (n, d) on the projection's two axes: (n, 2) as [x0, y0, x1, y1, ...]. */
export function project(p: Projection, rows: ArrayLike<number>): Float32Array {
  const d = p.mean.length;
  const n = rows.length / d;
  const out = new Float32Array(2 * n);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < 2; k++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += (rows[r * d + i]! - p.mean[i]!) * p.axes[k]![i]!;
      out[2 * r + k] = s;
    }
  }
  return out;
}

/**
 * Eigenvalues and eigenvectors of a symmetric (d, d) matrix by cyclic Jacobi rotations: each rotation zeroes
 * one off-diagonal pair; sweeps repeat until the off-diagonal part is negligible. vectors: (d, d), column k
 * the eigenvector of values[k].
 */
export function symmetricEigen(m: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  const scale = a.reduce((s, x) => s + x * x, 0);
  for (let sweep = 0; sweep < 64; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q]! ** 2;
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        // the angle that zeroes a[p][q]: t = tan(theta), the smaller root of t^2 + 2 t cot(2 theta) - 1 = 0
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const [kp, kq] = [a[k * d + p]!, a[k * d + q]!]; // columns p, q
          a[k * d + p] = c * kp - s * kq;
          a[k * d + q] = s * kp + c * kq;
        }
        for (let k = 0; k < d; k++) {
          const [pk, qk] = [a[p * d + k]!, a[q * d + k]!]; // rows p, q
          a[p * d + k] = c * pk - s * qk;
          a[q * d + k] = s * pk + c * qk;
        }
        for (let k = 0; k < d; k++) {
          const [kp, kq] = [v[k * d + p]!, v[k * d + q]!];
          v[k * d + p] = c * kp - s * kq;
          v[k * d + q] = s * kp + c * kq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => a[i * d + i]!), vectors: v };
}
