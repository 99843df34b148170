// The training-step rows again, with our step captured once and replayed (src/gpu/capture.ts), so that a
// run with `--only "train step,hypernet step"` prints both ways side by side: the VAE step (batch 32) and
// the hypernetwork step at the cpu preset's batch (8 z x 8 images). TF.js runs as in the plain rows (the
// same cases' tf sides, from the same weights).
//
// Ours: the same model, weights, inputs and seeds as the plain row's. The step (zeroGrad, loss, backward,
// Adam) is captured at the first iteration; each later iteration replays it (the probe re-issues Adam's
// dispatch with its step count and learning rate, the Rng is a counter of the capture) and reads back the
// loss, as the plain row does. The first iteration must equal the plain row's first, bit for bit (loss and
// every parameter for the VAE; loss, its terms and the logits for the hypernetwork), or the case fails.

import { gpu } from '../src/gpu/index.js';
import { Hypernet, hypernetLoss, MNIST_HYPERNET } from '../src/models/hypernet.js';
import { MNIST_TARGET } from '../src/models/target-net.js';
import { WeightVae } from '../src/models/weight-vae.js';
import { Adam } from '../src/optim/index.js';
import { backward, copyOf, disposeAll, Rng, scope, type Tensor, tensor } from '../src/tensor/index.js';
import type { Case, Impl } from './case.js';
import { hypernetStepCase } from './cases-hypernet.js';
import { vaeStepCase } from './cases-train.js';
import { concat, randomArray } from './util.js';

const NOTE = 'captured: the step captured once and replayed (src/gpu/capture.ts); the plain row records it anew';

/** The plain row's case with our side captured: `make` builds the step; its first output must equal `plain`'s. */
function captured(base: Case, make: () => Promise<CapturedSide>): Case {
  return {
    ...base,
    op: `${base.op}, captured`,
    notes: [...(base.notes ?? []), NOTE],
    async ours() {
      const plain = await base.ours(); // sets what base.tf starts from (the weights, the first noise)
      const first = plain.first;
      plain.dispose();
      const side = await make();
      const mine = concat(await Promise.all(side.firstOutputs.map(async (t) => (await t.data()) as Float32Array)));
      const at = mine.findIndex((v, i) => !Object.is(v, first[i]));
      if (mine.length !== first.length || at >= 0) {
        side.impl.dispose();
        throw new Error(`${base.op}, captured: the first step differs from the plain row's at value ${at}`);
      }
      return { ...side.impl, first };
    },
  };
}

interface CapturedSide {
  impl: Omit<Impl, 'first'>;
  firstOutputs: Tensor[];
}

/** start() of a captured step: one replay, then its loss (outputs[0]) copied and read back. */
function replaying(replay: () => void, loss: Tensor): () => () => Promise<void> {
  return () => {
    replay();
    const l = copyOf(loss);
    return async () => {
      await l.data();
      l.dispose();
    };
  };
}

export function capturedVaeStepCase(batch = 32): Case {
  const x = randomArray(batch * 15, 41, 0, 1); // the plain row's inputs
  return captured(vaeStepCase(batch), async () => {
    const rng = new Rng(5);
    const vae = new WeightVae(15, 32, rng);
    const opt = new Adam(vae.parameters(), { lr: 1e-3 });
    const xt = tensor(x, [batch, 15]).keep();
    const step = gpu().capture(
      () =>
        scope(() => {
          opt.zeroGrad();
          const { total } = vae.loss(xt, rng);
          backward(total);
          opt.step();
          return total;
        }).keep(),
      { label: 'VAE step', counters: [{ counter: rng, field: 'stream' }] },
    );
    const firstOutputs = [step.value, ...vae.parameters()];
    const dispose = () => {
      step.value.dispose();
      step.dispose();
      opt.dispose();
      vae.dispose();
      xt.dispose();
    };
    return {
      firstOutputs,
      impl: { start: replaying(() => step.replay({ probe: () => opt.step() }), step.value), dispose },
    };
  });
}

/**
 * A case whose iteration is `k` of `base`'s, their results read back together at the end: a training loop
 * reads its losses once an epoch (src/models/train.ts), not after every step. Both sides run the same k
 * steps; the ms column is per k steps.
 */
export function stepsPerReadback(base: Case, k: number): Case {
  const chunked = (impl: Impl): Impl => ({
    ...impl,
    start() {
      const waits = Array.from({ length: k }, () => impl.start());
      return async () => {
        await Promise.all(waits.map((w) => w()));
      };
    },
  });
  return {
    ...base,
    op: `${base.op}, ${k} a readback`,
    perSecond: false, // the report's steps/s line reads one step an iteration
    notes: [
      ...(base.notes ?? []),
      `${k} a readback: ${k} steps issued back to back and their losses read back together (ms per ${k} steps)`,
    ],
    async ours() {
      return chunked(await base.ours());
    },
    async tf(tf, backend) {
      const impl = await base.tf(tf, backend);
      return impl && chunked(impl);
    },
  };
}

export function capturedHypernetStepCase(B: number, n: number): Case {
  const HW = 28;
  const z = randomArray(B * MNIST_HYPERNET.noise, 61, -1, 1); // the plain row's inputs
  const xs = randomArray(B * n * HW * HW, 62, 0, 1);
  const ys = Int32Array.from(randomArray(B * n, 63, 0, 10), Math.floor);
  return captured(hypernetStepCase(B, n), async () => {
    const net = new Hypernet({ ...MNIST_HYPERNET, target: MNIST_TARGET, faithful: false }, new Rng(17));
    const opt = new Adam(net.parameters(), { lr: 3e-4 });
    const zt = tensor(z, [B, MNIST_HYPERNET.noise]).keep();
    const xt = tensor(xs, [B, n, HW, HW, 1]).keep();
    const yt = tensor(ys, [B * n], 'i32').keep();
    net.train();
    const step = gpu().capture(
      () =>
        scope(() => {
          opt.zeroGrad();
          const r = hypernetLoss(net, zt, xt, yt, { lambda: 1e3, entropyDim: MNIST_HYPERNET.noise, metric: 'l1' });
          backward(r.loss);
          opt.step();
          return [r.loss, r.ce, r.entropy, r.logits];
        }).map((t) => t.keep()),
      { label: 'hypernet step' },
    );
    opt.lr *= 0.99998;
    const replay = () => {
      step.replay({ probe: () => opt.step() });
      opt.lr *= 0.99998;
    };
    const dispose = () => {
      disposeAll(step.value);
      step.dispose();
      opt.dispose();
      net.dispose();
      disposeAll([zt, xt, yt]);
    };
    return { firstOutputs: step.value, impl: { start: replaying(replay, step.value[0]!), dispose } };
  });
}
