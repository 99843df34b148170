// The epoch loop the weight-VAEs share: minibatches of rows of a GPU-resident data matrix (shuffled or in
// order), one optimizer step each, the epoch's summed loss accumulated on the GPU and read once per epoch,
// and checkpoints to resume from.

import { add, gatherRows } from '../ops/index.js';
import type { Module } from '../nn/index.js';
import type { Adam } from '../optim/index.js';
import { backward, type Rng, scope, type Tensor, tensor, zeros } from '../tensor/index.js';
import { captureState, type Checkpointer, maybeSave, restoreState } from './checkpoint.js';

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
  /** What else a checkpoint carries (a schedule's state), and how to put it back. */
  extra?: { save: () => Record<string, number>; load: (s: Record<string, number>) => void };
}

/** Runs the epochs (resuming from `ckpt` when it holds a state); returns the mean loss per row, per epoch. */
export async function fitRows(o: FitOptions): Promise<number[]> {
  const rows = o.data.shape[0]!;
  let losses: number[] = [];
  let start = 0;
  const saved = o.ckpt?.load();
  if (saved) {
    ({ epoch: start, losses } = restoreState(saved, o.rng, o.model, o.opt));
    o.extra?.load(saved.extra);
  }
  const B = o.batchSize;
  const batches = Math.ceil(rows / B);
  o.model.train();
  for (let epoch = start; epoch < o.epochs; epoch++) {
    const order = o.shuffle ? o.rng.permutation(rows) : Int32Array.from({ length: rows }, (_, i) => i);
    let total = zeros([]);
    for (let b = 0; b < batches; b++) {
      const idx = order.subarray(b * B, Math.min(rows, (b + 1) * B));
      total = scope(() => {
        o.opt.zeroGrad();
        const loss = o.loss(gatherRows(o.data, tensor(idx, [idx.length], 'i32')));
        backward(loss);
        o.opt.step();
        const t = add(total, loss.detach());
        total.dispose();
        return t;
      });
    }
    const sum = await total.item();
    total.dispose();
    o.afterEpoch?.(sum);
    losses.push(sum / rows);
    o.onEpoch?.(epoch, sum / rows);
    await maybeSave(o.ckpt, epoch + 1, o.epochs, () =>
      captureState(epoch + 1, losses, o.rng, o.model, o.opt, o.extra?.save() ?? {}),
    );
  }
  return losses;
}
