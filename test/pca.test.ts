// PCA on the GPU (analysis/pca.ts) against ml-pca (SVD of the centred data in float64, a well-kept CPU
// implementation): components up to sign, variances, explained variance and projections, on random data and
// on structured data (a few directions of known variance plus noise, off-centre), through each path: the
// covariance and the Gram matrix (fewer samples than dimensions), each by Jacobi on the whole matrix and by
// subspace iteration; batched data sets; the sign convention; the errors.
//
// Tolerances. The data are f32, the reference float64. Forming the covariance or Gram matrix in f32 rounds it
// by about sqrt(n) 6e-8 of its norm (1e-6 here), and the solver stops at a residual of 1e-5 lambda_1 (Jacobi
// goes further). Weyl's inequality bounds each eigenvalue's error by the perturbation's norm: 2e-5 lambda_1
// (explained variance: 2e-5 of lambda_1 / total). Davis-Kahan bounds the sine of a component's angle by the
// perturbation over the gap to the nearest other eigenvalue: 1e-5 + 3e-5 lambda_1 / gap. Projections follow
// from the components: |x_c| times the sine.

import { PCA } from 'ml-pca';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIRECT_MAX, type PcaMethod, pca, readPca, topEigenpairs } from '../src/analysis/pca.js';
import { cpuSymEig } from '../src/ops/eigen.js';
import { disposeAll, scope, tensor } from '../src/tensor/index.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

/** n samples of d uniform values in [-1, 1] (as f32 values). */
function randomData(seed: number, n: number, d: number): Float64Array {
  return Float64Array.from(Float32Array.from(cpuRng(seed).uniform(n * d, -1, 1)));
}

/**
 * n samples in d dims: variances `spread` along random orthonormal directions, uniform noise of variance
 * noise^2 / 3 in every dim, all shifted by 3 (so that centring matters).
 */
function structuredData(seed: number, n: number, d: number, spread: number[], noise = 0.01): Float64Array {
  const rng = cpuRng(seed);
  const dirs: Float64Array[] = [];
  for (let j = 0; j < spread.length; j++) {
    const v = rng.uniform(d, -1, 1);
    for (const u of dirs) {
      const c = u.reduce((s, ui, i) => s + ui * v[i]!, 0);
      u.forEach((ui, i) => {
        v[i]! -= c * ui;
      });
    }
    const norm = Math.hypot(...v);
    dirs.push(v.map((x) => x / norm));
  }
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const noiseRow = rng.uniform(d, -noise, noise);
    for (let c = 0; c < d; c++) x[i * d + c] = 3 + noiseRow[c]!;
    spread.forEach((s, j) => {
      const g = Math.sqrt(s * 3) * (2 * rng.next() - 1); // variance s
      for (let c = 0; c < d; c++) x[i * d + c]! += g * dirs[j]![c]!;
    });
  }
  return Float64Array.from(Float32Array.from(x));
}

const rowsOf = (x: ArrayLike<number>, n: number, d: number, at = 0) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, c) => x[at + i * d + c]!));

/** Sine of the angle between the lines of x and y: |x - (x.y) y / |y|^2| / |x|. */
function sine(x: number[], y: number[]): number {
  const xy = x.reduce((s, xi, i) => s + xi * y[i]!, 0);
  const yy = y.reduce((s, yi) => s + yi * yi, 0);
  const r = x.reduce((s, xi, i) => s + (xi - (xy / yy) * y[i]!) ** 2, 0);
  return Math.sqrt(r / x.reduce((s, xi) => s + xi * xi, 0));
}

/** Checks one data set's PCA (ours: flat arrays at offsets) against ml-pca's. */
function compare(
  x: Float64Array,
  n: number,
  d: number,
  k: number,
  ours: { components: number[][]; variance: number[]; explained: number[]; projections: number[][] },
  what: string,
) {
  const ref = new PCA(rowsOf(x, n, d), { method: 'SVD', center: true });
  const values = ref.getEigenvalues();
  const total = values.reduce((s, v) => s + v, 0);
  const l1 = values[0]!;
  const vectors = ref.getEigenvectors(); // d x min(n, d), columns
  const refProj = ref.predict(rowsOf(x, n, d), { nComponents: k }).to2DArray();
  expectClose(ours.variance, values.slice(0, k), 0, 2e-5 * l1, `${what} variance`);
  expectClose(ours.explained, ref.getExplainedVariance().slice(0, k), 0, (2e-5 * l1) / total, `${what} explained`);
  for (let j = 0; j < k; j++) {
    const gap = Math.min(j > 0 ? values[j - 1]! - values[j]! : Infinity, values[j]! - (values[j + 1] ?? 0));
    const tol = 1e-5 + (3e-5 * l1) / gap;
    const refVec = vectors.getColumn(j);
    expect(sine(ours.components[j]!, refVec), `${what} component ${j} (gap ${gap.toExponential(2)})`).toBeLessThan(tol);
    expect(Math.hypot(...ours.components[j]!), `${what} component ${j} is a unit vector`).toBeCloseTo(1, 5);
    // the same sign for the projections as for the component
    const sign = Math.sign(ours.components[j]!.reduce((s, c, i) => s + c * refVec[i]!, 0));
    const scale = Math.sqrt(values[0]! * (n - 1));
    expectClose(
      ours.projections.map((r) => r[j]!),
      refProj.map((r) => sign * r[j]!),
      0,
      tol * scale,
      `${what} projections on component ${j}`,
    );
  }
}

async function gpuPca(x: Float64Array, shape: number[], k: number, method: PcaMethod = 'auto') {
  const input = tensor(x, shape);
  const r = await pca(input, { k, method });
  const data = await readPca(r);
  disposeAll([r, input]);
  return { ...data, method: r.method, solver: r.solver };
}

/** Data set b of a batched result, as ours for compare(). */
function part(r: Awaited<ReturnType<typeof gpuPca>>, b: number, n: number, d: number, k: number) {
  return {
    components: rowsOf(r.components, k, d, b * k * d),
    variance: Array.from(r.variance.subarray(b * k, (b + 1) * k)),
    explained: Array.from(r.explained.subarray(b * k, (b + 1) * k)),
    projections: rowsOf(r.projections, n, k, b * n * k),
  };
}

describe('pca against ml-pca', () => {
  const cases: { what: string; n: number; d: number; k: number; method: 'covariance' | 'gram'; subspace: boolean }[] = [
    { what: 'covariance, Jacobi', n: 40, d: 12, k: 4, method: 'covariance', subspace: false },
    { what: 'Gram (n < d), Jacobi', n: 12, d: 40, k: 4, method: 'gram', subspace: false },
    { what: 'covariance, subspace iteration', n: 300, d: 100, k: 3, method: 'covariance', subspace: true },
    { what: 'Gram (n < d), subspace iteration', n: 100, d: 700, k: 3, method: 'gram', subspace: true },
  ];
  for (const c of cases) {
    it(`${c.what}: structured data`, async () => {
      const x = structuredData(c.n + c.d, c.n, c.d, [9, 4, 2, 1, 0.5]);
      const r = await gpuPca(x, [c.n, c.d], c.k);
      expect(r.method).toBe(c.method);
      expect(r.solver.converged).toBe(true);
      expect(r.solver.iterations > 0).toBe(c.subspace);
      compare(x, c.n, c.d, c.k, part(r, 0, c.n, c.d, c.k), c.what);
      // the mean is the data's
      const rows = rowsOf(x, c.n, c.d);
      const mean = Array.from({ length: c.d }, (_, j) => rows.reduce((s, row) => s + row[j]!, 0) / c.n);
      expectClose(r.mean, mean, 0, 1e-5, 'mean');
    });
    it(`${c.what}: random data`, async () => {
      const x = randomData(c.n * c.d, c.n, c.d);
      const r = await gpuPca(x, [c.n, c.d], c.k);
      expect(r.solver.converged).toBe(true);
      compare(x, c.n, c.d, c.k, part(r, 0, c.n, c.d, c.k), c.what);
    });
  }

  it('gives the same components by the covariance and by the Gram matrix', async () => {
    const [n, d, k] = [30, 20, 3];
    const x = structuredData(5, n, d, [5, 3, 1]);
    const cov = await gpuPca(x, [n, d], k, 'covariance');
    const gram = await gpuPca(x, [n, d], k, 'gram');
    expect([cov.method, gram.method]).toEqual(['covariance', 'gram']);
    // both orient each component the same way, so they agree entry by entry
    expectClose(gram.components, cov.components, 0, 1e-4, 'components');
    expectClose(gram.explained, cov.explained, 0, 1e-5, 'explained');
    compare(x, n, d, k, part(gram, 0, n, d, k), 'gram of a tall data set');
  });

  it('analyses a batch of data sets at once, each on its own', async () => {
    const [B, n, d, k] = [3, 25, 10, 2];
    const sets = [0, 1, 2].map((b) => structuredData(70 + b, n, d, [4 + b, 1, 0.3]));
    const x = Float64Array.from(sets.flatMap((s) => Array.from(s)));
    const r = await gpuPca(x, [B, n, d], k);
    sets.forEach((s, b) => {
      compare(s, n, d, k, part(r, b, n, d, k), `set ${b}`);
    });
  });

  it('makes the entry of largest magnitude of each component positive', async () => {
    const [n, d, k] = [50, 8, 3];
    const r = await gpuPca(structuredData(9, n, d, [3, 2, 1]), [n, d], k);
    for (const row of rowsOf(r.components, k, d)) {
      const big = row.reduce((b, v) => (Math.abs(v) > Math.abs(b) ? v : b), 0);
      expect(big).toBeGreaterThan(0);
    }
  });
});

describe('topEigenpairs', () => {
  it('finds the top of a spectrum by subspace iteration, batched, with residuals as promised', async () => {
    // A = Q diag(lambda) Q^T for a random orthogonal Q: lambda_i = 0.9^i, so lambda_{p+1} / lambda_k is what
    // the convergence rate says
    const [B, m, k] = [2, DIRECT_MAX + 36, 4];
    const mats = [0, 1].map((b) => {
      const q = randomData(b + 1, m, m);
      const a = new Float64Array(m * m);
      const cols = gramSchmidt(q, m);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) for (let l = 0; l < m; l++) a[i * m + j]! += cols[l]![i]! * 0.9 ** l * cols[l]![j]!;
      return Float64Array.from(Float32Array.from(a));
    });
    const input = tensor(Float64Array.from(mats.flatMap((a) => Array.from(a))), [B, m, m]);
    const r = await topEigenpairs(input, k);
    const values = await r.values.data();
    const vectors = await r.vectors.data();
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeGreaterThan(0);
    expect(r.residual).toBeLessThanOrEqual(1e-5);
    mats.forEach((a, b) => {
      const ref = cpuSymEig(a, m);
      expectClose(values.subarray(b * k, (b + 1) * k), ref.values.subarray(0, k), 0, 2e-5, `matrix ${b} values`);
      for (let j = 0; j < k; j++) {
        const ours = Array.from({ length: m }, (_, i) => vectors[b * m * k + i * k + j]!);
        const theirs = Array.from({ length: m }, (_, i) => ref.vectors[i * m + j]!);
        expect(sine(ours, theirs)).toBeLessThan(1e-5 + 3e-5 / (0.9 ** j * 0.1));
      }
    });
    disposeAll([r, input]);
  });

  it('says so when it runs out of iterations', async () => {
    const m = DIRECT_MAX + 1;
    const a = randomData(3, m, m);
    const sym = Float64Array.from({ length: m * m }, (_, e) => a[e]! + a[(e % m) * m + Math.floor(e / m)]!);
    const input = tensor(sym, [m, m]);
    const r = await topEigenpairs(input, 2, { maxIterations: 3, tol: 1e-9 });
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(3);
    disposeAll([r, input]);
  });
});

describe('pca errors', () => {
  it('says what is wrong with its input', async () => {
    await expect(scope(() => pca(tensor([1, 2, 3], [1, 3]), { k: 1 }))).rejects.toThrow(/n >= 2, got f32 \(1, 3\)/);
    await expect(scope(() => pca(tensor(new Float32Array(12), [4, 3]), { k: 4 }))).rejects.toThrow(
      /k = 4; it must be an integer in 1\.\.3/,
    );
    await expect(
      scope(() => pca(tensor(new Float32Array(2 * 5000), [2, 5000]), { k: 1, method: 'covariance' })),
    ).rejects.toThrow(/covariance matrix would be 5000 x 5000/);
  });
});

/** The m columns of q (m x m, rows) made orthonormal in float64. */
function gramSchmidt(q: Float64Array, m: number): Float64Array[] {
  const cols: Float64Array[] = [];
  for (let j = 0; j < m; j++) {
    const v = Float64Array.from({ length: m }, (_, i) => q[i * m + j]!);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of cols) {
        const c = u.reduce((s, ui, i) => s + ui * v[i]!, 0);
        u.forEach((ui, i) => {
          v[i]! -= c * ui;
        });
      }
    }
    const norm = Math.hypot(...v);
    cols.push(v.map((x) => x / norm));
  }
  return cols;
}
