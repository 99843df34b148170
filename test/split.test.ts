// splitTabular, NumpyRandomState and standardise (src/data/split.ts) against numpy and scikit-learn
// (test/fixtures/make_split.py -> split.json): the raw MT19937 stream, permutations, both split modes row
// for row, Iris's fixed split, stratification proportions, determinism, and standardisation from the
// training rows checked against scikit-learn's StandardScaler and a float64 computation here.

import { describe, expect, it } from 'vitest';
import type { TabularData } from '../src/data/csv.js';
import { IRIS_TEST_INDICES, IRIS_TRAIN_INDICES, irisSplit, loadIris } from '../src/data/iris.js';
import { NumpyRandomState, type SplitMode, splitTabular, standardise } from '../src/data/split.js';
import fx from './fixtures/split.json';
import { expectClose } from './helpers.js';

/** n rows whose one feature is the row's index, so a split's x lists the rows it took. */
function indexed(y: ArrayLike<number>, source = 'rows.csv'): TabularData {
  const k = Math.max(0, ...Array.from(y)) + 1;
  return {
    x: Float32Array.from({ length: y.length }, (_, i) => i),
    y: Int32Array.from(y),
    classes: Array.from({ length: k }, (_, c) => `c${c}`),
    features: ['row'],
    source,
  };
}

function rows(data: TabularData, testSize: number, seed: number, mode: SplitMode) {
  const s = splitTabular(data, { testSize, seed, mode });
  return { train: Array.from(s.xTrain), test: Array.from(s.xTest), split: s };
}

function counts(y: Int32Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const v of y) c[v]++;
  return c;
}

describe('NumpyRandomState', () => {
  it("gives numpy's MT19937 outputs for RandomState(seed)", () => {
    for (const { seed, values } of fx.raw) {
      const rng = new NumpyRandomState(seed);
      expect(
        values.map(() => rng.nextUint32()),
        `seed ${seed}`,
      ).toEqual(values);
    }
  });

  it("gives numpy's permutation(n)", () => {
    for (const { seed, n, perm } of fx.permutations) {
      expect(Array.from(new NumpyRandomState(seed).permutation(n)), `seed ${seed}, n ${n}`).toEqual(perm);
    }
  });

  it('refuses a seed numpy refuses', () => {
    expect(() => new NumpyRandomState(-1)).toThrow(/seed -1 must be an integer in \[0, 2\^32 - 1\]/);
    expect(() => new NumpyRandomState(2 ** 32)).toThrow(/must be an integer/);
    expect(() => new NumpyRandomState(1.5)).toThrow(/must be an integer/);
  });
});

describe('splitTabular', () => {
  it("'shuffle' equals scikit-learn's train_test_split row for row, and refuses where it does", () => {
    let compared = 0;
    for (const c of fx.shuffle) {
      const data = indexed(new Array(c.n).fill(0));
      const what = `n ${c.n}, test size ${c.test_size}, seed ${c.seed}`;
      if ('error' in c) {
        expect(() => splitTabular(data, { testSize: c.test_size, seed: c.seed, mode: 'shuffle' }), what).toThrow(
          /--test-size/,
        );
        continue;
      }
      const got = rows(data, c.test_size, c.seed, 'shuffle');
      expect(got.test, what).toEqual(c.test);
      expect(got.train, what).toEqual(c.train);
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });

  it("'stratified' equals scikit-learn's stratified train_test_split, and refuses where it does", () => {
    let compared = 0;
    for (const c of fx.stratified) {
      const y = c.y!;
      const data = indexed(y);
      const what = `${c.name}, test size ${c.test_size}, seed ${c.seed}`;
      if ('error' in c) {
        expect(() => rows(data, c.test_size, c.seed, 'stratified'), what).toThrow(/--test-size/);
        continue;
      }
      const got = rows(data, c.test_size, c.seed, 'stratified');
      expect(got.train.length, what).toBe(c.train!.length);
      expect(got.test.length, what).toBe(c.test!.length);
      const k = data.classes.length;
      const inTrain = counts(got.split.yTrain, k);
      const inTest = counts(got.split.yTest, k);
      expect(
        inTrain.every((v) => v > 0) && inTest.every((v) => v > 0),
        `${what}: a class is missing (${inTrain} / ${inTest})`,
      ).toBe(true);
      expect(
        [...got.train, ...got.test].sort((a, b) => a - b),
        what,
      ).toEqual(y.map((_, i) => i));
      if (c.empty_class) continue; // scikit-learn leaves a class out there; we move one row (checked above)
      expect(got.test, what).toEqual(c.test);
      expect(got.train, what).toEqual(c.train);
      compared++;
    }
    expect(compared).toBeGreaterThan(60);
  });

  it("Iris, test size 0.33, seed 42, 'shuffle': exactly IRIS_TRAIN_INDICES / IRIS_TEST_INDICES", () => {
    const iris = loadIris();
    const got = rows(indexed(iris.y, 'iris.csv'), 0.33, 42, 'shuffle');
    expect(got.train).toEqual([...IRIS_TRAIN_INDICES]);
    expect(got.test).toEqual([...IRIS_TEST_INDICES]);

    const data: TabularData = { ...iris, features: ['sl', 'sw', 'pl', 'pw'], source: 'iris.csv' };
    const split = splitTabular(data, { testSize: 0.33, seed: 42, mode: 'shuffle' });
    const fixed = irisSplit();
    expect(Array.from(split.xTrain)).toEqual(Array.from(fixed.xTrain));
    expect(Array.from(split.yTrain)).toEqual(Array.from(fixed.yTrain));
    expect(Array.from(split.xTest)).toEqual(Array.from(fixed.xTest));
    expect(Array.from(split.yTest)).toEqual(Array.from(fixed.yTest));
    expect(split.classes).toEqual(fixed.classes);
    expect(split.features).toBe(4);
  });

  it("'stratified' splits each class in proportion, within one row, with a row of each on each side", () => {
    const labelSets = [
      loadIris().y,
      Int32Array.from({ length: 200 }, (_, i) => (i < 150 ? 0 : i < 190 ? 1 : 2)), // 150 / 40 / 10
      Int32Array.from({ length: 97 }, (_, i) => (i * 7) % 5),
      Int32Array.from({ length: 52 }, (_, i) => (i < 50 ? 0 : 1)), // 50 / 2
    ];
    for (const y of labelSets) {
      for (const t of [0.1, 0.33, 0.5, 0.8]) {
        for (const seed of [0, 3]) {
          const data = indexed(y);
          const k = data.classes.length;
          if (Math.ceil(t * y.length) < k || y.length - Math.ceil(t * y.length) < k) continue;
          const s = splitTabular(data, { testSize: t, seed, mode: 'stratified' });
          const all = counts(data.y, k);
          const inTest = counts(s.yTest, k);
          const inTrain = counts(s.yTrain, k);
          const what = `${all} rows, test size ${t}, seed ${seed}: test ${inTest}`;
          expect(s.yTest.length, what).toBe(Math.ceil(t * y.length));
          all.forEach((count, c) => {
            expect(inTrain[c]! + inTest[c]!, what).toBe(count);
            expect(inTest[c]!, what).toBeGreaterThanOrEqual(1);
            expect(inTrain[c]!, what).toBeGreaterThanOrEqual(1);
            // in proportion: within one row, unless the class needed a row moved to have one on each side
            if (count * t >= 1 && count * (1 - t) >= 1) expect(Math.abs(inTest[c]! - count * t), what).toBeLessThan(2);
          });
        }
      }
    }
  });

  it('is deterministic for a seed, and another seed gives another split', () => {
    const data = indexed(loadIris().y);
    for (const mode of ['shuffle', 'stratified'] as const) {
      const a = rows(data, 0.33, 7, mode);
      const b = rows(data, 0.33, 7, mode);
      expect(b.train).toEqual(a.train);
      expect(b.test).toEqual(a.test);
      const c = rows(data, 0.33, 8, mode);
      expect(c.test.length).toBe(a.test.length);
      expect(new Set(c.test)).not.toEqual(new Set(a.test));
    }
  });

  it('refuses a bad test size, seed or class, naming the file and the option', () => {
    const data = indexed([0, 1, 0, 1, 0, 1, 0, 1], 'small.csv');
    const split = (testSize: number, seed = 0, mode: SplitMode = 'stratified') =>
      splitTabular(data, { testSize, seed, mode });
    for (const t of [0, 1, -0.1, 1.5, Number.NaN]) {
      expect(() => split(t)).toThrow(/^small\.csv: --test-size .* is outside \(0, 1\)/);
    }
    expect(() => split(0.99, 0, 'shuffle')).toThrow(
      /^small\.csv: --test-size 0\.99 of 8 rows puts all 8 in the test set/,
    );
    expect(() => split(0.1)).toThrow(/gives a test set of 1 rows, fewer than the 2 classes.*raise --test-size/);
    expect(() => split(0.8)).toThrow(/gives a training set of 1 rows, fewer than the 2 classes.*lower --test-size/);
    expect(() => split(0.5, -3)).toThrow(/^small\.csv: --seed -3 must be an integer/);
    const lonely = indexed([0, 0, 0, 1, 0, 0], 'lonely.csv');
    expect(() => splitTabular(lonely, { testSize: 0.5, seed: 0, mode: 'stratified' })).toThrow(
      /^lonely\.csv: the class "c1" has 1 row: a stratified split needs at least 2/,
    );
  });
});

describe('standardise', () => {
  const s = fx.standardise;
  const data: TabularData = {
    x: Float32Array.from(s.x),
    y: new Int32Array(s.n),
    classes: ['a'],
    features: ['f0', 'f1', 'f2', 'f3'],
    source: 'scaled.csv',
  };
  const split = splitTabular(data, { testSize: s.test_size, seed: s.seed, mode: 'shuffle' });

  it("uses the training rows only: scikit-learn's StandardScaler", () => {
    const { split: scaled, mean, std } = standardise(split);
    expectClose(mean, s.mean, 1e-7, 0, 'mean');
    expectClose(std, s.scale, 1e-6, 0, 'std');
    expect(std[1]).toBe(1); // the constant column
    expectClose(scaled.xTrain, s.x_train, 0, 2e-5, 'xTrain');
    expectClose(scaled.xTest, s.x_test, 0, 2e-5, 'xTest');
  });

  it('matches a float64 mean and population std of the training rows, and ignores the test rows', () => {
    const d = split.features;
    const n = split.yTrain.length;
    const mean = new Float64Array(d);
    const std = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      const col = Array.from({ length: n }, (_, i) => split.xTrain[i * d + j]!);
      mean[j] = col.reduce((a, b) => a + b, 0) / n;
      const v = col.reduce((a, b) => a + (b - mean[j]!) ** 2, 0) / n;
      std[j] = v === 0 ? 1 : Math.sqrt(v);
    }
    const got = standardise(split);
    expectClose(got.mean, mean, 1e-7, 0, 'mean');
    expectClose(got.std, std, 1e-6, 0, 'std');
    const want = (x: Float32Array) => Array.from(x, (v, i) => (v - mean[i % d]!) / std[i % d]!);
    expectClose(got.split.xTrain, want(split.xTrain), 0, 2e-5, 'xTrain');
    expectClose(got.split.xTest, want(split.xTest), 0, 2e-5, 'xTest');

    // moving the test rows far away changes neither the statistics nor the training part
    const moved = { ...split, xTest: split.xTest.map((v) => v * 1000 + 5) };
    const again = standardise(moved);
    expect(Array.from(again.mean)).toEqual(Array.from(got.mean));
    expect(Array.from(again.std)).toEqual(Array.from(got.std));
    expect(Array.from(again.split.xTrain)).toEqual(Array.from(got.split.xTrain));
    expect(Array.from(split.xTrain)).not.toEqual(Array.from(got.split.xTrain)); // the input is left alone
  });
});
