// The one training loop every model here uses (the Iris MLP, the zoos, both weight-VAEs, the hypernetwork).
// A model brings its step (the loss of one batch) and its hooks; the loop brings the rest: zeroing the
// gradients, backward, the optimizer step, scopes that free each step's tensors, one readback per epoch,
// finite checks, progress and checkpoints to resume from.
//
// An "epoch" here is a round of `steps` optimizer steps between two readbacks: a pass over the data for the
// zoo and the VAEs, a block of steps between validations for the hypernetwork. Per epoch the loop reads back
// one small tensor: every step's loss and the sum of all parameters after the last update. A non-finite value
// in either stops training with the step, the tensor and the last good checkpoint named, so NaN never passes
// silently and a checkpoint never holds one. Not here: what a batch is (the model's `step`), schedules (hooks).

import type { Module } from '../nn/index.js';
import type { Adam } from '../optim/index.js';
import { concat, reshape, sum } from '../ops/index.js';
import { backward, type Rng, scope, type Tensor } from '../tensor/index.js';
import { captureState, type Checkpointer, restoreState, type TrainState } from './checkpoint.js';

export interface TrainLoop {
  model: Module;
  opt: Adam;
  /** The generator the step draws from (saved in checkpoints); models with their own generators save them in `extra`. */
  rng?: Rng;
  epochs: number;
  /** Optimizer steps per epoch. */
  steps: number;
  /** Called before the epoch's first step (e.g. to draw the epoch's order of rows). */
  beginEpoch?: (epoch: number) => void;
  /**
   * The loss of step `b` of the epoch: a scalar on the GPU, which the loop differentiates and steps on; or
   * the loss with other scalars to report (e.g. a loss's terms), read back with the losses.
   */
  step: (b: number, epoch: number) => Tensor | StepResult;
  /** After each optimizer step (e.g. a per-step learning-rate decay). */
  afterStep?: () => void;
  /** The epoch's figure from the sum of its step losses; default: the mean step loss. */
  epochLoss?: (sum: number) => number;
  /**
   * After each epoch's readback, before its checkpoint (a plateau schedule, a validation); `figures` holds
   * the epoch's mean of each figure the step reported.
   */
  afterEpoch?: (epoch: number, loss: number, figures: Record<string, number>) => void | Promise<void>;
  ckpt?: Checkpointer;
  /** What else a checkpoint carries (a schedule's or a batcher's state), and how to put it back. */
  extra?: { save: () => Record<string, number>; load: (s: Record<string, number>) => void };
}

export interface StepResult {
  loss: Tensor;
  figures: Record<string, Tensor>; // scalars
}

/** Training stopped on a non-finite loss or parameter. */
export class NonFiniteError extends Error {}

/** Runs the epochs (resuming from `ckpt` when it holds a state); returns the epoch losses, resumed ones included. */
export async function train(o: TrainLoop): Promise<number[]> {
  let losses: number[] = [];
  let start = 0;
  let lastSaved: number | null = null;
  const saved = o.ckpt?.load();
  if (saved) {
    ({ epoch: start, losses } = restoreState(saved, o.rng, o.model, o.opt));
    o.extra?.load(saved.extra);
    lastSaved = start;
  }
  for (let epoch = start; epoch < o.epochs; epoch++) {
    o.model.train(); // (an afterEpoch validation may have switched to evaluation)
    o.beginEpoch?.(epoch);
    const kept: Tensor[] = []; // per step: its loss, then its figures, each (1)
    const names: string[] = [];
    try {
      for (let b = 0; b < o.steps; b++) {
        kept.push(...scope(() => runStep(o, b, epoch, names)));
        o.afterStep?.();
      }
      const r = await readEpoch(kept, o.opt.arena.params, names.length + 1, o.steps);
      await checkFinite(o, r.stepLosses, r.paramSum, epoch, lastSaved);
      const total = r.stepLosses.reduce((s, l) => s + l, 0);
      const loss = o.epochLoss ? o.epochLoss(total) : total / o.steps;
      losses.push(loss);
      await o.afterEpoch?.(epoch, loss, Object.fromEntries(names.map((n, i) => [n, r.figureMeans[i]!])));
    } finally {
      for (const t of kept) t.dispose();
    }
    if (o.ckpt && ((epoch + 1) % o.ckpt.every === 0 || epoch + 1 === o.epochs)) {
      o.ckpt.save(await captureState(epoch + 1, losses, o.rng, o.model, o.opt, o.extra?.save() ?? {}));
      lastSaved = epoch + 1;
    }
  }
  return losses;
}

/** One optimizer step; returns the loss and the figures, each detached as (1). Names the figures at step 0. */
function runStep(o: TrainLoop, b: number, epoch: number, names: string[]): Tensor[] {
  o.opt.zeroGrad();
  const r = o.step(b, epoch);
  const { loss, figures } = 'figures' in r ? r : { loss: r, figures: {} };
  if (b === 0) names.push(...Object.keys(figures));
  else if (Object.keys(figures).join() !== names.join()) {
    throw new Error(`train: step ${b + 1} reports figures [${Object.keys(figures)}], step 1 [${names}]`);
  }
  backward(loss);
  o.opt.step();
  return [loss, ...Object.values(figures)].map((t) => reshape(t.detach(), [1]));
}

/**
 * The epoch's one readback: every step's loss and figures (`per` values a step), then the sum of all
 * parameters after the last update.
 */
async function readEpoch(kept: Tensor[], params: Tensor, per: number, steps: number) {
  const read = scope(() => concat([...kept, reshape(sum(params), [1])]));
  const values = await read.data();
  read.dispose();
  const stepLosses = Array.from({ length: steps }, (_, b) => values[b * per]!);
  const figureMeans = Array.from({ length: per - 1 }, (_, i) => {
    let s = 0;
    for (let b = 0; b < steps; b++) s += values[b * per + 1 + i]!;
    return s / steps;
  });
  return { stepLosses, figureMeans, paramSum: values[steps * per]! };
}

async function checkFinite(
  o: TrainLoop,
  stepLosses: number[],
  paramSum: number,
  epoch: number,
  lastSaved: number | null,
) {
  const first = epoch * o.steps;
  const bad = stepLosses.findIndex((l) => !Number.isFinite(l));
  if (bad < 0 && Number.isFinite(paramSum)) return;
  const where =
    bad >= 0
      ? `the loss of step ${first + bad + 1} (epoch ${epoch + 1}, step ${bad + 1} of ${o.steps}) is ${stepLosses[bad]}`
      : `the loss stayed finite but ${await firstNonFinite(o.model)} after epoch ${epoch + 1} (steps ${first + 1}-${first + o.steps})`;
  const resume =
    lastSaved === null
      ? o.ckpt
        ? 'no checkpoint was written yet'
        : 'no checkpoint is kept for this training'
      : `the last good checkpoint holds epoch ${lastSaved} and is left as it was`;
  throw new NonFiniteError(
    `training stopped: ${where}; ${resume}. Look for NaN or infinite inputs, or lower the learning rate.`,
  );
}

/** Names the first parameter holding a non-finite value (an error path: reads every parameter). */
async function firstNonFinite(model: Module): Promise<string> {
  for (const [name, p] of model.namedParameters()) {
    const v = await p.data();
    const i = v.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) return `parameter '${name}' holds ${v[i]} at index ${i}`;
  }
  return 'a parameter holds a non-finite value';
}

export type { TrainState };
