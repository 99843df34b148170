// The one training loop every model here uses (the Iris MLP, the zoos, both weight-VAEs, the hypernetwork).
// A model brings its step (the loss of one batch) and its hooks; the loop brings the rest: zeroing the
// gradients, backward, the optimizer step, scopes that free each step's tensors, one readback per epoch,
// finite checks, progress and checkpoints to resume from.
//
// An "epoch" here is a round of `steps` optimizer steps between two readbacks: a pass over the data for the
// zoo and the VAEs, a block of steps between validations for the hypernetwork. Per epoch the loop reads back
// one small tensor: every step's loss and the sum of all parameters after the last update. A non-finite value
// in either stops training with the step, the tensor and the last good checkpoint named, so NaN never passes
// silently and a checkpoint never holds one.
//
// Capture (src/gpu/capture.ts): a step that takes its data through `inputs` (arrays the loop writes into
// tensors it keeps, one per name and shape) is captured the first time each shape of inputs comes, and
// replayed from then on: the same dispatches, bit for bit, without recording them anew. What changes between
// steps reaches the replay as it reaches a recorded step: the data through the input tensors, the noise
// through the loop's rng (a counter of the capture), the step count and learning rate through the optimizer
// (the replay's probe runs opt.step()). A step that draws random numbers from another generator, or on the
// CPU, is refused with the reason; `capture: false` records every step. Not here: what a batch is (the
// model's `inputs` and `step`), schedules (hooks).

import type { CapturedStep } from '../gpu/capture.js';
import { gpu } from '../gpu/index.js';
import type { Module } from '../nn/index.js';
import type { Adam } from '../optim/index.js';
import { concat, reshape, sum } from '../ops/index.js';
import { assign, backward, copyOf, disposeAll, fmtShape, type Rng, scope, Tensor } from '../tensor/index.js';
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
   * The data of step `b`: arrays the loop writes, before the step, into tensors it keeps (one per name and
   * shape), which the step receives as `inputs`. A loop that gives its data this way is captured.
   */
  inputs?: (b: number, epoch: number) => Record<string, StepInput>;
  /**
   * The loss of step `b` of the epoch: a scalar on the GPU, which the loop differentiates and steps on; or
   * the loss with other scalars to report (e.g. a loss's terms), read back with the losses. When the loop
   * is captured, this runs once per shape of `inputs` only: everything it reads that changes between steps
   * must come through `inputs`, the loop's `rng` or the optimizer.
   */
  step: (b: number, epoch: number, inputs: Record<string, Tensor>) => Tensor | StepResult;
  /** Capture and replay the steps of a loop that gives `inputs` (default true); false records every step. */
  capture?: boolean;
  /** After each optimizer step is issued (e.g. a per-step learning-rate decay). */
  afterStep?: () => void;
  /**
   * Progress: every `progressEvery` steps (default 10) and at the end of each epoch, the loop waits until
   * the GPU has run the steps issued so far and calls this with the steps done since the start (resumed
   * ones included). Without it the loop issues a whole epoch before waiting, and a count taken in
   * afterStep runs ahead of the GPU by up to an epoch.
   */
  onProgress?: (stepsDone: number) => void;
  progressEvery?: number;
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

/** One of a step's data arrays, with its shape (an Int32Array makes an i32 tensor). */
export interface StepInput {
  data: Float32Array | Int32Array;
  shape: readonly number[];
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
  const steps = new Steps(o);
  try {
    for (let epoch = start; epoch < o.epochs; epoch++) {
      o.model.train(); // (an afterEpoch validation may have switched to evaluation)
      o.beginEpoch?.(epoch);
      const kept: Tensor[] = []; // per step: its loss, then its figures, each (1)
      try {
        for (let b = 0; b < o.steps; b++) {
          kept.push(...steps.run(b, epoch));
          o.afterStep?.();
          if (o.onProgress && ((b + 1) % (o.progressEvery ?? 10) === 0 || b + 1 === o.steps)) {
            await gpu().sync(); // the steps issued so far have run
            o.onProgress(epoch * o.steps + b + 1);
          }
        }
        const names = steps.names ?? [];
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
  } finally {
    steps.dispose();
  }
  return losses;
}

/**
 * Runs the loop's steps: recorded anew each time, or captured once per shape of inputs and replayed. Each
 * run returns the step's loss and figures as tensors of one value the caller owns.
 */
class Steps {
  /** The figures' names, from the first step run. */
  names: string[] | null = null;
  private readonly inputs = new Map<string, Tensor>(); // by name, shape and dtype
  private readonly captured = new Map<string, CapturedStep<Tensor[]>>(); // by the inputs' shapes

  constructor(private readonly o: TrainLoop) {}

  run(b: number, epoch: number): Tensor[] {
    const o = this.o;
    if (!o.inputs) return scope(() => this.record(b, epoch, {}));
    const { key, tensors } = this.feed(o.inputs(b, epoch));
    if (o.capture === false) return scope(() => this.record(b, epoch, tensors));
    const refs = Object.values(tensors).map((t) => t.ref);
    const c = this.captured.get(key);
    if (c) c.replay({ probe: () => o.opt.step(), inputs: refs });
    return (c ?? this.capture(b, epoch, key, tensors)).value.map((t) => copyOf(t));
  }

  /** Runs step b as the capture of the steps with these inputs' shapes. */
  private capture(b: number, epoch: number, key: string, tensors: Record<string, Tensor>): CapturedStep<Tensor[]> {
    const o = this.o;
    const label = `a training step with inputs ${key || '(none)'}`;
    // 'stream' is the field of shaders/rng.wgsl that takes an Rng's position
    const counters = o.rng ? [{ counter: o.rng, field: 'stream' }] : [];
    const inputs = Object.values(tensors).map((t) => t.ref);
    let outs: Tensor[] = [];
    const run = () => (outs = scope(() => this.record(b, epoch, tensors)).map((t) => t.keep()));
    let c: CapturedStep<Tensor[]>;
    try {
      c = gpu().capture(run, { label, counters, inputs });
    } catch (e) {
      disposeAll(outs); // the step ran; only its replays were refused
      throw e;
    }
    this.captured.set(key, c);
    const stray = c.dispatches.find((d) => d.counter === null && 'stream' in d.uniforms);
    if (stray) {
      throw new Error(
        `train: ${label} draws random numbers (${stray.name}) from a generator other than the loop's rng, ` +
          "which a replay would not advance: pass that generator as the loop's rng, or set capture: false",
      );
    }
    return c;
  }

  /** Writes a step's data into the tensors kept for its names and shapes. */
  private feed(data: Record<string, StepInput>): { key: string; tensors: Record<string, Tensor> } {
    const tensors: Record<string, Tensor> = {};
    const keys: string[] = [];
    for (const [name, { data: values, shape }] of Object.entries(data)) {
      const dtype = values instanceof Int32Array ? 'i32' : 'f32';
      const key = `${name} ${fmtShape(shape)}${dtype === 'i32' ? ' i32' : ''}`;
      let t = this.inputs.get(key);
      if (!t) this.inputs.set(key, (t = Tensor.empty(shape, dtype).keep()));
      assign(t, values);
      tensors[name] = t;
      keys.push(key);
    }
    return { key: keys.join(', '), tensors };
  }

  /** One optimizer step; returns the loss and the figures, each detached as (1). */
  private record(b: number, epoch: number, inputs: Record<string, Tensor>): Tensor[] {
    const o = this.o;
    o.opt.zeroGrad();
    const r = o.step(b, epoch, inputs);
    const { loss, figures } = 'figures' in r ? r : { loss: r, figures: {} };
    const names = Object.keys(figures);
    if (!this.names) this.names = names;
    else if (names.join() !== this.names.join()) {
      throw new Error(
        `train: step ${b + 1} of epoch ${epoch + 1} reports figures [${names}], the first step [${this.names}]`,
      );
    }
    backward(loss);
    o.opt.step();
    return [loss, ...Object.values(figures)].map((t) => reshape(t.detach(), [1]));
  }

  dispose(): void {
    for (const c of this.captured.values()) {
      disposeAll(c.value);
      c.dispose();
    }
    disposeAll([...this.inputs.values()]);
  }
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
