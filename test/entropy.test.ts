// The Kozachenko-Leonenko entropy term (analysis/entropy.ts): its float64 reference against values worked
// out by hand, the GPU estimate against the reference (L1 and L2, several N and D), and its gradient against
// central differences of the reference. Not here: the distances and knn ops themselves (distance.test.ts).

import { beforeAll, describe, expect, it } from 'vitest';
import { cpuKlEntropy, type EntropyMetric, klEntropy } from '../src/analysis/entropy.js';
import { EULER_GAMMA } from '../src/analysis/special.js';
import { scope, tensor } from '../src/tensor/index.js';
import { checkOp } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const metrics: EntropyMetric[] = ['l1', 'l2'];

/** Distances between rows i and j of x (N rows of D), in float64. */
function distance(x: ArrayLike<number>, D: number, i: number, j: number, metric: EntropyMetric): number {
  let s = 0;
  for (let k = 0; k < D; k++) {
    const d = x[i * D + k]! - x[j * D + k]!;
    s += metric === 'l1' ? Math.abs(d) : d * d;
  }
  return metric === 'l1' ? s : Math.sqrt(s);
}

/**
 * How far each row's nearest other row is from its second nearest, at the least (the smallest gap over the
 * rows; for N = 2 there is no second: Infinity). A finite-difference step h on one coordinate moves any
 * distance by at most h, so a gap far above h keeps every nearest neighbour where it is.
 */
function nearestGap(x: ArrayLike<number>, N: number, D: number, metric: EntropyMetric): number {
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 0; i < N; i++) {
    const d = Array.from({ length: N }, (_, j) => (j === i ? Number.POSITIVE_INFINITY : distance(x, D, i, j, metric)));
    d.sort((a, b) => a - b);
    if (N > 2) gap = Math.min(gap, d[1]! - d[0]!);
  }
  return gap;
}

/** Random rows in [-1, 1]^D, as f32 values. */
function randomRows(seed: number, N: number, D: number): Float64Array {
  return Float64Array.from(Float32Array.from(cpuRng(seed).uniform(N * D, -1, 1)));
}

async function gpuEntropy(x: ArrayLike<number>, N: number, D: number, d: number, metric: EntropyMetric) {
  return scope(() => klEntropy(tensor(x, [N, D]), d, metric)).item();
}

describe('klEntropy', () => {
  it('the reference gives values worked out by hand', () => {
    // 1-D points 0, 1, 3: nearest distances 1, 1, 2 in either metric; psi(3) = 3/2 - gamma
    for (const metric of metrics) {
      const want = (5 * (2 * Math.log(1 + 1e-8) + Math.log(2 + 1e-8))) / 3 + 1.5 - EULER_GAMMA;
      expect(cpuKlEntropy([0, 1, 3], 3, 5, metric)).toBeCloseTo(want, 12);
    }
    // 2-D points a (0, 0), b (3, 0), c (2, 2): in L1 every nearest distance is 3 (a: b; b: a or c; c: b); in
    // L2 a's nearest is c (2 sqrt 2, not b at 3) and b's and c's are each other (sqrt 5)
    const x = [0, 0, 3, 0, 2, 2];
    const l1 = 7 * Math.log(3 + 1e-8) + 1.5 - EULER_GAMMA;
    const l2 = (7 * (Math.log(2 * Math.SQRT2 + 1e-8) + 2 * Math.log(Math.sqrt(5) + 1e-8))) / 3 + 1.5 - EULER_GAMMA;
    expect(cpuKlEntropy(x, 3, 7, 'l1')).toBeCloseTo(l1, 12);
    expect(cpuKlEntropy(x, 3, 7, 'l2')).toBeCloseTo(l2, 12);
    // two equal points: log(0 + 1e-8); psi(2) = 1 - gamma
    expect(cpuKlEntropy([0.5, -2, 0.5, -2], 2, 3, 'l2')).toBeCloseTo(3 * Math.log(1e-8) + 1 - EULER_GAMMA, 12);
  });

  it('the GPU estimate on those hand-worked points', async () => {
    const x = [0, 0, 3, 0, 2, 2];
    for (const metric of metrics) {
      expectClose([await gpuEntropy(x, 3, 2, 7, metric)], [cpuKlEntropy(x, 3, 7, metric)], 1e-6, 1e-6, metric);
    }
    expectClose([await gpuEntropy([0.5, -2, 0.5, -2], 2, 2, 3, 'l1')], [3 * Math.log(1e-8) + 1 - EULER_GAMMA], 1e-6);
  });

  // Forward within 1e-5 relative of float64 (sums of up to 300 terms in f32); the gradient against central
  // differences of the reference with h = 1e-6 (float64), within the checker's 1e-3 relative / 1e-4: the
  // points are checked to keep their nearest neighbours under that step (the gap to the second nearest is
  // over 1e-3, a thousand times the step), so that min() has no kink inside it.
  it('matches its float64 reference, values and gradients (L1 and L2, several N and D)', async () => {
    const cases: [number, number, number][] = [
      [2, 1, 1], // N, D, d
      [2, 9, 300],
      [5, 1, 3],
      [5, 7, 300],
      [17, 4, 2],
      [9, 300, 300],
    ];
    for (const metric of metrics) {
      for (const [c, [N, D, d]] of cases.entries()) {
        const x = randomRows(100 + c, N, D);
        expect(nearestGap(x, N, D, metric), `${metric} N ${N} D ${D}: nearest neighbours too close`).toBeGreaterThan(
          1e-3,
        );
        await checkOp({
          name: `klEntropy ${metric} N ${N} D ${D} d ${d}`,
          inputs: [{ data: x, shape: [N, D] }],
          gpu: (t) => klEntropy(t, d, metric),
          cpu: (t) => [cpuKlEntropy(t, N, d, metric)],
          h: 1e-6,
        });
      }
    }
  });

  it('at the hypernetwork size (32 networks of 20,018 weights), forward', async () => {
    const [N, D] = [32, 20_018];
    const rng = cpuRng(7);
    // networks spread around a common point, as generated ones are: distances far from their coordinates' scale
    const base = rng.uniform(D, -1, 1);
    const x = Float64Array.from(
      Float32Array.from({ length: N * D }, (_, i) => base[i % D]! + 0.05 * (2 * rng.next() - 1)),
    );
    for (const metric of metrics) {
      expectClose([await gpuEntropy(x, N, D, 300, metric)], [cpuKlEntropy(x, N, 300, metric)], 1e-5, 0, metric);
    }
  });

  it('refuses fewer than 2 samples, or samples that are not rows', () => {
    scope(() => {
      expect(() => klEntropy(tensor([1, 2, 3], [1, 3]), 3, 'l1')).toThrow(
        /needs 2 or more samples as rows \(N, D\), got \(1, ?3\)/,
      );
      expect(() => klEntropy(tensor([1, 2, 3], [3]), 3, 'l1')).toThrow(/needs 2 or more samples as rows/);
    });
  });
});
