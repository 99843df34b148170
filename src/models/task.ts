// The dataset a weight-VAE pipeline runs on: the training and test rows, and the two network shapes its zoos
// take from them. One pipeline (src/cli/iris.ts, iris-tsne.ts, iris-finetune.ts) serves every dataset:
// `weightgen iris` hands it Iris (irisTask, the paper's fixed split and raw values), `weightgen tabular` a
// CSV's rows (src/cli/tabular.ts). The shapes follow the data:
//   M1  Linear(d, k)                    the Real and Scrambled zoos, the VAE's networks
//   M2  Linear(d, h) -> ReLU -> Linear(h, k)   the Real-2 zoo, the enhanced VAE's networks
// with d the features, k the classes and h the hidden width (Iris: 4, 3 and 5, zoo.ts ARCHS). A task whose
// shapes are Iris's names them 'M1' and 'M2', exactly as the Iris pipeline always has, so that Iris's rows
// given as a CSV go through the same code with the same numbers.
//
// Not here: reading or splitting a CSV (src/data/csv.ts, split.ts), the networks themselves (zoo.ts).

import { irisSplit } from '../data/iris.js';
import { ARCHS, type Arch, type Net, ZOO_SETS, type ZooSet } from './zoo.js';

/** Training and test rows: Iris's fixed split, or a CSV's (src/data/split.ts's TabularSplit fits). */
export interface TaskSplit {
  xTrain: Float32Array; // (N, d) row-major
  yTrain: Int32Array; // (N) labels in 0..k-1
  xTest: Float32Array; // (M, d)
  yTest: Int32Array; // (M)
  classes: string[]; // (k) the class names, indexed by label
}

export interface Task {
  /** What tables and figures call the data: 'Iris', or the CSV file's name. */
  name: string;
  split: TaskSplit;
  features: number; // d
  classes: number; // k
  hidden: number; // h, M2's hidden width
  /**
   * Where the rows came from, as the run folder's manifest records it with every file (a changed CSV is then
   * refused like any changed setting). Absent for Iris, whose run folders predate other datasets.
   */
  source?: Record<string, unknown>;
  /** The command line that makes a step's files on this data, for messages: step 'zoo' -> `weightgen iris zoo`. */
  command: (step: string) => string;
}

/** Iris: the paper's fixed 100/50 split, raw cm values, M2 4-5-3. */
export function irisTask(): Task {
  return {
    name: 'Iris',
    split: irisSplit(),
    features: ARCHS.M1[0],
    classes: ARCHS.M1[1],
    hidden: ARCHS.M2[1],
    command: (step) => `weightgen iris ${step}`,
  };
}

/**
 * A task on any rows: checks that they are whole rows of `features` values with labels in 0..classes-1, both
 * sides non-empty, and that the hidden width is a positive integer.
 */
export function makeTask(t: Omit<Task, 'features' | 'classes'>): Task {
  const { split, hidden, name } = t;
  const n = split.yTrain.length;
  const m = split.yTest.length;
  const k = split.classes.length;
  if (n < 2 || m < 1) {
    throw new Error(`${name}: ${n} training and ${m} test rows; the pipeline needs 2 or more and 1 or more`);
  }
  const d = split.xTrain.length / n;
  if (!Number.isInteger(d) || d < 1 || split.xTest.length !== m * d) {
    throw new Error(
      `${name}: ${split.xTrain.length} training values for ${n} rows and ${split.xTest.length} test values for ${m} rows are not rows of one width`,
    );
  }
  if (k < 2) throw new Error(`${name}: ${k} class (${split.classes.join(', ')}); a classifier needs 2 or more`);
  for (const [side, y] of [
    ['training', split.yTrain],
    ['test', split.yTest],
  ] as const) {
    const bad = y.findIndex((c) => !(c >= 0 && c < k));
    if (bad >= 0) throw new Error(`${name}: ${side} row ${bad} has label ${y[bad]}, outside 0..${k - 1}`);
  }
  if (!Number.isInteger(hidden) || hidden < 1)
    throw new Error(`${name}: hidden width ${hidden} must be an integer >= 1`);
  return { ...t, features: d, classes: k };
}

/** The layer widths of a task's networks: M1 [d, k], M2 [d, h, k]. */
export function taskWidths(t: Task, arch: Arch): number[] {
  return arch === 'M1' ? [t.features, t.classes] : [t.features, t.hidden, t.classes];
}

/** A task's network of `arch`: the name alone when its widths are Iris's (zoo.ts ARCHS), else the shape. */
export function taskNet(t: Task, arch: Arch): Net {
  const widths = taskWidths(t, arch);
  const iris: readonly number[] = ARCHS[arch];
  return widths.length === iris.length && widths.every((w, i) => w === iris[i]) ? arch : { arch, widths };
}

/** "Linear(4,3)" or "4-5-3": how tables and figures name a network shape. */
export function netTitle(t: Task, arch: Arch): string {
  const w = taskWidths(t, arch);
  return arch === 'M1' ? `Linear(${w.join(',')})` : w.join('-');
}

/** The paper's three zoo sets (zoo.ts ZOO_SETS) with the task's shapes: ZOO_SETS itself for Iris's. */
export function taskZooSets(t: Task): ZooSet[] {
  return ZOO_SETS.map((s) => {
    const net = taskNet(t, s.arch);
    return typeof net === 'string' ? s : { ...s, widths: net.widths };
  });
}

/** How a zoo file describes its vectors' layout (Iris: M1 the 3x5 [W | b], M2 W1 (5x4) ... W2 (3x5) ...). */
export function layoutText(t: Task): string {
  const [d, h, k] = [t.features, t.hidden, t.classes];
  return `M1: the ${k}x${d + 1} matrix [W | b] row-major; M2: W1 (${h}x${d}) row-major, b1, W2 (${k}x${h}) row-major, b2`;
}
