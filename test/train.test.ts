// The one training loop (src/models/train.ts): it trains, reads back once per epoch, and stops on a non-finite
// loss or parameter with the step, the tensor and the checkpoint named.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checkpointer, TrainState } from '../src/models/checkpoint.js';
import { NonFiniteError, train } from '../src/models/train.js';
import { Linear, ReLU, Sequential } from '../src/nn/index.js';
import { crossEntropy } from '../src/ops/index.js';
import { Adam } from '../src/optim/index.js';
import { assign, Rng, tensor } from '../src/tensor/index.js';
import { cpuRng, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const rows = 12;
const r = cpuRng(3);
const x = Float32Array.from(r.uniform(rows * 4));
const y = Int32Array.from({ length: rows }, (_, i) => i % 3);

/** An MLP, or (linear) a single layer, through which a NaN input reaches the loss. */
function setup(linear = false) {
  const model = linear
    ? new Sequential(new Linear(4, 3, { rng: new Rng(1) }))
    : new Sequential(new Linear(4, 8, { rng: new Rng(1) }), new ReLU(), new Linear(8, 3, { rng: new Rng(2) }));
  return { model, opt: new Adam(model.parameters(), { lr: 0.05 }) };
}

/** Batch b of 4 rows; `poison` gives NaN inputs at that (epoch, step). */
function batch(b: number, epoch: number, poison?: [number, number]) {
  const xs = x.slice(b * 16, (b + 1) * 16);
  if (poison && poison[0] === epoch && poison[1] === b) xs.fill(Number.NaN);
  return { x: tensor(xs, [4, 4]), y: tensor(y.slice(b * 4, (b + 1) * 4), [4], 'i32') };
}

function memoryCheckpointer(): Checkpointer & { saved: TrainState[] } {
  const saved: TrainState[] = [];
  return { every: 1, saved, load: () => null, save: (s) => saved.push(s) };
}

describe('training loop', () => {
  it('trains: the epoch loss falls, one figure per epoch', async () => {
    const { model, opt } = setup();
    const losses = await train({
      model,
      opt,
      epochs: 30,
      steps: 3,
      step: (b) => {
        const d = batch(b, 0);
        return crossEntropy(model.forward(d.x), d.y);
      },
    });
    expect(losses).toHaveLength(30);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
    opt.dispose();
    model.dispose();
  });

  it('reports progress every progressEvery steps and at each epoch end, counting resumed steps; training is unchanged', async () => {
    const run = async (progress: number[] | null, ckpt?: Checkpointer, epochs = 2) => {
      const { model, opt } = setup();
      try {
        return await train({
          model,
          opt,
          epochs,
          steps: 3,
          step: (b) => {
            const d = batch(b, 0);
            return crossEntropy(model.forward(d.x), d.y);
          },
          ckpt,
          ...(progress ? { onProgress: (n: number) => void progress.push(n), progressEvery: 2 } : {}),
        });
      } finally {
        opt.dispose();
        model.dispose();
      }
    };
    const seen: number[] = [];
    const ckpt = memoryCheckpointer();
    const losses = await run(seen, ckpt);
    expect(seen).toEqual([2, 3, 5, 6]);
    expect(losses).toEqual(await run(null));
    const resumed: number[] = [];
    await run(resumed, { ...memoryCheckpointer(), load: () => ckpt.saved[1]! }, 3); // from epoch 2 of 3
    expect(resumed).toEqual([8, 9]);
  });

  it('a NaN loss stops training at its step; the checkpoint before it is kept and names it', async () => {
    const { model, opt } = setup(true);
    const ckpt = memoryCheckpointer();
    const run = train({
      model,
      opt,
      epochs: 5,
      steps: 3,
      step: (b, epoch) => {
        const d = batch(b, epoch, [2, 1]);
        return crossEntropy(model.forward(d.x), d.y);
      },
      ckpt,
    });
    await expect(run).rejects.toThrow(NonFiniteError);
    await expect(run).rejects.toThrow(/step 8 \(epoch 3, step 2 of 3\) is NaN.*checkpoint holds epoch 2/);
    expect(ckpt.saved.map((s) => s.epoch)).toEqual([1, 2]); // nothing saved after the NaN
    for (const s of ckpt.saved)
      for (const t of Object.values(s.model)) expect(t.data.every(Number.isFinite)).toBe(true);
    opt.dispose();
    model.dispose();
  });

  it('NaN inputs hidden from the loss by a ReLU still stop training, naming the parameter', async () => {
    // WGSL's max(NaN, 0) may give 0: the loss stays finite while the first layer's weights turn NaN
    const { model, opt } = setup();
    const run = train({
      model,
      opt,
      epochs: 5,
      steps: 3,
      step: (b, epoch) => {
        const d = batch(b, epoch, [1, 0]);
        return crossEntropy(model.forward(d.x), d.y);
      },
    });
    await expect(run).rejects.toThrow(
      /(step 4 \(epoch 2, step 1 of 3\) is NaN|parameter '0\.weight' holds NaN at index \d+ after epoch 2)/,
    );
    opt.dispose();
    model.dispose();
  });

  it('a non-finite parameter behind a finite loss is found and named', async () => {
    const { model, opt } = setup();
    const w = model.namedParameters().find(([n]) => n === '2.bias')![1];
    let steps = 0;
    const run = train({
      model,
      opt,
      epochs: 3,
      steps: 3,
      step: (b) => {
        const d = batch(b, 0);
        return crossEntropy(model.forward(d.x), d.y);
      },
      // after the last step of the first epoch, a parameter goes bad where no loss has seen it yet
      afterStep: () => {
        if (++steps === 3) assign(w, [1, Number.POSITIVE_INFINITY, 0]);
      },
    });
    await expect(run).rejects.toThrow(
      /the loss stayed finite but parameter '2\.bias' holds Infinity at index 1 after epoch 1/,
    );
    opt.dispose();
    model.dispose();
  });
});
