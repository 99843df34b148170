// The batched Jacobi eigen-solver and its helpers (ops/eigen.ts): eigenpairs of random symmetric matrices
// against the float64 reference and against ml-matrix's EVD (an independent, well-kept implementation),
// at odd and even sizes up to the kernel's limit, batched; semi-definite matrices of low rank, repeated
// eigenvalues; Lowdin orthonormalisation (with dependent columns); the sign convention; the errors.

import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuSymEig, JACOBI_MAX, orientRows, orthonormalize, symEig } from '../src/ops/eigen.js';
import { cpuMatmul } from '../src/ops/matmul.js';
import { scope, tensor } from '../src/tensor/index.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

/** B random symmetric m x m matrices (f32 values), entries in [-1, 1]. */
function randomSymmetric(seed: number, B: number, m: number): Float64Array {
  const r = cpuRng(seed).uniform(B * m * m, -1, 1);
  const out = new Float64Array(B * m * m);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) out[(b * m + i) * m + j] = r[(b * m + Math.min(i, j)) * m + Math.max(i, j)]!;
  }
  return Float64Array.from(Float32Array.from(out));
}

async function gpuEig(a: Float64Array, B: number, m: number) {
  const r = scope(() => symEig(tensor(a, [B, m, m])));
  const out = { values: await r.values.data(), vectors: await r.vectors.data(), sweeps: await r.sweeps.data() };
  for (const t of [r.values, r.vectors, r.sweeps]) t.dispose();
  return out;
}

/** The smallest gap between an eigenvalue and its neighbours, per position. */
function gaps(values: ArrayLike<number>): number[] {
  return Array.from(values, (x, i) =>
    Math.min(i > 0 ? values[i - 1]! - x : Infinity, i + 1 < values.length ? x - values[i + 1]! : Infinity),
  );
}

/** Column j of an m x m row-major matrix. */
const column = (v: ArrayLike<number>, m: number, j: number, at = 0) =>
  Array.from({ length: m }, (_, r) => v[at + r * m + j]!);
const dot = (x: number[], y: number[]) => x.reduce((s, xi, i) => s + xi * y[i]!, 0);

/**
 * The sine of the angle between the lines of x and of the unit vector y, as |x - (x.y) y| / |x| (not
 * sqrt(1 - cos^2), which turns an f32 rounding of |x| by 1e-7 into a sine of 4e-4).
 */
function sine(x: number[], y: number[]): number {
  const c = dot(x, y);
  return Math.sqrt(x.reduce((s, xi, i) => s + (xi - c * y[i]!) ** 2, 0) / dot(x, x));
}

describe('symEig', () => {
  it('matches the float64 reference and ml-matrix on random symmetric matrices, batched', async () => {
    for (const m of [1, 2, 5, 8, 33, 64]) {
      const B = 3;
      const a = randomSymmetric(m, B, m);
      const got = await gpuEig(a, B, m);
      for (let b = 0; b < B; b++) {
        const one = a.subarray(b * m * m, (b + 1) * m * m);
        const ref = cpuSymEig(one, m);
        const evd = new EigenvalueDecomposition(
          new Matrix(Array.from({ length: m }, (_, i) => Array.from(one.subarray(i * m, (i + 1) * m)))),
          { assumeSymmetric: true },
        );
        const mlValues = [...evd.realEigenvalues].sort((x, y) => y - x);
        const norm = Math.sqrt(one.reduce((s, x) => s + x * x, 0));
        // Weyl: f32 rounding of about 1e-7 ||a|| per rotation moves an eigenvalue by at most that much; a
        // sweep count's worth of them stays well below 1e-5 ||a||.
        expectClose(got.values.subarray(b * m, (b + 1) * m), ref.values, 0, 1e-5 * norm, `m ${m} values vs reference`);
        expectClose(ref.values, mlValues, 0, 1e-12 * norm, `m ${m} reference vs ml-matrix`);
        expect(got.sweeps[b], `m ${m} sweeps`).toBeGreaterThan(0);
        // eigenvectors up to sign: |cos| of the angle to the reference; Davis-Kahan bounds sin by error / gap
        gaps(ref.values).forEach((gap, j) => {
          const s = sine(column(got.vectors, m, j, b * m * m), column(ref.vectors, m, j));
          expect(s, `m ${m} vector ${j}, gap ${gap}`).toBeLessThan(1e-5 + (1e-5 * norm) / gap);
        });
      }
    }
  });

  it('has orthonormal vectors with a small residual at the largest size', async () => {
    const m = JACOBI_MAX;
    const a = randomSymmetric(7, 1, m);
    const got = await gpuEig(a, 1, m);
    expect(got.sweeps[0]).toBeGreaterThan(0);
    // each column takes part in about m rotations a sweep, each rounding it by ~6e-8: over ~10 sweeps a
    // random walk of ~2e-6 away from orthogonality (the kernel rescales columns to unit length at the end)
    const vtv = cpuMatmul(got.vectors, [m, m], got.vectors, [m, m], true).data;
    expectClose(
      vtv,
      Float64Array.from({ length: m * m }, (_, e) => (e % (m + 1) === 0 ? 1 : 0)),
      0,
      1e-5,
      'V^T V',
    );
    const av = cpuMatmul(a, [m, m], got.vectors, [m, m]).data;
    const norm = Math.sqrt(a.reduce((s, x) => s + x * x, 0));
    const vl = Float64Array.from(got.vectors, (x, e) => x * got.values[e % m]!);
    expectClose(av, vl, 0, 1e-5 * norm, 'A V = V L');
  });

  it('converges on semi-definite matrices of low rank and on repeated eigenvalues', async () => {
    // the Gram matrix of 3 random vectors in 10 dims: rank 3, seven zero eigenvalues
    const m = 10;
    const x = cpuRng(3).uniform(3 * m, -1, 1);
    const gram = Float64Array.from(Float32Array.from(cpuMatmul(x, [3, m], x, [3, m], true).data));
    const got = await gpuEig(gram, 1, m);
    expect(got.sweeps[0]).toBeGreaterThan(0);
    expectClose(got.values, cpuSymEig(gram, m).values, 0, 1e-5, 'rank-3 values');
    // 2 I: every vector is an eigenvector; the solver leaves I as it is
    const eye2 = Float64Array.from({ length: 25 }, (_, e) => (e % 6 === 0 ? 2 : 0));
    const id = await gpuEig(eye2, 1, 5);
    expect(id.sweeps[0]).toBe(1);
    expectClose(id.values, [2, 2, 2, 2, 2], 0, 0, '2 I values');
    expectClose(
      id.vectors,
      Float64Array.from({ length: 25 }, (_, e) => (e % 6 === 0 ? 1 : 0)),
      0,
      0,
      '2 I vectors',
    );
  });

  it('says what is wrong with its input', () => {
    expect(() => symEig(tensor(new Float32Array(6), [2, 3]))).toThrow(
      /square matrices \(\.\.\., m, m\), got f32 \(2, 3\)/,
    );
    const big = JACOBI_MAX + 1;
    expect(() => scope(() => symEig(tensor(new Float32Array(big * big), [big, big])))).toThrow(/topEigenpairs/);
  });
});

describe('orthonormalize', () => {
  it('gives orthonormal columns spanning the input, batched', async () => {
    const [B, n, p] = [2, 40, 6];
    const z = cpuRng(11).uniform(B * n * p, -1, 1);
    const q = await scope(() => orthonormalize(tensor(z, [B, n, p]))).data();
    for (let b = 0; b < B; b++) {
      const qb = q.subarray(b * n * p, (b + 1) * n * p);
      const zb = z.subarray(b * n * p, (b + 1) * n * p);
      expectClose(
        cpuMatmul(qb, [n, p], qb, [n, p], true).data,
        Float64Array.from({ length: p * p }, (_, e) => (e % (p + 1) === 0 ? 1 : 0)),
        0,
        1e-5,
        'Q^T Q',
      );
      // z = Q Q^T z: every column of z lies in the span of Q
      const qtz = cpuMatmul(qb, [n, p], zb, [n, p], true).data;
      expectClose(cpuMatmul(qb, [n, p], qtz, [p, p]).data, zb, 0, 1e-5, 'Q Q^T z');
    }
  });

  it('drops dependent and zero columns', async () => {
    const [n, p] = [20, 4];
    const base = cpuRng(12).uniform(n * 2, -1, 1); // two independent columns
    const z = new Float64Array(n * p);
    for (let i = 0; i < n; i++) {
      z[i * p] = base[i * 2]!;
      z[i * p + 1] = base[i * 2 + 1]!;
      z[i * p + 2] = base[i * 2]! - 3 * base[i * 2 + 1]!; // dependent; column 3 is zero
    }
    const q = await scope(() => orthonormalize(tensor(z, [n, p]))).data();
    const qtq = cpuMatmul(q, [n, p], q, [n, p], true).data;
    const trace = [0, 1, 2, 3].reduce((s, i) => s + qtq[i * p + i]!, 0);
    expect(trace).toBeCloseTo(2, 4); // Q Q^T is the projector on a 2-D span
    expect(Array.from(q).every(Number.isFinite)).toBe(true);
  });
});

describe('orientRows', () => {
  it('makes the entry of largest magnitude of each row positive', async () => {
    const x = [1, -3, 2, 0.5, 0.2, -0.1, -2, 2, 1, 0, 0, 0];
    const t = tensor(x, [4, 3]);
    orientRows(t);
    expect(Array.from(await t.data())).toEqual([-1, 3, -2, 0.5, 0.2, -0.1, 2, -2, -1, 0, 0, 0].map(Math.fround));
    t.dispose();
  });
});
