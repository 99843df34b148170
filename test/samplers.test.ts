// The samplers of src/models/samplers.ts and the KDE under them (src/models/kde.ts): the bandwidth and kernel
// covariance against scipy's gaussian_kde (test/fixtures/make_kde.py), the draws' mean and covariance
// against the mixture's, S_U inside its box, and the best-30% samplers ranking the zoo by the training
// rows alone (an identity "VAE" makes latent space weight space, so where a draw lands can be checked).
import { beforeAll, describe, expect, it } from 'vitest';
import { irisSplit } from '../src/data/iris.js';
import { dataCovariance, GaussianKde, scottFactor, symmetricEigen } from '../src/models/kde.js';
import {
  bestIndices,
  type Embeddings,
  embeddingSpread,
  FRESH_MODELS,
  type LatentModel,
  latentSamples,
  randomInit,
  sampleAll,
  trainRowAccuracy,
} from '../src/models/samplers.js';
import { canonicalizeM2, modelSeed, Population } from '../src/models/zoo.js';
import { Rng, type Tensor, tensor } from '../src/tensor/index.js';
import fx from './fixtures/kde_scipy.json';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const split = irisSplit();

/** Mean (d) and biased covariance (d, d) of rows (N, d), float64. */
function moments(x: ArrayLike<number>, d: number) {
  const { mean, cov } = dataCovariance(x, d);
  const N = x.length / d;
  return { mean, cov: cov.map((c) => (c * (N - 1)) / N) };
}

describe('GaussianKde', () => {
  it("Scott's bandwidth and the kernel covariance are scipy's gaussian_kde's", () => {
    for (const c of fx.cases) {
      const what = `n ${c.n}, d ${c.d}`;
      const kde = new GaussianKde(c.data, c.d);
      expect(kde.factor).toBeCloseTo(c.factor, 12);
      expect(scottFactor(c.n, c.d)).toBeCloseTo(c.n ** (-1 / (c.d + 4)), 14);
      expectClose(kde.covariance, c.covariance, 1e-10, 1e-12, `${what} covariance`);
      const fixed = new GaussianKde(c.data, c.d, 0.3);
      expect(fixed.factor).toBe(c.fixed_factor);
      expectClose(fixed.covariance, c.fixed_covariance, 1e-10, 1e-12, `${what} covariance, bandwidth 0.3`);
    }
  });

  it('symmetricEigen: V diag(values) V^T is the matrix, V orthonormal, also when singular', () => {
    const r = cpuRng(3);
    for (const [d, rank] of [
      [43, 43],
      [32, 5],
    ] as const) {
      const B = r.uniform(d * rank);
      const A = new Float64Array(d * d); // B B^T: symmetric, of rank `rank`
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++) for (let k = 0; k < rank; k++) A[i * d + j]! += B[i * rank + k]! * B[j * rank + k]!;
      const { values, vectors: V } = symmetricEigen(A, d);
      const back = new Float64Array(d * d);
      const gram = new Float64Array(d * d);
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++)
          for (let k = 0; k < d; k++) {
            back[i * d + j]! += V[i * d + k]! * values[k]! * V[j * d + k]!;
            gram[i * d + j]! += V[k * d + i]! * V[k * d + j]!;
          }
      expectClose(back, A, 0, 1e-9, `d ${d}, rank ${rank}: V diag V^T`);
      expectClose(
        gram,
        Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0)),
        0,
        1e-10,
        'V^T V',
      );
      expect(values.filter((v) => Math.abs(v) > 1e-8).length).toBe(rank);
    }
  });

  it('draws have the mixture mean and covariance: the data (biased) plus the kernel', () => {
    const c = fx.cases[0]!; // 60 points in 3-D
    const d = c.d;
    const kde = new GaussianKde(c.data, d);
    const N = 40_000;
    const s = moments(kde.sample(N, new Rng(5)), d);
    const data = moments(c.data, d);
    const expected = data.cov.map((v, i) => v + kde.covariance[i]!);
    for (let a = 0; a < d; a++) {
      const tolMean = 5 * Math.sqrt(expected[a * d + a]! / N);
      expect(Math.abs(s.mean[a]! - data.mean[a]!), `mean ${a}`).toBeLessThan(tolMean);
      for (let b = 0; b < d; b++) {
        const e = expected[a * d + b]!;
        const tol = 6 * Math.sqrt((expected[a * d + a]! * expected[b * d + b]! + e * e) / N);
        expect(Math.abs(s.cov[a * d + b]! - e), `cov ${a},${b}`).toBeLessThan(tol);
        // the kernel term is far larger than the tolerance: leaving it out would fail
        if (a === b) expect(kde.covariance[a * d + a]!).toBeGreaterThan(5 * tol);
      }
    }
  });

  it('a constant dimension stays constant, a singular covariance still samples, a seed repeats', () => {
    const r = cpuRng(9);
    const data = Float64Array.from({ length: 5 * 8 }, (_, i) => (i % 8 === 2 ? 1.5 : r.uniform(1)[0]!));
    const kde = new GaussianKde(data, 8); // 5 points in 8-D: rank 4
    const x = kde.sample(200, new Rng(1));
    for (let i = 0; i < 200; i++) expect(x[i * 8 + 2]).toBeCloseTo(1.5, 9);
    expect(x.every(Number.isFinite)).toBe(true);
    expect(Array.from(kde.sample(10, new Rng(4)))).toEqual(Array.from(kde.sample(10, new Rng(4))));
    expect(() => new GaussianKde([1, 2, 3], 3)).toThrow(/2 or more rows/);
    expect(() => new GaussianKde(data, 8, 0)).toThrow(/bandwidth factor 0/);
  });
});

describe('latent samplers', () => {
  const L = 4;
  const r = cpuRng(11);
  const emb: Embeddings = {
    mu: Float32Array.from(r.uniform(30 * L, -2, 3)),
    logvar: Float32Array.from({ length: 30 * L }, () => Math.log(0.01)),
    latent: L,
  };

  it('embeddingSpread: the largest std of an encoder mean, against the mean posterior std', () => {
    const { meanStd, posteriorStd } = embeddingSpread(emb);
    const cols = Array.from(
      { length: L },
      (_, a) =>
        moments(
          emb.mu.filter((_, i) => i % L === a),
          1,
        ).cov[0]!,
    );
    expect(meanStd).toBeCloseTo(Math.sqrt(Math.max(...cols)), 6);
    expect(posteriorStd).toBeCloseTo(0.1, 6);
    const collapsed = { ...emb, mu: new Float32Array(emb.mu.length).fill(0.25) };
    expect(embeddingSpread(collapsed).meanStd).toBeLessThan(1e-12);
  });

  it('S_U stays inside the box of the embeddings and fills it', () => {
    const z = latentSamples('S_U', emb, Int32Array.of(0, 1), 5000, new Rng(2));
    for (let a = 0; a < L; a++) {
      const col = emb.mu.filter((_, i) => i % L === a);
      const [lo, hi] = [Math.min(...col), Math.max(...col)];
      const got = z.filter((_, i) => i % L === a);
      expect(Math.min(...got)).toBeGreaterThanOrEqual(lo);
      expect(Math.max(...got)).toBeLessThanOrEqual(hi);
      expect(Math.min(...got) - lo).toBeLessThan(0.01 * (hi - lo));
      expect(hi - Math.max(...got)).toBeLessThan(0.01 * (hi - lo));
    }
  });

  it("S_Neigh draws from a best model's posterior N(mu, exp(logvar)); the prior is N(0, I)", () => {
    const best = Int32Array.of(4, 17);
    const z = latentSamples('S_Neigh', emb, best, 4000, new Rng(3));
    let far = 0;
    for (let s = 0; s < 4000; s++) {
      const dist = (g: number) =>
        Math.sqrt(
          Array.from({ length: L }, (_, a) => (z[s * L + a]! - emb.mu[g * L + a]!) ** 2).reduce((x, y) => x + y),
        );
      if (Math.min(dist(4), dist(17)) > 0.1 * 5) far++; // 5 standard deviations of 0.1 in 4-D
    }
    expect(far).toBe(0);
    const p = moments(latentSamples('prior', emb, best, 20_000, new Rng(4)), L);
    expectClose(p.mean, new Float64Array(L), 0, 0.04, 'prior mean');
    expectClose(
      p.cov,
      Float64Array.from({ length: L * L }, (_, i) => (i % (L + 1) === 0 ? 1 : 0)),
      0,
      0.05,
      'prior cov',
    );
  });
});

/** A "VAE" whose latent space is weight space: encode and decode are the identity, logvar log(1e-4). */
function identityModel(P: number): LatentModel {
  const vae = {
    latent: P,
    eval: () => vae,
    encode: (x: Tensor) => ({ mu: x, logvar: tensor(new Float32Array(x.size).fill(Math.log(1e-4)), x.shape) }),
    decode: (z: Tensor) => z,
  };
  return { vae, scaler: { scale: (v) => Float32Array.from(v), unscale: (v) => Float32Array.from(v) } };
}

/** Accuracy of M1 networks (G, 15) on rows, in float64 on the CPU. */
function m1Accuracy(v: Float32Array, x: Float32Array, y: Int32Array): number[] {
  return Array.from({ length: v.length / 15 }, (_, g) => {
    let right = 0;
    for (let i = 0; i < y.length; i++) {
      const logit = [0, 1, 2].map((o) => {
        let s = v[g * 15 + o * 5 + 4]!;
        for (let k = 0; k < 4; k++) s += v[g * 15 + o * 5 + k]! * x[i * 4 + k]!;
        return s;
      });
      if (logit.indexOf(Math.max(...logit)) === y[i]) right++;
    }
    return right / y.length;
  });
}

describe('sampleAll', () => {
  const G = 20;
  const r = cpuRng(21);
  const zoo = Float32Array.from(r.uniform(G * 15, -1.5, 1.5));
  const rows = { xTrain: split.xTrain, yTrain: split.yTrain };
  const input = { arch: 'M1' as const, zoo, rows, model: identityModel(15), seeds: { set: 1, run: 0 } };

  it('ranks the zoo by accuracy on the training rows (a CPU reference), best first', async () => {
    const acc = await trainRowAccuracy('M1', zoo, rows);
    const ref = m1Accuracy(zoo, split.xTrain, split.yTrain);
    expectClose(acc, ref, 0, 1e-6, 'training-row accuracy');
    const best = Array.from(bestIndices(acc));
    expect(best.length).toBe(6); // ceil(0.3 * 20)
    const order = ref.map((a, g) => [a, g] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
    expect(best).toEqual(order.slice(0, 6).map(([, g]) => g));
    expect(Array.from(bestIndices([0.5, 0.9, 0.5, 0.9, 0.1]))).toEqual([1, 3]); // at least 2; ties: lower index
  });

  it('S_KDE30, S_Neigh and B_KDE30 draw around the best by training rows; test rows change nothing', async () => {
    const o = { n: 40, seed: 3, bandwidth: 1e-3 };
    const a = await sampleAll(input, o);
    const best = new Set(a.best);
    const ref = m1Accuracy(zoo, split.xTrain, split.yTrain);
    const worstBest = Math.min(...[...best].map((g) => ref[g]!));
    expect(ref.filter((acc, g) => !best.has(g) && acc > worstBest)).toEqual([]);
    for (const name of ['S_KDE30', 'S_Neigh', 'B_KDE30'] as const) {
      const v = a.sets[name];
      for (let s = 0; s < o.n; s++) {
        const dist = (g: number) =>
          Math.sqrt(
            Array.from({ length: 15 }, (_, k) => (v[s * 15 + k]! - zoo[g * 15 + k]!) ** 2).reduce((x, y) => x + y),
          );
        const nearestG = Array.from({ length: G }, (_, g) => g).sort((p, q) => dist(p) - dist(q))[0]!;
        expect(best.has(nearestG), `${name} draw ${s} lands by zoo network ${nearestG}`).toBe(true);
        expect(dist(nearestG)).toBeLessThan(0.1);
      }
    }
    // other test rows (as if the split were another): the same draws
    const other = { ...split, xTest: split.xTest.map((x) => -x), yTest: split.yTest.map((y) => (y + 1) % 3) };
    const b = await sampleAll({ ...input, rows: other }, o);
    for (const name of Object.keys(a.sets) as (keyof typeof a.sets)[]) {
      expect(Array.from(b.sets[name]), name).toEqual(Array.from(a.sets[name]));
    }
    // other training labels: another ranking
    const shuffled = { xTrain: split.xTrain, yTrain: split.yTrain.map((y) => (y + 1) % 3) };
    const c = await sampleAll({ ...input, rows: shuffled }, o);
    expect(Array.from(c.best)).not.toEqual(Array.from(a.best));
  });

  it('B_F is the zoo (cycling), B_T is PyTorch-default init from seeds no zoo network used', async () => {
    const a = await sampleAll(input, { n: 25, seed: 0 });
    expect(Array.from(a.sets.B_F.subarray(0, G * 15))).toEqual(Array.from(zoo));
    expect(Array.from(a.sets.B_F.subarray(G * 15))).toEqual(Array.from(zoo.subarray(0, 5 * 15)));
    expect(a.sets.B_T.every((w) => Math.abs(w) <= 0.5)).toBe(true); // U(-1/sqrt(4), 1/sqrt(4))
    const zoo0 = new Population('M1', 1, [new Rng(modelSeed(1, 0, 0))]); // the zoo's first network, as it started
    const start = await zoo0.vectors();
    zoo0.dispose();
    expect(Array.from(a.sets.B_T.subarray(0, 15))).not.toEqual(Array.from(start));
    const fresh = new Population('M1', 1, [new Rng(modelSeed(1, FRESH_MODELS, 0))]);
    expect(Array.from(a.sets.B_T.subarray(0, 15))).toEqual(Array.from(await fresh.vectors()));
    fresh.dispose();
    await expect(randomInit('M1', FRESH_MODELS + 1, { set: 1, run: 0 })).rejects.toThrow(/at most/);
  });

  it("M2's B_KDE30 works on hidden units in canonical order", async () => {
    const z2 = Float32Array.from(r.uniform(10 * 43, -1, 1));
    const a = await sampleAll(
      { arch: 'M2', zoo: z2, rows, model: identityModel(43), seeds: { set: 3, run: 0 } },
      { n: 5, seed: 1, bandwidth: 1e-6 },
    );
    const canon = canonicalizeM2(z2);
    for (let s = 0; s < 5; s++) {
      const v = a.sets.B_KDE30.subarray(s * 43, (s + 1) * 43);
      const d = Math.min(
        ...Array.from(a.best, (g) => Math.max(...Array.from(v, (x, k) => Math.abs(x - canon[g * 43 + k]!)))),
      );
      expect(d).toBeLessThan(1e-4);
    }
  });
});
