// Pairwise distances and k nearest neighbours against their float64 references: forward values,
// finite-difference gradients (through the tiles, the split of D, ties and zero distances, knn's scatter),
// and one large case at the hypernetwork's size (32 networks of 20,018 weights), forward only.
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuKnn, cpuPairwiseDistances, knn, type Metric, pairwiseDistances } from '../src/ops/distance.js';
import { backward, requireGrad, scope, tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const metrics: Metric[] = ['l1', 'l2', 'sqeuclidean'];

// Forward within rtol 1e-5 / atol 1e-5 of float64 (long sums: rtol 1e-4); backward against central
// differences within rtol 1e-3 / atol 1e-4.
describe('pairwiseDistances', () => {
  it('forward and gradients, x against y', async () => {
    // small D (a thread per pair); tiles across their edges (33 x 34, D = 33: three staged slices, the last
    // partial); a long D split between workgroups (D = 2,100: spans of tiles on a GPU; on a CPU adapter, few
    // pairs go a thread per pair and span: 3 spans). Tiles split over D on a CPU adapter: the next test.
    const shapes: [number, number, number][] = [
      [5, 6, 7],
      [33, 34, 33],
      [2, 3, 2100],
    ];
    for (const metric of metrics) {
      for (const [k, [n, m, dim]] of shapes.entries()) {
        await checkOp({
          name: `${metric} (${n}, ${dim}) x (${m}, ${dim})`,
          inputs: [randomData(k + 1, [n, dim]), randomData(k + 11, [m, dim])],
          gpu: (x, y) => pairwiseDistances(x, y, metric),
          cpu: (x, y) => cpuPairwiseDistances(x, y, n, m, dim, metric),
          rtol: 1e-4,
          h: 1e-6, // |x - y| has a kink at 0: keep the step below the closest pair (the reference is float64)
        });
      }
    }
  });

  it('a set against itself: zero distances, ties, and the L2 gradient at d = 0', async () => {
    // rows 0 and 3 are equal (d = 0 off the diagonal too); column 1 repeats values (L1 ties: sign 0)
    const n = 5;
    const dim = 3;
    const data = Array.from(randomData(4, [n, dim]).data);
    for (let c = 0; c < dim; c++) data[3 * dim + c] = data[c]!;
    data[1 * dim + 1] = data[2 * dim + 1]!;
    for (const metric of metrics) {
      await checkOp({
        name: `${metric} self-distances`,
        inputs: [{ data, shape: [n, dim] }],
        gpu: (x) => pairwiseDistances(x, x, metric),
        cpu: (x) => cpuPairwiseDistances(x, x, n, n, dim, metric),
      });
      // more rows than a tile: the one-pass gradient of a set against itself across tile edges
      await checkOp({
        name: `${metric} self-distances (34, 9)`,
        inputs: [randomData(8, [34, 9])],
        gpu: (x) => pairwiseDistances(x, x, metric),
        cpu: (x) => cpuPairwiseDistances(x, x, 34, 34, 9, metric),
        h: 1e-6,
      });
    }
  });

  it('the L2 gradient of a zero distance is 0, not NaN', async () => {
    const got = scope(() => {
      const x = requireGrad(tensor([1, 2, 1, 2], [2, 2]));
      backward(pairwiseDistances(x, x, 'l2'), tensor([1, 1, 1, 1], [2, 2]));
      return x.grad!.keep();
    });
    expect(Array.from(await got.data())).toEqual([0, 0, 0, 0]);
    got.dispose();
  });

  it('many pairs: 300 points in 15 dims (forward)', async () => {
    const n = 300;
    const dim = 15;
    const x = randomData(5, [n, dim]).data;
    const d = scope(() => pairwiseDistances(tensor(x, [n, dim]), tensor(x, [n, dim]), 'l2'));
    expectClose(await d.data(), cpuPairwiseDistances(x, x, n, n, dim, 'l2'), 1e-5, 1e-5, 'l2 300 x 15');
    d.dispose();
  });

  it('tiles split over D: 33 x 34 pairs of 600 values (forward)', async () => {
    const [n, m, dim] = [33, 34, 600];
    const x = randomData(8, [n, dim]).data;
    const y = randomData(9, [m, dim]).data;
    for (const metric of metrics) {
      const d = scope(() => pairwiseDistances(tensor(x, [n, dim]), tensor(y, [m, dim]), metric));
      expectClose(await d.data(), cpuPairwiseDistances(x, y, n, m, dim, metric), 1e-5, 1e-4, `${metric} 33 x 34 x 600`);
      d.dispose();
    }
  });

  it("the hypernetwork's size: 32 x 20,018 (forward, L1 and L2)", async () => {
    const n = 32;
    const dim = 20018;
    const x = randomData(6, [n, dim]).data;
    const y = randomData(7, [n, dim]).data;
    for (const metric of ['l1', 'l2'] as const) {
      const d = scope(() => pairwiseDistances(tensor(x, [n, dim]), tensor(y, [n, dim]), metric));
      expectClose(await d.data(), cpuPairwiseDistances(x, y, n, n, dim, metric), 1e-5, 1e-4, `${metric} 32 x 20018`);
      d.dispose();
    }
  });

  it('rejects mismatched shapes', () => {
    scope(() => {
      expect(() =>
        pairwiseDistances(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(8), [2, 4]), 'l1'),
      ).toThrow(/differ in D/);
      expect(() =>
        pairwiseDistances(tensor(new Float32Array(6), [6]), tensor(new Float32Array(6), [2, 3]), 'l1'),
      ).toThrow(/must be an f32 matrix/);
    });
  });
});

describe('knn', () => {
  it('ascending, ties by lower column, with and without excludeSelf', async () => {
    // row 0 ties 0.5 at columns 1, 2 and 4; row 2's smallest is its own column
    const d = [0, 0.5, 0.5, 0.9, 0.5, 0.3, 0, 0.3, 0.2, 0.7, 0.1, 0.4, 0, 0.4, 0.1, 2, 1, 1, 0, 1];
    const rows = 4;
    const cols = 5;
    for (const excludeSelf of [false, true]) {
      for (const k of [1, 3]) {
        const got = scope(() => {
          const r = knn(tensor(d, [rows, cols]), k, { excludeSelf });
          return [r.values, r.indices];
        });
        const ref = cpuKnn(Float32Array.from(d), rows, cols, k, excludeSelf);
        const what = `knn k=${k} excludeSelf=${excludeSelf}`;
        expectClose(await got[0]!.data(), ref.values, 0, 0, `${what} values`);
        expect(Array.from(await got[1]!.data()), `${what} indices`).toEqual(Array.from(ref.indices));
        for (const t of got) t.dispose();
      }
    }
    const ref = cpuKnn(d, rows, cols, 3, true);
    expect(Array.from(ref.indices.slice(0, 3))).toEqual([1, 2, 4]);
    expect(Array.from(ref.indices.slice(3, 6))).toEqual([3, 0, 2]);
  });

  it('many rows (thread per row) against the reference', async () => {
    const rows = 150;
    const cols = 150;
    const d = cpuRng(9).uniform(rows * cols, 0, 1);
    const got = scope(() => {
      const r = knn(tensor(d, [rows, cols]), 4, { excludeSelf: true });
      return [r.values, r.indices];
    });
    const ref = cpuKnn(Float32Array.from(d), rows, cols, 4, true);
    expectClose(await got[0]!.data(), ref.values, 0, 0, 'knn 150 values');
    expect(Array.from(await got[1]!.data())).toEqual(Array.from(ref.indices));
    for (const t of got) t.dispose();
  });

  it('the gradient scatters into the selected entries', async () => {
    const rows = 4;
    const cols = 6;
    await checkOp({
      name: 'knn values',
      inputs: [randomData(12, [rows, cols], 0, 1)],
      gpu: (d) => knn(d, 2).values,
      cpu: (d) => cpuKnn(d, rows, cols, 2).values,
    });
  });

  it('end to end: nearest-neighbour distance of each point to the others, d/dx', async () => {
    // what the Kozachenko-Leonenko estimate differentiates: eps_i = min_{j != i} d(x_i, x_j)
    const n = 6;
    const dim = 4;
    for (const metric of ['l1', 'l2'] as const) {
      await checkOp({
        name: `${metric} nearest neighbour`,
        inputs: [randomData(13, [n, dim])],
        gpu: (x) => knn(pairwiseDistances(x, x, metric), 1, { excludeSelf: true }).values,
        cpu: (x) => cpuKnn(cpuPairwiseDistances(x, x, n, n, dim, metric), n, n, 1, true).values,
      });
    }
  });

  it('rejects k out of range', () => {
    scope(() => {
      const d = tensor(new Float32Array(9), [3, 3]);
      expect(() => knn(d, 3, { excludeSelf: true })).toThrow(/integer in 1\.\.2/);
      expect(() => knn(d, 0)).toThrow(/integer in 1\.\.3/);
    });
  });
});
