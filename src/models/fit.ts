// Minibatches of rows of a GPU-resident data matrix (shuffled or in order), for the weight-VAEs, on the one
// training loop (train.ts): one epoch is one pass over the rows.

import type { Module } from '../nn/index.js';
import type { Adam } from '../optim/index.js';
import { gatherRows } from '../ops/index.js';
import type { Rng, Tensor } from '../tensor/index.js';
import type { Checkpointer } from './checkpoint.js';
import { train } from './train.js';

export interface FitOptions {
  data: Tensor; // (rows, dim)
  model: Module;
  opt: Adam;
  rng: Rng; // shuffling and whatever the loss draws
  loss: (batch: Tensor) => Tensor; // summed over the batch
  batchSize: number;
  epochs: number;
  shuffle: boolean;
  onEpoch?: (epoch: number, meanLoss: number) => void;
  /** After each epoch, with the epoch's summed loss (e.g. a plateau schedule). */
  afterEpoch?: (sumLoss: number) => void;
  ckpt?: Checkpointer;
  extra?: { save: () => Record<string, number>; load: (s: Record<string, number>) => void };
  /** Capture and replay the steps (train.ts; default true). */
  capture?: boolean;
}

/** Runs the epochs (resuming from `ckpt` when it holds a state); returns the mean loss per row, per epoch. */
export function fitRows(o: FitOptions): Promise<number[]> {
  const rows = o.data.shape[0]!;
  const B = o.batchSize;
  let order: Int32Array = new Int32Array(0);
  return train({
    model: o.model,
    opt: o.opt,
    rng: o.rng,
    epochs: o.epochs,
    steps: Math.ceil(rows / B),
    beginEpoch: () => {
      order = o.shuffle ? o.rng.permutation(rows) : Int32Array.from({ length: rows }, (_, i) => i);
    },
    inputs: (b) => {
      const idx = order.subarray(b * B, Math.min(rows, (b + 1) * B));
      return { rows: { data: idx, shape: [idx.length] } };
    },
    step: (_b, _epoch, inputs) => o.loss(gatherRows(o.data, inputs.rows!)),
    capture: o.capture,
    epochLoss: (sum) => sum / rows,
    afterEpoch: (epoch, loss) => {
      o.afterEpoch?.(loss * rows);
      o.onEpoch?.(epoch, loss);
    },
    ckpt: o.ckpt,
    extra: o.extra,
  });
}
