// Exact t-SNE on the GPU (ops/tsne.ts, analysis/tsne.ts) against scikit-learn 1.2 on the same distances
// (fixture: test/fixtures/make_tsne.py): the joint probabilities P, the KL divergence and its gradient at
// the initial embedding, and whole runs from the same initial embedding (distances as precomputed, and the
// distance matrix's rows as features, the paper's way): final KL within 5% of scikit-learn's and
// trustworthiness within 0.02. trustworthiness itself against scikit-learn's on scikit-learn's embedding.
// The float64 CPU references against the fixture too, the update step against its formula, and the errors.
import { beforeAll, describe, expect, it } from 'vitest';
import { trustworthiness, tsne } from '../src/analysis/tsne.js';
import {
  cpuJointProbabilities,
  cpuTsneObjective,
  jointProbabilities,
  tsneGradient,
  tsneKernelRows,
  tsneKlRows,
  tsneUpdate,
} from '../src/ops/tsne.js';
import { scope, tensor } from '../src/tensor/index.js';
import fixture from './fixtures/tsne_sklearn.json';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const fx = fixture.tsne;
const n = fx.n;
const D = fixture.spectral.cases[0]!.norms; // the distances t-SNE was given (60 x 60)
const sq32 = Float32Array.from(D, (d) => d * d); // what scikit-learn searches: the squares, as float32

/** The sum of a GPU result (f32 or i32). */
const total = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);

/** Euclidean distances between the rows of the distance matrix: the paper's code's input. */
function featureDistances(): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (D[i * n + k]! - D[j * n + k]!) ** 2;
      out[i * n + j] = Math.sqrt(s);
    }
  return out;
}

describe('joint probabilities', () => {
  it('P matches scikit-learn (the float64 reference to 2e-6, the GPU in f32 to 1e-4)', async () => {
    // (the fixture's distances are printed to 9 digits: a squared distance may be an f32 ulp off scikit-learn's,
    // which exp(-beta s) turns into a few 1e-7 of P)
    expectClose(cpuJointProbabilities(Float64Array.from(sq32), n, fx.perplexity), fx.P, 2e-6, 1e-15, 'cpu P');
    const { p, beta } = scope(() => jointProbabilities(tensor(sq32, [n, n]), fx.perplexity));
    expectClose(await p.data(), fx.P, 1e-4, 1e-9, 'gpu P');
    // each row's conditional distribution, rebuilt in float64 from the beta found, has the perplexity asked for
    const b = await beta.data();
    for (let i = 0; i < n; i++) {
      const e = Array.from({ length: n }, (_, j) => (j === i ? 0 : Math.exp(-b[i]! * sq32[i * n + j]!)));
      const sum = e.reduce((s, x) => s + x, 0);
      const h = Math.log(sum) + (b[i]! * e.reduce((s, x, j) => s + x * sq32[i * n + j]!, 0)) / sum;
      expect(Math.abs(h - Math.log(fx.perplexity)), `row ${i} entropy`).toBeLessThan(1e-4);
    }
    p.dispose();
    beta.dispose();
  });

  it('rejects a perplexity of N or more, and distances that are not a square matrix', () => {
    const t = tensor(sq32, [n, n]);
    expect(() => jointProbabilities(t, n)).toThrow(/perplexity 60 must be > 0 and less than the 60 points/);
    const flat = tensor(new Float32Array(6), [2, 3]);
    expect(() => jointProbabilities(flat, 1)).toThrow(/must be an f32 square matrix \(N, N\), got f32 \(2, 3\)/);
    t.dispose();
    flat.dispose();
  });
});

describe('KL divergence and its gradient', () => {
  it("match scikit-learn's _kl_divergence at the initial embedding", async () => {
    const o = { dof: 1, exaggeration: 1 };
    const cpu = cpuTsneObjective(fx.P, fx.init, n, 2, o);
    expect(cpu.kl).toBeCloseTo(fx.kl0, 9);
    expectClose(cpu.grad, fx.grad0, 1e-6, 1e-14, 'cpu gradient');
    const { kl, grad } = scope(() => {
      const p = tensor(fx.P, [n, n]);
      const y = tensor(fx.init, [n, 2]);
      const z = tsneKernelRows(y, 1);
      return { kl: tsneKlRows(p, y, z, o), grad: tsneGradient(p, y, z, o) };
    });
    const rows = await kl.data();
    expect(total(rows)).toBeCloseTo(fx.kl0, 4);
    expectClose(await grad.data(), fx.grad0, 1e-3, 1e-9, 'gpu gradient');
    kl.dispose();
    grad.dispose();
  });

  it('with exaggeration and dof 2 (3-D) as the float64 reference', async () => {
    const r = cpuRng(5);
    const y3 = Float32Array.from(r.uniform(n * 3, -2, 2));
    const o = { dof: 2, exaggeration: 12 };
    const cpu = cpuTsneObjective(fx.P, y3, n, 3, o);
    const { kl, grad } = scope(() => {
      const p = tensor(fx.P, [n, n]);
      const y = tensor(y3, [n, 3]);
      const z = tsneKernelRows(y, 2);
      return { kl: tsneKlRows(p, y, z, o), grad: tsneGradient(p, y, z, o) };
    });
    expect(total(await kl.data())).toBeCloseTo(cpu.kl, 3);
    expectClose(await grad.data(), cpu.grad, 1e-4, 1e-6, 'gpu gradient, dof 2');
    kl.dispose();
    grad.dispose();
  });
});

describe('the update step', () => {
  it('gains grow by 0.2 where the step keeps its direction, shrink by 0.8 elsewhere, at least min_gain', async () => {
    const r = cpuRng(9);
    const [y0, g0, u0] = [r.uniform(8), r.uniform(8), r.uniform(8)];
    const gain0 = [1, 0.011, 0.5, 2, 0.01, 1, 3, 0.2];
    const t = { y: tensor(y0, [4, 2]), g: tensor(g0, [4, 2]), u: tensor(u0, [4, 2]), gain: tensor(gain0, [4, 2]) };
    tsneUpdate(t.y, t.g, t.u, t.gain, { momentum: 0.5, lr: 50, minGain: 0.01 });
    const want = { y: [] as number[], g: [] as number[], u: [] as number[], gain: [] as number[] };
    for (let e = 0; e < 8; e++) {
      const gain = Math.max(u0[e]! * g0[e]! < 0 ? gain0[e]! + 0.2 : gain0[e]! * 0.8, 0.01);
      const g = g0[e]! * gain;
      const u = 0.5 * u0[e]! - 50 * g;
      want.y.push(y0[e]! + u);
      want.g.push(g);
      want.u.push(u);
      want.gain.push(gain);
    }
    for (const k of ['y', 'g', 'u', 'gain'] as const) {
      expectClose(await t[k].data(), want[k], 1e-5, 1e-6, k);
      t[k].dispose();
    }
  });
});

describe('tsne against scikit-learn, from the same initial embedding', () => {
  it('distances as precomputed: KL within 5%, trustworthiness within 0.02', async () => {
    const want = fx.precomputed;
    const r = await tsne(D, n, { perplexity: fx.perplexity, init: fx.init });
    expect(r.learningRate).toBe(want.learning_rate);
    expect(r.lastIteration).toBe(want.n_iter);
    expect(Math.abs(r.kl - want.kl) / want.kl, `KL ${r.kl} against ${want.kl}`).toBeLessThan(0.05);
    const trust = trustworthiness(D, r.embedding, n, 2);
    expect(Math.abs(trust - want.trust5), `trustworthiness ${trust} against ${want.trust5}`).toBeLessThan(0.02);
    expect(r.history.map((h) => h.iteration)).toEqual(Array.from({ length: 20 }, (_, k) => 50 * (k + 1)));
    expect(r.history.at(-1)!.kl).toBe(r.kl);
  });

  it('the distance matrix as features (the paper code): KL within 5%, trustworthiness within 0.02', async () => {
    const want = fx.features;
    const F = featureDistances();
    const r = await tsne(F, n, { perplexity: fx.perplexity, init: fx.init });
    expect(Math.abs(r.kl - want.kl) / want.kl, `KL ${r.kl} against ${want.kl}`).toBeLessThan(0.05);
    const trust = trustworthiness(F, r.embedding, n, 2);
    expect(Math.abs(trust - want.trust5), `trustworthiness ${trust} against ${want.trust5}`).toBeLessThan(0.02);
  });

  it("trustworthiness is scikit-learn's on scikit-learn's embedding, at 5 and 10 neighbours", () => {
    const e = fx.precomputed.embedding;
    expect(trustworthiness(D, e, n, 2, 5)).toBeCloseTo(fx.precomputed.trust5, 12);
    expect(trustworthiness(D, e, n, 2, 10)).toBeCloseTo(fx.precomputed.trust10, 12);
    const F = featureDistances();
    expect(trustworthiness(F, fx.features.embedding, n, 2, 5)).toBeCloseTo(fx.features.trust5, 12);
    expect(trustworthiness(D, D.slice(0, n * 2), n, 2, 5)).toBeLessThan(0.9); // an unrelated "embedding"
  });

  it('a seed gives the same embedding twice; iterations = 250 still reports a KL without exaggeration', async () => {
    const a = await tsne(D, n, { perplexity: 10, iterations: 250, seed: 4 });
    const b = await tsne(D, n, { perplexity: 10, iterations: 250, seed: 4 });
    expect(Array.from(a.embedding)).toEqual(Array.from(b.embedding));
    expect(a.lastIteration).toBe(250);
    const y = tensor(a.embedding, [n, 2]);
    const p = tensor(cpuJointProbabilities(Float64Array.from(sq32), n, 10), [n, n]);
    const kl = scope(() => tsneKlRows(p, y, tsneKernelRows(y, 1), { dof: 1, exaggeration: 1 }));
    expect(a.kl).toBeCloseTo(total(await kl.data()), 3);
    for (const t of [y, p, kl]) t.dispose();
  });

  it('errors say what is wrong', async () => {
    await expect(tsne([0, 1, 2, 0], 2)).rejects.toThrow(/distance \[0, 1\] = 1 \(and \[1, 0\] = 2\)/);
    await expect(tsne(D, n, { iterations: 100 })).rejects.toThrow(/iterations 100 must be an integer >= 250/);
    await expect(tsne(D, n, { perplexity: 60 })).rejects.toThrow(/perplexity 60 must be > 0 and less than the 60/);
    await expect(tsne(D, n, { init: [1, 2] })).rejects.toThrow(/init holds 2 values; it must be 60 x 2/);
    expect(() => trustworthiness(D, fx.init, n, 2, 30)).toThrow(/k = 30 neighbours must be an integer in 1\.\.29/);
  });
});
