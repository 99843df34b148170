// The toy problem's pieces (models/toy-mixture.ts): the mixture f on the GPU against its float64 reference,
// which is checked against values worked out by hand; f's gradient and the whole objective's gradient
// against central differences of float64 references (cpuKlEntropy for the entropy); the mixture's ranges;
// the generator's shape and initialisation; peaksReached on a hand-made curve. Runs in Node and Chromium.
// Not here: training to the paper's curve (toy-mixture.node.test.ts).

import { beforeAll, describe, expect, it } from 'vitest';
import { cpuKlEntropy } from '../src/analysis/entropy.js';
import { TOY_DATA, toyCurveRows, toyCurveSpec, toyPeakRows } from '../src/analysis/figures-toy.js';
import {
  cpuMixtureDensity,
  makeMixture,
  type Mixture,
  MixtureDensity,
  peaksReached,
  TOY,
  ToyGenerator,
  toyObjective,
  ToyRun,
  zGrid,
} from '../src/models/toy-mixture.js';
import { Rng, scope, tensor } from '../src/tensor/index.js';
import { checkOp } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

/** A mixture of two components with round numbers. */
const two: Mixture = {
  mu: Float64Array.from([0, 0, 3, -1]),
  sigma: Float64Array.from([1, 0.5]),
  p: Float64Array.from([0.25, 0.75]),
};

/** The whole objective in float64: -mean f + lambda (-H) + gamma mean |y|^2, y (B, 2) row-major. */
function cpuObjective(m: Mixture, y: Float64Array): number {
  const B = y.length / 2;
  const f = cpuMixtureDensity(m, y).reduce((s, v) => s + v, 0) / B;
  let l2 = 0;
  for (const v of y) l2 += v * v;
  return -f - TOY.lambda * cpuKlEntropy(y, B, TOY.entropyDim, 'l2') + (TOY.gamma * l2) / B;
}

describe('the toy problem', () => {
  it("the mixture's reference gives values worked out by hand", () => {
    // at (0, 0): 0.25 * 2 pi * 1 * e^0 + 0.75 * 2 pi * 0.25 * e^(-10 / 0.5)
    // at (3, -0.5): 0.25 * 2 pi * e^(-9.25 / 2) + 0.75 * 2 pi * 0.25 * e^(-0.25 / 0.5)
    const want = [
      0.25 * 2 * Math.PI + 0.375 * Math.PI * Math.exp(-20),
      0.5 * Math.PI * Math.exp(-4.625) + 0.375 * Math.PI * Math.exp(-0.5),
    ];
    expectClose(cpuMixtureDensity(two, [0, 0, 3, -0.5]), want, 1e-14, 0, 'f');
  });

  it('f on the GPU matches its reference, values and gradients', async () => {
    const m = makeMixture(new Rng(5));
    const density = new MixtureDensity(m);
    try {
      // points where the mixture varies: around the means, and a few far out (f tiny, gradient tiny)
      const rng = cpuRng(3);
      const y = Float64Array.from({ length: 2 * 24 }, (_, i) =>
        i < 40 ? m.mu[i % 20]! + rng.uniform(1, -1.5, 1.5)[0]! : rng.uniform(1, -9, 9)[0]!,
      );
      await checkOp({
        name: 'MixtureDensity',
        inputs: [{ data: y, shape: [24, 2] }],
        gpu: (t) => density.forward(t),
        cpu: (t) => cpuMixtureDensity(m, t),
        h: 1e-6,
      });
      // the grid the figures draw: cell centres, rows in y
      const g = await density.grid(4, 8);
      expectClose(g.coords, [-6, -2, 2, 6], 0, 1e-12, 'grid coords');
      const pts = Array.from({ length: 16 }, (_, k) => [g.coords[k % 4]!, g.coords[Math.floor(k / 4)]!]).flat();
      expectClose(g.values, cpuMixtureDensity(m, pts), 1e-5, 1e-6, 'grid values');
    } finally {
      density.dispose();
    }
  });

  it("the whole objective's value and gradient in y match float64 references", async () => {
    const m = makeMixture(new Rng(0));
    const density = new MixtureDensity(m);
    try {
      // five points as a batch: distinct nearest neighbours (no ties within the difference step)
      const y = Float64Array.from([0.3, -1.2, 2.5, 0.7, -3.1, 2.2, 1.1, 1.9, -0.6, -2.8]);
      await checkOp({
        name: 'toyObjective',
        inputs: [{ data: y, shape: [5, 2] }],
        gpu: (t) => toyObjective(t, density).loss,
        cpu: (t) => [cpuObjective(m, t)],
        h: 1e-6,
      });
    } finally {
      density.dispose();
    }
  });

  it("the mixture: the paper's ranges, the same for the same seed", () => {
    const a = makeMixture(new Rng(11));
    expect(a.mu.length).toBe(2 * TOY.components);
    for (const v of a.mu) expect(Math.abs(v)).toBeLessThanOrEqual(5);
    for (const s of a.sigma) expect(s >= 1 && s <= 1.1).toBe(true);
    expect(a.p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    // weights drawn from U(1, 3) before normalising: no ratio above 3
    expect(Math.max(...a.p) / Math.min(...a.p)).toBeLessThanOrEqual(3);
    expect(makeMixture(new Rng(11))).toEqual(a);
    expect(makeMixture(new Rng(12)).mu).not.toEqual(a.mu);
  });

  it('the generator: (B, 1) -> (B, 2), 502 parameters, variance-scaling init (scale 6) of weights and biases', async () => {
    const gen = new ToyGenerator(new Rng(4));
    try {
      expect(gen.numParameters()).toBe(30 + 30 + 300 + 10 + 100 + 10 + 20 + 2);
      const y = scope(() => gen.forward(tensor(zGrid(7), [7, 1])));
      expect(y.shape).toEqual([7, 2]);
      y.dispose();
      const state = await gen.stateDict();
      // weights of the first hidden layer (30 x 10 = 300): std sqrt(6 / 30); every value within 2 std
      const w = state['net.2.weight']!;
      const b = state['net.2.bias']!;
      expect(w.shape).toEqual([10, 30]);
      const std = Math.sqrt(6 / 30);
      const sample = Math.sqrt(w.data.reduce((s, v) => s + v * v, 0) / w.data.length);
      expect(sample / std).toBeGreaterThan(0.85);
      expect(sample / std).toBeLessThan(1.15);
      for (const v of w.data) expect(Math.abs(v)).toBeLessThanOrEqual((2 * std) / 0.8796 + 1e-6);
      // the bias's fan-in is its own length (10), as TensorFlow computes it for a 1-D shape
      for (const v of b.data) expect(Math.abs(v)).toBeLessThanOrEqual((2 * Math.sqrt(6 / 10)) / 0.8796 + 1e-6);
      expect(b.data.some((v) => Math.abs(v) > 1 / Math.sqrt(10))).toBe(true); // not PyTorch's U(+-1/sqrt(in))
    } finally {
      gen.dispose();
    }
  });

  it('peaksReached: distances in sigmas to the nearest point of a hand-made curve', () => {
    // a curve along the x axis from 0 to 3 in steps of 0.5: mean (0, 0) lies on it; (3, -1) is 1 away, 2 sigma
    const curve = Array.from({ length: 7 }, (_, j) => [0.5 * j, 0]).flat();
    const r = peaksReached(curve, two);
    expectClose(r.distance, [0, 2], 0, 1e-12, 'distance');
    expect(r.reached).toEqual([true, false]);
    expect(r.count).toBe(1);
    expect(peaksReached(curve, two, 2).count).toBe(2);
  });

  it('the figure: the curve and the means as named data sets; bad input named', () => {
    const curve = toyCurveRows([0, 0, 1, 2, -1, 3], [-1, 0, 1]);
    expect(curve[1]).toEqual({ y1: 1, y2: 2, z: 0 });
    const peaks = toyPeakRows(two.mu, [true, false]);
    expect(peaks.map((p) => p.peak)).toEqual(['reached', 'missed']);
    const spec = toyCurveSpec({ values: [0, 1, 2, 3], x: [-1, 1], y: [-1, 1], curve, peaks, radius: 1 }) as {
      datasets: Record<string, unknown[]>;
      layer: { name?: string; data?: { name?: string } }[];
    };
    expect(spec.datasets[TOY_DATA.curve]).toEqual(curve);
    expect(spec.datasets[TOY_DATA.peaks]).toEqual(peaks);
    expect(spec.layer.map((l) => l.name)).toEqual(['cells', 'curve', 'peaks']);
    expect(spec.layer[1]!.data).toEqual({ name: TOY_DATA.curve });
    expect(() => toyCurveRows([0, 0, 1], [0, 1])).toThrow(/3 curve values \(x, y pairs\) for 2 values of z/);
    expect(() => toyCurveRows([0, Number.NaN], [0])).toThrow(/curve\[1\] is NaN/);
    expect(() => toyPeakRows([0, 0], [true, true])).toThrow(/2 mean values \(x, y pairs\) for 2 reached flags/);
  });

  it('a few rounds of training lower the loss, and steps count on from where they stopped', async () => {
    const run = new ToyRun(0);
    const rounds: number[] = [];
    try {
      await run.train({ until: 100, every: 50, onRound: (p) => void rounds.push(p.loss) });
      await run.train({ until: 300, every: 50, onRound: (p) => void rounds.push(p.loss) });
      expect(run.step).toBe(300);
      expect(rounds).toHaveLength(6);
      expect(rounds.at(-1)!).toBeLessThan(rounds[0]!);
      expect(run.opt.lr).toBeCloseTo(TOY.lr * TOY.lrDecay ** 300, 12);
      const c = await run.curve(9);
      expect(c).toHaveLength(18);
      for (const v of c) expect(Number.isFinite(v)).toBe(true);
    } finally {
      run.dispose();
    }
  });
});
