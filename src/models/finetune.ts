// Fine-tuning networks from given initial weights on the training rows (Iris's, or another dataset's), as one
// population on the one training loop (train.ts), the way trainZoo trains a zoo: Adam lr 0.005, minibatches
// of 16 in each network's own order, reshuffled every epoch by the network's own generator, the sum over
// networks of each one's mean batch loss (so every network gets its own gradient). Given the zoo's initial weights and its
// generators, it reproduces trainZoo's networks (test/iris-finetune.node.test.ts). Test accuracy is read at
// the epochs asked for (epoch 0: the initial weights).
//
// Not here: where the initial weights come from (samplers.ts), the table and figure (src/cli/iris-finetune.ts).

import { crossEntropy, gatherRows, mul, reshape } from '../ops/index.js';
import { Adam } from '../optim/index.js';
import { type Rng, type Tensor, tensor } from '../tensor/index.js';
import type { TaskSplit } from './task.js';
import { train } from './train.js';
import { type Net, netName, netShape, Population, populationAccuracy, vectorLength, ZOO_TRAINING } from './zoo.js';

/** The epochs at which the hyper-representations paper reads accuracy (and 5, between 1 and 25). */
export const FINETUNE_EPOCHS: readonly number[] = [0, 1, 5, 25, 50];

export interface FinetuneOptions {
  epochs: number; // the last epoch
  /** Epochs at which test accuracy is read; default FINETUNE_EPOCHS up to `epochs`, and `epochs`. */
  at?: readonly number[];
  /** One generator per network: its batch order, a permutation of the training rows each epoch. */
  rngs: readonly Rng[];
  lr?: number; // ZOO_TRAINING's
  batchSize?: number;
  onEpoch?: (epoch: number, meanLoss: number) => void;
}

export interface FinetuneResult {
  at: number[];
  accuracy: Float32Array[]; // per epoch of `at`: each network's test accuracy (G)
  vectors: Float32Array; // (G, P) after the last epoch
  losses: number[]; // mean training loss over networks, per epoch
}

/** The epochs of FINETUNE_EPOCHS up to `epochs`, with `epochs` itself last. */
export function checkpointEpochs(epochs: number): number[] {
  return [...new Set([...FINETUNE_EPOCHS.filter((e) => e <= epochs), epochs])].sort((a, b) => a - b);
}

/** Trains G networks of `arch` from `init` (G, P) on the training rows; reads test accuracy at `at`. */
export async function finetune(
  arch: Net,
  init: Float32Array,
  split: TaskSplit,
  o: FinetuneOptions,
): Promise<FinetuneResult> {
  const G = init.length / vectorLength(arch);
  if (!Number.isInteger(G) || G < 1 || o.rngs.length !== G) {
    throw new Error(
      `finetune: ${init.length} values and ${o.rngs.length} generators; expected G ${netName(arch)} vectors of ${vectorLength(arch)} and G generators`,
    );
  }
  const at = [...new Set(o.at ?? checkpointEpochs(o.epochs))].sort((a, b) => a - b);
  if (at.some((e) => !Number.isInteger(e) || e < 0 || e > o.epochs)) {
    throw new Error(`finetune: accuracy epochs [${at}] must be whole numbers in 0..${o.epochs}`);
  }
  const { lr = ZOO_TRAINING.lr, batchSize = ZOO_TRAINING.batch } = o;
  const n = split.yTrain.length;
  const inputs = netShape(arch).widths[0]!;
  const pop = new Population(arch, G, null);
  pop.loadVectors(init);
  const xTrain = tensor(split.xTrain, [n, inputs]);
  const yTrain = tensor(split.yTrain, [n], 'i32');
  const xTest = tensor(split.xTest, [split.yTest.length, inputs]);
  const opt = new Adam(pop.parameters(), { lr });
  const accuracy: Float32Array[] = [];
  const read = async (epoch: number) => {
    if (at.includes(epoch)) accuracy.push(await populationAccuracy(pop, xTest, split.yTest));
  };
  try {
    await read(0);
    let orders: Int32Array[] = [];
    const steps = Math.ceil(n / batchSize);
    const losses = await train({
      model: pop,
      opt,
      epochs: o.epochs,
      steps,
      beginEpoch: () => {
        orders = o.rngs.map((r) => r.permutation(n));
      },
      step: (b) => batchLoss(pop, xTrain, yTrain, orders, b * batchSize, batchSize),
      epochLoss: (sum) => sum / steps / G,
      afterEpoch: async (epoch, loss) => {
        o.onEpoch?.(epoch, loss);
        await read(epoch + 1);
      },
    });
    return { at, accuracy, vectors: await pop.vectors(), losses };
  } finally {
    opt.dispose();
    pop.dispose();
    for (const t of [xTrain, yTrain, xTest]) t.dispose();
  }
}

/**
 * The loss of one step: network g's mean cross-entropy on the rows orders[g][from .. from + size), summed
 * over the networks (trainZoo's), so every network gets its own gradient.
 */
function batchLoss(
  pop: Population,
  xTrain: Tensor, // (N, d)
  yTrain: Tensor, // (N)
  orders: Int32Array[],
  from: number,
  size: number,
): Tensor {
  const G = pop.size;
  const B = Math.min(yTrain.shape[0]!, from + size) - from;
  const rows = new Int32Array(G * B);
  for (let g = 0; g < G; g++) for (let j = 0; j < B; j++) rows[g * B + j] = orders[g]![from + j]!;
  const picked = tensor(rows, [G * B], 'i32');
  const x = gatherRows(xTrain, picked).view([G, B, xTrain.shape[1]!]);
  const logits = pop.forward(x); // (G, B, classes)
  const classes = logits.shape[2]!;
  return mul(crossEntropy(reshape(logits, [G * B, classes]), gatherRows(yTrain, picked), 'sum'), 1 / B);
}
