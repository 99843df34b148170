// Step capture and replay (src/gpu/capture.ts, and its use by the training loop, src/models/train.ts):
// - a replayed step is the same work as the step recorded anew: a small model's steps (per-step data through
//   input tensors, noise from an Rng, Adam's step count and a decaying learning rate through the probe),
//   many replays in one batch, give the recorded steps' losses and parameters bit for bit;
// - the VAE, enhanced-VAE, zoo and hypernetwork loops at micro sizes: losses, weights and figures with
//   capture on equal those with capture off, bit for bit (several steps, two shapes of batch where the last
//   batch is short);
// - what a replay cannot repeat is refused with the reason: data written inside, a CPU draw, a readback, a
//   buffer released inside or after, another input buffer, a probe that does not match, a nested capture;
// - the pool holds a capture's buffers (nobody else gets them) and gives them back on dispose();
// - a trace and the profiler show replayed dispatches, with the replay's own uniform values.

import { beforeAll, describe, expect, it, vi } from 'vitest';
import { irisSplit } from '../src/data/iris.js';
import type { MnistPart, MnistSplit } from '../src/data/mnist.js';
import { gpu } from '../src/gpu/index.js';
import { ENHANCED_PRESETS, trainEnhancedVae } from '../src/models/enhanced-vae-train.js';
import { HYPERNET_PRESETS, trainHypernet } from '../src/models/hypernet-train.js';
import type { TargetSpec } from '../src/models/target-net.js';
import { train } from '../src/models/train.js';
import { trainWeightVae } from '../src/models/vae-train.js';
import { trainZoo, ZOO_SETS } from '../src/models/zoo.js';
import { Linear, ReLU, Sequential } from '../src/nn/index.js';
import { add, crossEntropy, relu } from '../src/ops/index.js';
import { Adam } from '../src/optim/index.js';
import { assign, backward, copyOf, disposeAll, Rng, scope, type Tensor, tensor } from '../src/tensor/index.js';
import { cpuRng, setupGpu } from './helpers.js';

beforeAll(setupGpu);

/** Bit-for-bit equality of two float arrays (NaN equals NaN), naming the first difference. */
function expectSame(a: ArrayLike<number>, b: ArrayLike<number>, what: string) {
  expect(a.length, `${what}: length`).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) expect.fail(`${what}: index ${i} is ${a[i]} captured, ${b[i]} recorded`);
  }
}

/** Runs fn, counting the steps captured (by gpu().capture) and the replays of those. */
async function counting<T>(fn: () => Promise<T>): Promise<{ value: T; captured: number; replays: number }> {
  const spy = vi.spyOn(gpu(), 'capture');
  try {
    const value = await fn();
    const steps = spy.mock.results.map((r) => r.value as { replays: number });
    return { value, captured: steps.length, replays: steps.reduce((s, c) => s + c.replays, 0) };
  } finally {
    spy.mockRestore();
  }
}

async function paramValues(model: { parameters(): Tensor[] }): Promise<Float32Array[]> {
  return Promise.all(model.parameters().map(async (p) => (await p.data()) as Float32Array));
}

// ---- the runtime's capture, on a small model --------------------------------------------------------------

const ROWS = 24;
const r = cpuRng(7);
const X = Float32Array.from(r.uniform(ROWS * 4));
const Y = Int32Array.from({ length: ROWS }, (_, i) => (i * 7) % 3);

/** A small classifier trained on 8-row batches with noisy inputs and a decaying learning rate. */
function setup() {
  const model = new Sequential(
    new Linear(4, 8, { rng: new Rng(1) }),
    new ReLU(),
    new Linear(8, 3, { rng: new Rng(2) }),
  );
  const opt = new Adam(model.parameters(), { lr: 0.05 });
  const noise = new Rng(3);
  const x = tensor(new Float32Array(32), [8, 4]).keep();
  const y = tensor(new Int32Array(8), [8], 'i32').keep();
  const feed = (s: number) => {
    const rows = Array.from({ length: 8 }, (_, i) => (s * 5 + i * 3) % ROWS);
    assign(
      x,
      rows.flatMap((row) => Array.from(X.subarray(row * 4, row * 4 + 4))),
    );
    assign(
      y,
      rows.map((row) => Y[row]!),
    );
  };
  const step = () => {
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(add(x, noise.normal([8, 4], 0, 0.1))), y);
    backward(loss);
    opt.step();
    return loss.detach();
  };
  const dispose = () => {
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  };
  return { model, opt, noise, x, y, feed, step, dispose };
}

describe('capture and replay', () => {
  it('replays a training step bit for bit: data, noise, step count and learning rate change per step', async () => {
    const STEPS = 6;
    const ref = setup();
    const refLosses: Tensor[] = [];
    for (let s = 0; s < STEPS; s++) {
      ref.feed(s);
      refLosses.push(scope(ref.step));
      ref.opt.lr *= 0.9;
    }
    const cap = setup();
    const losses: Tensor[] = [];
    cap.feed(0);
    const step = gpu().capture(() => scope(cap.step).keep(), {
      label: 'the test step',
      counters: [{ counter: cap.noise, field: 'stream' }],
      inputs: [cap.x.ref, cap.y.ref],
    });
    losses.push(copyOf(step.value));
    cap.opt.lr *= 0.9;
    for (let s = 1; s < STEPS; s++) {
      cap.feed(s);
      step.replay({ probe: () => cap.opt.step(), inputs: [cap.x.ref, cap.y.ref] });
      losses.push(copyOf(step.value)); // this replay's loss (the next replay overwrites step.value)
      cap.opt.lr *= 0.9;
    }
    expect(step.replays).toBe(STEPS - 1);
    expect(step.dispatches.filter((d) => d.counter === 0).map((d) => d.name)).toEqual(['normal']);
    for (let s = 0; s < STEPS; s++) {
      expectSame(await losses[s]!.data(), await refLosses[s]!.data(), `loss of step ${s + 1}`);
    }
    const [a, b] = [await paramValues(cap.model), await paramValues(ref.model)];
    a.forEach((p, i) => {
      expectSame(p, b[i]!, `parameter ${i}`);
    });
    expect(cap.opt.t).toBe(ref.opt.t);
    expect(cap.noise.position).toBe(ref.noise.position);
    // the loss moved: the replays trained
    expect((await refLosses[STEPS - 1]!.data())[0]).not.toBe((await refLosses[0]!.data())[0]);
    disposeAll([refLosses, losses, step.value]);
    step.dispose();
    ref.dispose();
    cap.dispose();
  });

  it('holds the buffers a step allocated until dispose(), then gives them back', async () => {
    const pool = gpu().pool;
    const w = tensor(Float32Array.from(r.uniform(4096)), [64, 64]);
    await gpu().sync();
    const before = pool.getStats().heldBytes;
    const step = gpu().capture(() => scope(() => relu(relu(relu(w)))).keep());
    expect(pool.getStats().heldBytes - before).toBe(2 * 64 * 64 * 4); // the two intermediates
    // new tensors of that size get other buffers: replaying writes nothing of theirs
    const others = Array.from({ length: 4 }, () => tensor(new Float32Array(4096).fill(5), [64, 64]));
    step.replay();
    for (const t of others) expect(Array.from(await t.data()).every((v) => v === 5)).toBe(true);
    expectSame(
      await step.value.data(),
      Float32Array.from(await w.data(), (v) => Math.max(v, 0)),
      'relu(w)',
    );
    step.value.dispose();
    step.dispose();
    await gpu().sync();
    expect(pool.getStats().heldBytes).toBe(before);
    disposeAll([others, w]);
  });

  it('shows replayed dispatches in a trace (with their own uniforms) and in the profiler', async () => {
    const rng = new Rng(9);
    const step = gpu().capture(() => scope(() => relu(rng.uniform([100]))).keep(), {
      counters: [{ counter: rng, field: 'stream' }],
    });
    const trace = await gpu().trace(() => step.replay());
    expect(trace.map((d) => d.kernel)).toEqual(['uniform', 'relu']);
    expect(trace[0]!.uniforms.stream).toBe(1); // the capture drew stream 0
    expect(rng.position).toBe(2);
    if (gpu().canProfile) {
      gpu().profiler.reset();
      gpu().setProfiling(true);
      step.replay();
      await gpu().sync();
      await gpu().flush(); // (timings are read after the submit)
      gpu().setProfiling(false);
      expect(
        gpu()
          .profiler.summary()
          .map((row) => row.kernel)
          .sort(),
      ).toEqual(['relu', 'uniform']);
    }
    step.value.dispose();
    step.dispose();
  });
});

describe('what a replay cannot repeat is refused', () => {
  it('data written inside, a CPU draw, a readback, a buffer released inside, a nested capture', async () => {
    expect(() => gpu().capture(() => scope(() => relu(tensor([1, -2, 3]))).keep())).toThrow(
      /writes data \(1 write, the first 12 bytes.*assign\(\)/,
    );
    const rng = new Rng(4);
    const counters = [{ counter: rng, field: 'stream' }];
    const x = tensor([1, -2, 3, -4]);
    expect(() =>
      gpu().capture(
        () =>
          scope(() => {
            rng.permutation(4);
            return relu(x);
          }).keep(),
        { counters },
      ),
    ).toThrow(/counter 0 \(uniform 'stream'\) moved from 0 to 1 .*draw on the CPU/);
    expect(() =>
      gpu().capture(() => {
        void x.data().catch(() => {});
      }),
    ).toThrow(/reads a buffer back/);
    const z = tensor([1, 2, 3, 4]);
    expect(() =>
      gpu().capture(() => {
        const out = scope(() => relu(z)).keep();
        z.dispose();
        return out;
      }),
    ).toThrow(/released a .* buffer of 256 bytes that existed before it/);
    expect(() => gpu().capture(() => gpu().capture(() => 0))).toThrow(/captures do not nest/);
    x.dispose();
    await gpu().sync();
  });

  it('a buffer released after the capture, another input buffer, a probe that does not match', async () => {
    const w = tensor([1, -2, 3, -4]);
    const input = tensor([0, 0, 0, 0]);
    const step = gpu().capture(() => scope(() => relu(add(w, input))).keep(), { inputs: [input.ref] });
    const other = tensor([0, 0, 0, 0, 0]);
    expect(() => step.replay({ inputs: [other.ref] })).toThrow(/input 0 is .* \(another size: the shape changed\)/);
    expect(() => step.replay({ inputs: [input.ref], probe: () => scope(() => void relu(w)) })).toThrow(
      /the probe dispatched relu with buffers the step was not captured with/,
    );
    step.replay({ inputs: [input.ref] });
    expectSame(await step.value.data(), [1, 0, 3, 0], 'relu(w + 0)');
    w.dispose();
    expect(() => step.replay({ inputs: [input.ref] })).toThrow(
      /dispatch 0 \(add\) binds as 'a' was released after the capture/,
    );
    step.value.dispose();
    step.dispose();
    expect(() => step.replay()).toThrow(/after dispose/);
    disposeAll([input, other]);
  });
});

// ---- the training loops, captured against recorded -------------------------------------------------------

describe('the training loop', () => {
  it('refuses a step it cannot replay, saying why; with capture: false it records that step', async () => {
    const { model, opt, x, y, dispose } = setup();
    const loop = (step: () => Tensor, rng?: Rng, capture?: boolean) =>
      train({ model, opt, rng, epochs: 1, steps: 2, capture, inputs: () => ({}), step });
    const other = new Rng(11);
    const noisy = () => crossEntropy(model.forward(add(x, other.normal([8, 4]))), y);
    await expect(loop(noisy)).rejects.toThrow(
      /draws random numbers \(normal\) from a generator other than the loop's rng.*capture: false/,
    );
    const rng = new Rng(12);
    const cpuDraw = () => crossEntropy(model.forward(add(x, rng.uniform([8, 4], 0, rng.intCpu(1, 3)))), y);
    await expect(loop(cpuDraw, rng)).rejects.toThrow(/draw on the CPU inside the captured function/);
    const writes = () => crossEntropy(model.forward(add(x, tensor(new Float32Array(32), [8, 4]))), y);
    await expect(loop(writes)).rejects.toThrow(/writes data/);
    for (const step of [noisy, cpuDraw, writes]) expect((await loop(step, rng, false)).length).toBe(1);
    dispose();
  });
});

describe('training loops: captured equals recorded, bit for bit', () => {
  it('the VAE (40 rows in batches of 16: two shapes) and the enhanced VAE', async () => {
    const vectors = Float32Array.from(cpuRng(21).uniform(40 * 15));
    const preset = { lr: 1e-3, batchSize: 16, epochs: 3, shuffle: true };
    const runs: { losses: number[]; params: Float32Array[] }[] = [];
    for (const capture of [true, false]) {
      const {
        value: t,
        captured,
        replays,
      } = await counting(() => trainWeightVae(vectors, preset, { seed: 5, capture }));
      expect([captured, replays]).toEqual(capture ? [2, 3 * 3 - 2] : [0, 0]); // batches of 16 and of 8
      runs.push({ losses: t.losses, params: await paramValues(t.vae) });
      t.vae.dispose();
    }
    expectSame(runs[0]!.losses, runs[1]!.losses, 'VAE epoch losses');
    runs[0]!.params.forEach((p, i) => {
      expectSame(p, runs[1]!.params[i]!, `VAE parameter ${i}`);
    });

    const m2 = Float32Array.from(cpuRng(22).uniform(70 * 43));
    const inputs = Float32Array.from(irisSplit().xTrain);
    const enhanced = { ...ENHANCED_PRESETS.default, epochs: 2 };
    const eruns: { losses: number[]; params: Float32Array[] }[] = [];
    for (const capture of [true, false]) {
      const run = () => trainEnhancedVae(m2, enhanced, { seed: 6, inputs, capture });
      const { value: t, captured, replays } = await counting(run);
      expect([captured, replays]).toEqual(capture ? [2, 2 * 2 - 2] : [0, 0]); // batches of 64 and of 6
      eruns.push({ losses: t.losses, params: await paramValues(t.vae) });
      t.vae.dispose();
    }
    expectSame(eruns[0]!.losses, eruns[1]!.losses, 'enhanced VAE epoch losses');
    eruns[0]!.params.forEach((p, i) => {
      expectSame(p, eruns[1]!.params[i]!, `enhanced VAE parameter ${i}`);
    });
  });

  it('the zoo population (6 M2 networks, 100 rows in batches of 16: two shapes)', async () => {
    const split = irisSplit();
    const runs = [];
    for (const capture of [true, false]) {
      const { value, captured, replays } = await counting(() =>
        trainZoo(ZOO_SETS[2]!, split, { models: 6, epochs: 3, capture }),
      );
      expect([captured, replays]).toEqual(capture ? [2, 3 * 7 - 2] : [0, 0]); // 6 batches of 16, one of 4
      runs.push(value);
    }
    expectSame(runs[0]!.losses, runs[1]!.losses, 'zoo epoch losses');
    expectSame(runs[0]!.vectors, runs[1]!.vectors, 'zoo weights');
    expectSame(runs[0]!.testAccuracy, runs[1]!.testAccuracy, 'zoo test accuracy');
  });

  it('the hypernetwork (micro target, 2 networks x 3 images, 4 steps, a validation every 2)', async () => {
    const target: TargetSpec = {
      name: 'micro',
      input: [6, 6, 1],
      classes: 10,
      layers: [
        { kind: 'conv', filters: 2, kernel: 3, pool: 2, hidden: 4 },
        { kind: 'dense', units: 10, hidden: 5 },
      ],
    };
    const part = (n: number, seed: number): MnistPart => {
      const c = cpuRng(seed);
      return { x: Float32Array.from(c.uniform(n * 36, 0, 1)), y: Int32Array.from({ length: n }, () => c.int(0, 10)) };
    };
    const data: MnistSplit = {
      height: 6,
      width: 6,
      classes: 10,
      train: part(40, 1),
      val: part(8, 2),
      test: part(8, 3),
    };
    const preset = {
      ...HYPERNET_PRESETS.ci,
      networks: 2,
      images: 3,
      steps: 4,
      evalEvery: 2,
      valNetworks: 2,
      valImages: 8,
    };
    const runs: { history: unknown[]; params: Float32Array[] }[] = [];
    for (const capture of [true, false]) {
      const run = () => trainHypernet({ data, preset, seed: 3, faithful: false, target, capture });
      const { value: t, captured, replays } = await counting(run);
      expect([captured, replays]).toEqual(capture ? [1, 3] : [0, 0]);
      runs.push({ history: t.history, params: await paramValues(t.net) });
      t.net.dispose();
    }
    expect(runs[0]!.history).toEqual(runs[1]!.history); // losses, figures, learning rate, validation accuracy
    runs[0]!.params.forEach((p, i) => {
      expectSame(p, runs[1]!.params[i]!, `hypernetwork parameter ${i}`);
    });
  });
});
