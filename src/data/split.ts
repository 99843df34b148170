// Seeded train/test splits of a TabularData (src/data/csv.ts), and standardisation fitted on the training
// rows, reproducing numpy and scikit-learn exactly so a split made here is the split made there:
//
// - NumpyRandomState: numpy's legacy np.random.RandomState(seed) for an integer seed: MT19937 seeded by
//   init_genrand, permutation() by its Fisher-Yates shuffle from the end, each bounded integer drawn by
//   masked rejection on 32-bit outputs (numpy's random_interval).
// - 'shuffle': scikit-learn's train_test_split(np.arange(n), test_size=t, random_state=seed): n_test =
//   ceil(t * n), perm = RandomState(seed).permutation(n), test = perm[:n_test], train = perm[n_test:].
//   With Iris, t = 0.33 and seed 42 this is IRIS_TRAIN_INDICES / IRIS_TEST_INDICES of src/data/iris.ts.
// - 'stratified': scikit-learn's train_test_split(..., stratify=y), i.e. StratifiedShuffleSplit: per-class
//   counts by its _approximate_mode (ties broken with the same random draws), each class's rows permuted,
//   then train and test permuted. One departure: where scikit-learn would leave a class with no training
//   or no test row (a small class beside a large test or train set), one of that class's rows is moved
//   across and a row of the class with the most rows on that side moved back, before any row is drawn;
//   the sizes stay, and every class then has a row in both. Checked against scikit-learn 1.2 by
//   test/fixtures/make_split.py.
// - standardise: scikit-learn's StandardScaler fitted on the training rows (population std, ddof 0; a
//   constant column gets std 1) and applied to both parts.
//
// What it is not: no validation set, no cross-validation folds, no group or time-ordered splits, no
// scaling other than mean/std, and not the GPU's random numbers (src/tensor/rng.ts): this stream exists
// to agree with numpy.

import type { TabularData } from './csv.js';

export interface TabularSplit {
  /** (nTrain, features) row-major, rows in the split's order. */
  xTrain: Float32Array;
  /** (nTrain) class indices into `classes`. */
  yTrain: Int32Array;
  /** (nTest, features) row-major, rows in the split's order. */
  xTest: Float32Array;
  /** (nTest) class indices into `classes`. */
  yTest: Int32Array;
  /** Class names indexed by label. */
  classes: string[];
  /** d, the number of feature columns. */
  features: number;
}

export type SplitMode = 'stratified' | 'shuffle';

// ---- numpy's legacy RandomState ----

const N = 624;
const M = 397;

/** numpy's np.random.RandomState(seed) for an integer seed: its MT19937 stream and shuffles. */
export class NumpyRandomState {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(
        `NumpyRandomState: seed ${seed} must be an integer in [0, 2^32 - 1], as numpy's RandomState takes`,
      );
    }
    // init_genrand
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]!;
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  /** The next 32-bit output (genrand_int32), in [0, 2^32). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.pos >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
        mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.pos = 0;
    }
    let y = mt[this.pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** An integer in [0, max], max < 2^32, by masked rejection sampling (numpy's random_interval). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    for (;;) {
      const value = (this.nextUint32() & mask) >>> 0;
      if (value <= max) return value;
    }
  }

  /** Shuffles a in place as numpy's legacy shuffle does a 1-D array: for i = n-1..1, swap a[i], a[interval(i)]. */
  shuffle(a: Int32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }

  /** permutation(n): 0..n-1 shuffled; permutation(values): a shuffled copy. */
  permutation(n: number | ArrayLike<number>): Int32Array {
    const a = typeof n === 'number' ? Int32Array.from({ length: n }, (_, i) => i) : Int32Array.from(n);
    this.shuffle(a);
    return a;
  }

  /** choice(pop, size, replace=False) without weights: the indices permutation(pop)[:size]. */
  choice(pop: number, size: number): Int32Array {
    return this.permutation(pop).slice(0, size);
  }
}

// ---- stratification (scikit-learn's StratifiedShuffleSplit) ----

/**
 * scikit-learn's _approximate_mode: how many of nDraws to take from each class, in proportion to counts,
 * floors first, then the largest remainders, ties broken at random: a permutation of each tied group is
 * drawn (numpy's choice without replacement), down the distinct remainders until the count is made up.
 */
function approximateMode(counts: number[], nDraws: number, rng: NumpyRandomState): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const continuous = counts.map((c) => (c / total) * nDraws);
  const floored = continuous.map(Math.floor);
  let need = nDraws - floored.reduce((a, b) => a + b, 0);
  if (need > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]!);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const now = Math.min(inds.length, need);
      for (const k of rng.choice(inds.length, now)) floored[inds[k]!]++;
      need -= now;
      if (need === 0) break;
    }
  }
  return floored;
}

/**
 * Gives every class at least one row on each side: a class with none on one side moves one row there, and
 * the class with the most rows on that side (the first such) moves one back. Sizes per side are kept.
 */
function fillEmptyClasses(nTrain: number[], nTest: number[]): void {
  for (const [want, other] of [
    [nTest, nTrain],
    [nTrain, nTest],
  ] as const) {
    for (let c = 0; c < want.length; c++) {
      if (want[c]! > 0) continue;
      let donor = -1;
      for (let e = 0; e < want.length; e++) if (want[e]! >= 2 && (donor < 0 || want[e]! > want[donor]!)) donor = e;
      if (donor < 0) return; // fewer rows on that side than classes: refused before this is reached
      want[c]++;
      other[c]--;
      want[donor]--;
      other[donor]++;
    }
  }
}

/** The rows of train and test, as scikit-learn's train_test_split returns them. */
function stratifiedIndices(
  y: Int32Array,
  k: number,
  nTrain: number,
  nTest: number,
  rng: NumpyRandomState,
): { train: number[]; test: number[] } {
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < y.length; i++) byClass[y[i]!]!.push(i); // each class's rows in ascending order (argsort, mergesort)
  const counts = byClass.map((rows) => rows.length);
  const inTrain = approximateMode(counts, nTrain, rng);
  const inTest = approximateMode(
    counts.map((c, i) => c - inTrain[i]!),
    nTest,
    rng,
  );
  fillEmptyClasses(inTrain, inTest);
  const train: number[] = [];
  const test: number[] = [];
  byClass.forEach((rows, c) => {
    const perm = rng.permutation(rows.length);
    for (let j = 0; j < inTrain[c]! + inTest[c]!; j++) (j < inTrain[c]! ? train : test).push(rows[perm[j]!]!);
  });
  return { train: Array.from(rng.permutation(train)), test: Array.from(rng.permutation(test)) };
}

// ---- the split ----

function gather(data: TabularData, rows: number[]): { x: Float32Array; y: Int32Array } {
  const d = data.features.length;
  const x = new Float32Array(rows.length * d); // (rows, d)
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    x.set(data.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = data.y[r]!;
  });
  return { x, y };
}

/** The test and training set sizes for opts; throws, naming the file and the option, on a bad one. */
function sizes(data: TabularData, opts: { testSize: number; seed: number; mode: SplitMode }) {
  const { testSize: t, seed, mode } = opts;
  const file = data.source;
  const n = data.y.length;
  const d = data.features.length;
  if (data.x.length !== n * d) {
    throw new Error(`${file}: x holds ${data.x.length} values, not ${n} rows x ${d} features = ${n * d}`);
  }
  if (mode !== 'stratified' && mode !== 'shuffle') {
    throw new Error(`${file}: split mode ${JSON.stringify(mode)} is not one of 'stratified', 'shuffle'`);
  }
  if (!(t > 0 && t < 1)) {
    throw new Error(
      `${file}: --test-size ${t} is outside (0, 1): it is the fraction of rows held out for testing, e.g. 0.33`,
    );
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`${file}: --seed ${seed} must be an integer in [0, 2^32 - 1] (numpy's RandomState seeds)`);
  }
  const nTest = Math.ceil(t * n);
  const nTrain = n - nTest;
  if (nTrain === 0) {
    throw new Error(
      `${file}: --test-size ${t} of ${n} rows puts all ${n} in the test set, none in training: lower --test-size`,
    );
  }
  return { nTest, nTrain };
}

/** Throws, naming the file and what to do, when data cannot be split stratified into nTrain and nTest rows. */
function checkStrata(data: TabularData, t: number, nTrain: number, nTest: number): void {
  const { source: file, classes } = data;
  const k = classes.length;
  const n = data.y.length;
  const counts = new Array<number>(k).fill(0);
  for (const c of data.y) {
    if (!(c >= 0 && c < k)) throw new Error(`${file}: a row has class index ${c}, outside 0..${k - 1}`);
    counts[c]++;
  }
  counts.forEach((count, c) => {
    if (count < 2) {
      throw new Error(
        `${file}: the class ${JSON.stringify(classes[c])} has ${count} row${count === 1 ? '' : 's'}: a ` +
          'stratified split needs at least 2 of each class; add rows of it, or use the shuffle split',
      );
    }
  });
  if (nTest < k || nTrain < k) {
    const [side, size] = nTest < k ? ['test', nTest] : ['training', nTrain];
    const fix = nTest < k ? `raise --test-size to at least ${(k / n).toFixed(3)}` : 'lower --test-size';
    throw new Error(
      `${file}: --test-size ${t} of ${n} rows gives a ${side} set of ${size} rows, fewer than the ${k} ` +
        `classes, and a stratified split needs one row of each class on each side: ${fix}`,
    );
  }
}

/**
 * Splits the rows of data into train and test sets, seeded: 'shuffle' is scikit-learn's train_test_split,
 * 'stratified' its stratified version (each class split in proportion, at least one row of each in both).
 * Throws, naming the file and the option, when the test size leaves a set empty or a class without rows.
 */
export function splitTabular(
  data: TabularData,
  opts: { testSize: number; seed: number; mode: SplitMode },
): TabularSplit {
  const { nTest, nTrain } = sizes(data, opts);
  const rng = new NumpyRandomState(opts.seed);
  let train: number[];
  let test: number[];
  if (opts.mode === 'shuffle') {
    const perm = Array.from(rng.permutation(data.y.length));
    test = perm.slice(0, nTest);
    train = perm.slice(nTest);
  } else {
    checkStrata(data, opts.testSize, nTrain, nTest);
    ({ train, test } = stratifiedIndices(data.y, data.classes.length, nTrain, nTest, rng));
  }
  const a = gather(data, train);
  const b = gather(data, test);
  return {
    xTrain: a.x,
    yTrain: a.y,
    xTest: b.x,
    yTest: b.y,
    classes: [...data.classes],
    features: data.features.length,
  };
}

// ---- standardisation ----

/**
 * Standardises both parts with the mean and population std of the TRAINING rows (scikit-learn's
 * StandardScaler: sums in float64, a column constant within rounding gets std 1). Returns a new split
 * and the float32 mean and std; the input is not changed.
 */
export function standardise(split: TabularSplit): { split: TabularSplit; mean: Float32Array; std: Float32Array } {
  const d = split.features;
  const n = split.yTrain.length;
  if (n === 0 || split.xTrain.length !== n * d || split.xTest.length !== split.yTest.length * d) {
    throw new Error(
      `standardise: the split should hold (nTrain, ${d}) and (nTest, ${d}) features with nTrain > 0, ` +
        `found ${split.xTrain.length} training values for ${n} rows, ${split.xTest.length} test values for ` +
        `${split.yTest.length} rows`,
    );
  }
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += split.xTrain[i * d + j]!;
    const mean = sum / n;
    // two passes with the correction term, as scikit-learn's _incremental_mean_and_var
    let dev = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const e = split.xTrain[i * d + j]! - mean;
      dev += e;
      sq += e * e;
    }
    const v = Math.max(0, (sq - (dev * dev) / n) / n);
    const eps = Number.EPSILON;
    const constant = v <= n * eps * v + (n * mean * eps) ** 2; // scikit-learn's _is_constant_feature
    mu[j] = mean;
    sd[j] = constant ? 1 : Math.sqrt(v);
  }
  const apply = (x: Float32Array) => x.map((v, i) => (v - mu[i % d]!) / sd[i % d]!);
  return {
    split: {
      xTrain: apply(split.xTrain),
      yTrain: split.yTrain.slice(),
      xTest: apply(split.xTest),
      yTest: split.yTest.slice(),
      classes: [...split.classes],
      features: d,
    },
    mean: Float32Array.from(mu),
    std: Float32Array.from(sd),
  };
}
