// Model zoos of classifiers (weight-VAE paper; docs/models.md (paper 1)), trained as populations: all
// models of a set step together in one set of dispatches, each with its own initialisation, its own
// shuffling and (Scrambled) its own label permutation. Model g of a set uses a seed made of the run's seed,
// the set's and g alone (modelSeed), so it trains the same alone or among any number of others, and a run
// with another seed gets another zoo.
//
// Networks come in two kinds (Arch): M1, one linear layer, and M2, two with a ReLU between. 'M1' and 'M2'
// alone are Iris's shapes (ARCHS); a NetShape gives the widths of another dataset's (task.ts), with the same
// vector layout.
//
// Not here: the VAEs (weight-vae.ts), Table 1 (table1.ts), which dataset (task.ts).

import { GroupedLinear, Module } from '../nn/index.js';
import { argmax, crossEntropy, gatherRows, linear, mul, reshape, slice } from '../ops/index.js';
import { Adam } from '../optim/index.js';
import { Rng, scope, type Tensor, tensor } from '../tensor/index.js';
import type { TaskSplit } from './task.js';
import { train } from './train.js';

/** Layer widths: M1 = Linear(4,3); M2 = Linear(4,5) -> ReLU -> Linear(5,3). */
export const ARCHS = { M1: [4, 3], M2: [4, 5, 3] } as const;
export type Arch = keyof typeof ARCHS;

/** A network of another dataset: its kind and layer widths (M1: [d, k]; M2: [d, h, k]). */
export interface NetShape {
  arch: Arch;
  widths: readonly number[];
}

/** A network shape: 'M1' and 'M2' are Iris's (ARCHS). */
export type Net = Arch | NetShape;

/** The kind and widths of a network shape, checked: M1 has two widths, M2 three, each a positive integer. */
export function netShape(net: Net): NetShape {
  if (typeof net === 'string') return { arch: net, widths: ARCHS[net] };
  const layers = net.arch === 'M1' ? 2 : 3;
  if (net.widths.length !== layers || !net.widths.every((w) => Number.isInteger(w) && w >= 1)) {
    throw new Error(`${net.arch} widths [${net.widths}]: expected ${layers} positive integers`);
  }
  return net;
}

/** How messages name a shape: 'M1' for Iris's, 'M1 (6-3)' for another's. */
export function netName(net: Net): string {
  return typeof net === 'string' ? net : `${net.arch} (${net.widths.join('-')})`;
}

export interface ZooSet {
  name: string;
  arch: Arch;
  scrambled: boolean;
  seed: number;
  /** Layer widths of another dataset's networks; absent: Iris's (ARCHS). */
  widths?: readonly number[];
}

/** The network shape of a zoo set's models. */
export function setNet(set: ZooSet): Net {
  return set.widths ? { arch: set.arch, widths: set.widths } : set.arch;
}

/** The paper's three sets (Real M1, Scrambled M1, Real-2 M2). */
export const ZOO_SETS: readonly ZooSet[] = [
  { name: 'real', arch: 'M1', scrambled: false, seed: 1 },
  { name: 'scrambled', arch: 'M1', scrambled: true, seed: 2 },
  { name: 'real2', arch: 'M2', scrambled: false, seed: 3 },
];

/** Length of a model's weight vector: Iris's M1 15, M2 43. */
export function vectorLength(arch: Net): number {
  const w = netShape(arch).widths;
  let n = 0;
  for (let i = 1; i < w.length; i++) n += w[i]! * (w[i - 1]! + 1);
  return n;
}

/** The seed of model g of a set in a run seeded `runSeed` (run seed 0 keeps the seeds zoos always had). */
export function modelSeed(setSeed: number, g: number, runSeed = 0): number {
  if (!Number.isInteger(g) || g < 0 || g >= 2 ** 20) throw new Error(`model index ${g} is outside 0..2^20-1`);
  if (!Number.isInteger(runSeed) || runSeed < 0 || runSeed >= 2 ** 28) {
    throw new Error(`seed ${runSeed} is outside 0..2^28-1`);
  }
  return (runSeed * ZOO_SETS.length + setSeed) * 2 ** 20 + g;
}

/** G networks of one architecture, with ReLU between layers. */
export class Population extends Module {
  readonly layers: GroupedLinear[];
  readonly arch: Arch;
  readonly widths: readonly number[];
  private readonly shapeName: string; // for messages

  constructor(
    net: Net,
    readonly size: number,
    rngs: readonly Rng[] | null, // null: zeros, for weights loaded afterwards
  ) {
    super();
    const { arch, widths: w } = netShape(net);
    this.arch = arch;
    this.widths = w;
    this.shapeName = netName(net);
    this.layers = [];
    for (let i = 1; i < w.length; i++)
      this.layers.push(this.child(String(i - 1), new GroupedLinear(size, w[i - 1]!, w[i]!, rngs)));
  }

  // x: (G, B, d) or (B, d) -> logits (G, B, k)  (Iris: d 4, k 3)
  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((l, i) => {
      h = l.forward(h, i < this.layers.length - 1 ? 'relu' : 'none');
    });
    return h;
  }

  /** The weights as the paper's vectors (G, P): per layer, [W | b] ... (M1: the 3x5 [W|b] row-major; M2: W1 row-major, b1, W2 row-major, b2). */
  async vectors(): Promise<Float32Array> {
    const P = vectorLength({ arch: this.arch, widths: this.widths });
    const out = new Float32Array(this.size * P);
    let at = 0;
    for (const l of this.layers) {
      const [o, i] = [l.outFeatures, l.inFeatures];
      const W = await l.weight.data();
      const b = await l.bias.data();
      for (let g = 0; g < this.size; g++) {
        const base = g * P + at;
        if (this.arch === 'M1') {
          // rows of [W | b]
          for (let r = 0; r < o; r++) {
            for (let c = 0; c < i; c++) out[base + r * (i + 1) + c] = W[g * o * i + r * i + c]!;
            out[base + r * (i + 1) + i] = b[g * o + r]!;
          }
        } else {
          // W row-major, then b
          for (let k = 0; k < o * i; k++) out[base + k] = W[g * o * i + k]!;
          for (let r = 0; r < o; r++) out[base + o * i + r] = b[g * o + r]!;
        }
      }
      at += o * (i + 1);
    }
    return out;
  }

  /** Loads vectors (G, P) in the layout of vectors(). */
  loadVectors(vectors: Float32Array): void {
    const P = vectorLength({ arch: this.arch, widths: this.widths });
    if (vectors.length !== this.size * P) {
      throw new Error(
        `${this.shapeName} population of ${this.size}: ${vectors.length} values, expected ${this.size} x ${P}`,
      );
    }
    const state: Record<string, { data: Float32Array }> = {};
    let at = 0;
    this.layers.forEach((l, li) => {
      const [o, i] = [l.outFeatures, l.inFeatures];
      const W = new Float32Array(this.size * o * i);
      const b = new Float32Array(this.size * o);
      for (let g = 0; g < this.size; g++) {
        const base = g * P + at;
        for (let r = 0; r < o; r++) {
          for (let c = 0; c < i; c++) {
            W[g * o * i + r * i + c] =
              this.arch === 'M1' ? vectors[base + r * (i + 1) + c]! : vectors[base + r * i + c]!;
          }
          b[g * o + r] = this.arch === 'M1' ? vectors[base + r * (i + 1) + i]! : vectors[base + o * i + r]!;
        }
      }
      state[`${li}.weight`] = { data: W };
      state[`${li}.bias`] = { data: b };
      at += o * (i + 1);
    });
    this.loadStateDict(state);
  }
}

/** Test accuracy of each of G networks: argmax over the test rows. */
export async function populationAccuracy(pop: Population, xTest: Tensor, yTest: Int32Array): Promise<Float32Array> {
  const pred = scope(() => argmax(pop.forward(xTest), -1)); // (G, N)
  const p = await pred.data();
  pred.dispose();
  const n = yTest.length;
  const acc = new Float32Array(pop.size);
  for (let g = 0; g < pop.size; g++) {
    let right = 0;
    for (let i = 0; i < n; i++) if (p[g * n + i] === yTest[i]) right++;
    acc[g] = right / n;
  }
  return acc;
}

/**
 * Logits of M2 networks of layer widths [I, H, O] given as a tensor of weight vectors w (G, P), differentiable
 * in w (the enhanced VAE's function-space term backpropagates through it): x (N, I) -> (G, N, O). Iris: P 43,
 * I 4, O 3.
 */
export function m2Logits(w: Tensor, x: Tensor, widths: readonly number[] = ARCHS.M2): Tensor {
  const [I, H, O] = netShape({ arch: 'M2', widths }).widths as [number, number, number];
  const G = w.shape[0]!;
  const P = vectorLength({ arch: 'M2', widths });
  if (w.rank !== 2 || w.shape[1] !== P || x.rank !== 2 || x.shape[1] !== I) {
    throw new Error(`m2Logits: weights (${w.shape}) and inputs (${x.shape}); expected (G, ${P}) and (N, ${I})`);
  }
  const part = (at: number, n: number, shape: number[]) => reshape(slice(w, [0, at], [G, n]), shape);
  const W1 = part(0, H * I, [G, H, I]);
  const b1 = part(H * I, H, [G, 1, H]);
  const W2 = part(H * (I + 1), O * H, [G, O, H]);
  const b2 = part(H * (I + 1) + O * H, O, [G, 1, O]);
  return linear(linear(x, W1, b1, 'relu'), W2, b2);
}

/** Test accuracy of networks given as weight vectors (G, P). */
export async function vectorAccuracy(arch: Net, vectors: Float32Array, split: TaskSplit): Promise<Float32Array> {
  const G = vectors.length / vectorLength(arch);
  const pop = new Population(arch, G, null);
  const xTest = tensor(split.xTest, [split.yTest.length, netShape(arch).widths[0]!]);
  try {
    pop.loadVectors(vectors);
    return await populationAccuracy(pop, xTest, split.yTest);
  } finally {
    pop.dispose();
    xTest.dispose();
  }
}

/** How every zoo network trains (the paper's code): what trainZoo defaults to and run folders record. */
export const ZOO_TRAINING = { optimizer: 'Adam', lr: 0.005, batch: 16, epochs: 200, loss: 'cross-entropy' } as const;

export interface ZooOptions {
  models?: number; // 500
  firstModel?: number; // index of the first model (seeds follow it), 0
  seed?: number; // the run's seed, 0
  epochs?: number; // 200
  batchSize?: number; // 16
  lr?: number; // 0.005
  onEpoch?: (epoch: number, meanLoss: number) => void;
  capture?: boolean; // capture and replay the training steps (train.ts), true
}

export interface ZooResult {
  set: ZooSet;
  vectors: Float32Array; // (G, P)
  testAccuracy: Float32Array; // (G)
  losses: number[]; // mean training loss over models, per epoch
}

export async function trainZoo(set: ZooSet, split: TaskSplit, o: ZooOptions = {}): Promise<ZooResult> {
  const { models: G = 500, firstModel = 0, seed = 0 } = o;
  const { epochs = ZOO_TRAINING.epochs, batchSize = ZOO_TRAINING.batch, lr = ZOO_TRAINING.lr } = o;
  const n = split.yTrain.length;
  const rngs = Array.from({ length: G }, (_, g) => new Rng(modelSeed(set.seed, firstModel + g, seed)));
  const pop = new Population(setNet(set), G, rngs);
  // labels per model (G * n): Scrambled models see one fixed permutation of the training labels
  const labels = new Int32Array(G * n);
  rngs.forEach((rng, g) => {
    const perm = set.scrambled ? rng.permutation(n) : null;
    for (let i = 0; i < n; i++) labels[g * n + i] = split.yTrain[perm ? perm[i]! : i]!;
  });
  const widths = netShape(setNet(set)).widths;
  const [inputs, classes] = [widths[0], widths[widths.length - 1]!];
  const xTrain = tensor(split.xTrain, [n, inputs]);
  const yAll = tensor(labels, [G * n], 'i32');
  const xTest = tensor(split.xTest, [split.yTest.length, inputs]);
  const opt = new Adam(pop.parameters(), { lr });
  try {
    let orders: Int32Array[] = [];
    const losses = await train({
      model: pop,
      opt,
      epochs,
      steps: Math.ceil(n / batchSize),
      beginEpoch: () => {
        orders = rngs.map((r) => r.permutation(n));
      },
      inputs: (b) => zooBatch(orders, b * batchSize, Math.min(n, (b + 1) * batchSize) - b * batchSize, n),
      step: (_b, _epoch, { rows, labels }) => {
        const B = rows!.size / G;
        const x = gatherRows(xTrain, rows!).view([G, B, inputs]);
        const y = gatherRows(yAll, labels!);
        const logits = reshape(pop.forward(x), [G * B, classes]);
        // sum over models of each model's mean batch loss: every model gets its own gradient
        return mul(crossEntropy(logits, y, 'sum'), 1 / B);
      },
      capture: o.capture,
      epochLoss: (sum) => sum / Math.ceil(n / batchSize) / G,
      afterEpoch: (epoch, loss) => o.onEpoch?.(epoch, loss),
    });
    return {
      set,
      vectors: await pop.vectors(),
      testAccuracy: await populationAccuracy(pop, xTest, split.yTest),
      losses,
    };
  } finally {
    opt.dispose();
    pop.dispose();
    for (const t of [xTrain, yAll, xTest]) t.dispose();
  }
}

/**
 * Rows [from, from + B) of each model's order (G orders of n rows): the rows of the training inputs and of
 * the labels (G * n, each model's own), model-major.
 */
function zooBatch(orders: Int32Array[], from: number, B: number, n: number) {
  const G = orders.length;
  const rows = new Int32Array(G * B);
  const labels = new Int32Array(G * B);
  for (let g = 0; g < G; g++) {
    for (let j = 0; j < B; j++) {
      rows[g * B + j] = orders[g]![from + j]!;
      labels[g * B + j] = g * n + orders[g]![from + j]!;
    }
  }
  return { rows: { data: rows, shape: [G * B] }, labels: { data: labels, shape: [G * B] } };
}

/**
 * Puts the hidden units of every M2 network (layer widths [I, H, O], Iris's by default) in a canonical order:
 * by decreasing importance |W1 row| * |W2 column|. Permuting hidden units leaves the function unchanged, but
 * networks trained from different seeds hold equivalent units in different places, and a generative model of
 * their weights then averages unrelated units. Returns new vectors (G, P) (Iris: P 43).
 */
export function canonicalizeM2(vectors: Float32Array, widths: readonly number[] = ARCHS.M2): Float32Array {
  const [I, H, O] = netShape({ arch: 'M2', widths }).widths as [number, number, number];
  const P = vectorLength({ arch: 'M2', widths });
  const out = new Float32Array(vectors.length);
  for (let g = 0; g < vectors.length / P; g++) {
    const v = vectors.subarray(g * P, (g + 1) * P);
    const W1 = (h: number, i: number) => v[h * I + i]!;
    const b1 = (h: number) => v[H * I + h]!;
    const w2at = H * (I + 1);
    const W2 = (o: number, h: number) => v[w2at + o * H + h]!;
    const importance = (h: number) => {
      let a = b1(h) ** 2;
      for (let i = 0; i < I; i++) a += W1(h, i) ** 2;
      let b = 0;
      for (let o = 0; o < O; o++) b += W2(o, h) ** 2;
      return Math.sqrt(a * b);
    };
    const order = Array.from({ length: H }, (_, h) => h).sort((x, y) => importance(y) - importance(x) || x - y);
    const o = out.subarray(g * P, (g + 1) * P);
    order.forEach((h, k) => {
      for (let i = 0; i < I; i++) o[k * I + i] = W1(h, i);
      o[H * I + k] = b1(h);
      for (let q = 0; q < O; q++) o[w2at + q * H + k] = W2(q, h);
    });
    for (let q = 0; q < O; q++) o[P - O + q] = v[P - O + q]!; // b2
  }
  return out;
}

/** Networks as weight space compares them: M2's hidden units in canonical order (canonicalizeM2); M1 as it is. */
export function canonicalOrder(net: Net, vectors: Float32Array): Float32Array {
  const { arch, widths } = netShape(net);
  return arch === 'M2' ? canonicalizeM2(vectors, widths) : vectors;
}

/**
 * The layers of G networks (vectors (G, P) in the layout of Population.vectors) as [W | b] matrices: per
 * layer, data (G, rows, cols) with rows = outputs, cols = inputs + 1.
 */
export function vectorLayers(net: Net, vectors: Float32Array): { rows: number; cols: number; data: Float32Array }[] {
  const { arch, widths } = netShape(net);
  const P = vectorLength(net);
  const G = vectors.length / P;
  if (!Number.isInteger(G)) {
    throw new Error(`vectorLayers: ${vectors.length} values are not a whole number of ${netName(net)} vectors of ${P}`);
  }
  if (arch === 'M1') return [{ rows: widths[1]!, cols: widths[0]! + 1, data: vectors.slice() }]; // [W | b] already
  const out: { rows: number; cols: number; data: Float32Array }[] = [];
  let at = 0;
  for (let l = 1; l < widths.length; l++) {
    const [i, o] = [widths[l - 1]!, widths[l]!];
    const data = new Float32Array(G * o * (i + 1));
    for (let g = 0; g < G; g++) {
      const v = g * P + at; // W (o, i) row-major, then b (o)
      for (let r = 0; r < o; r++) {
        for (let c = 0; c < i; c++) data[(g * o + r) * (i + 1) + c] = vectors[v + r * i + c]!;
        data[(g * o + r) * (i + 1) + i] = vectors[v + o * i + r]!;
      }
    }
    out.push({ rows: o, cols: i + 1, data });
    at += o * (i + 1);
  }
  return out;
}
