// PyTorch parity of one full hypernetwork training step (test/fixtures/make_hypernet.py, PyTorch 1.13):
// from identical initial weights, noise and images, the loss, its terms, the gauge-fixed weights, the
// logits, every gradient, the running statistics and the parameters after one Adam step.
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { flattenLayers } from '../src/models/gauge.js';
import { Hypernet, hypernetLoss, MNIST_HYPERNET } from '../src/models/hypernet.js';
import { MNIST_TARGET } from '../src/models/target-net.js';
import { Adam } from '../src/optim/index.js';
import { backward, Rng, tensor } from '../src/tensor/index.js';
import { expectClose, setupGpu } from './helpers.js';
import fixtureUrl from './fixtures/hypernet_step.safetensors?url';

beforeAll(setupGpu);

/** The fixture's bytes: fetched in the browser, read from the repository in Node. */
async function fixture() {
  let bytes: Uint8Array;
  if (typeof window === 'undefined') {
    const fs = 'node:fs'; // (not a static import: the browser bundle must not see it)
    const { readFileSync } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs');
    bytes = readFileSync(`.${fixtureUrl}`);
  } else {
    bytes = new Uint8Array(await (await fetch(fixtureUrl)).arrayBuffer());
  }
  return decodeSafetensors(bytes, 'hypernet_step.safetensors');
}

/** Relative error of a whole tensor: |a - b| / |b| in the 2-norm. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/**
 * The parameters after a first Adam step against PyTorch's. That step is p0 - lr g / (|g| + eps), about
 * lr times the sign of g: where a gradient entry is as small as the two sides' disagreement on it, its sign,
 * and so its step, is rounding's choice (seen on an NVIDIA GPU: a few such entries of the 256,500 of
 * extractor.3.weight put the whole tensor 3.4e-4 apart, with every gradient within 1e-4). So the entries on
 * whose gradient the two sides agree within 10% must agree to 1e-4 after the step (2-norm relative, as
 * everywhere here); the others, at most 1 in 1,000 of a tensor, must have moved by at most lr, as a first
 * Adam step does, and our step must be the one our own gradient asks for.
 */
function expectFirstAdamStep(
  name: string,
  updated: ArrayLike<number>,
  updatedRef: ArrayLike<number>,
  before: ArrayLike<number>,
  g: ArrayLike<number>,
  gRef: ArrayLike<number>,
  lr: number,
): void {
  const sure: number[] = [];
  const unsure: number[] = [];
  for (let i = 0; i < gRef.length; i++)
    (Math.abs(g[i]! - gRef[i]!) <= 0.1 * Math.abs(gRef[i]!) ? sure : unsure).push(i);
  const pick = (a: ArrayLike<number>, idx: number[]) => idx.map((i) => a[i]!);
  expect(relErr(pick(updated, sure), pick(updatedRef, sure)), `updated ${name}`).toBeLessThan(1e-4);
  expect(unsure.length, `updated ${name}: entries whose gradients disagree by over 10%`).toBeLessThanOrEqual(
    Math.max(1, gRef.length / 1000),
  );
  for (const i of unsure) {
    const step = before[i]! - lr * (g[i]! / (Math.abs(g[i]!) + 1e-8));
    expect(Math.abs(updated[i]! - step), `updated ${name}[${i}]: the step of our gradient`).toBeLessThan(1e-3 * lr);
  }
}

describe('hypernetwork: one training step against PyTorch', () => {
  it('loss, terms, weights, logits, gradients, statistics and the updated parameters agree', async () => {
    const f = await fixture();
    const t = (name: string) => f.tensors[name]!;
    const B = Number(f.metadata.B);
    const n = Number(f.metadata.n);
    const net = new Hypernet({ ...MNIST_HYPERNET, target: MNIST_TARGET, faithful: false }, new Rng(0));
    expect(net.numParameters()).toBe(633_640);
    expect(Number(f.metadata.parameters)).toBe(633_640);
    const state = await net.stateDict();
    for (const [name, p] of net.namedParameters())
      state[name] = { shape: [...p.shape], data: t(`param.${name}`).data as Float32Array };
    net.loadStateDict(state);
    const opt = new Adam(net.parameters(), { lr: Number(f.metadata.lr) });
    const z = tensor(t('z').data, t('z').shape);
    const x = tensor(t('images').data, t('images').shape);
    const y = tensor(t('labels').data, [B * n], 'i32');
    net.train();
    opt.zeroGrad();
    const r = hypernetLoss(net, z, x, y, { lambda: Number(f.metadata.lambda), entropyDim: 300, metric: 'l1' });
    backward(r.loss);
    opt.step();
    expectClose([await r.ce.item()], [Number(f.metadata.ce)], 1e-4, 0, 'ce');
    expectClose([await r.entropy.item()], [Number(f.metadata.entropy)], 1e-4, 0, 'entropy');
    expectClose([await r.loss.item()], [Number(f.metadata.loss)], 1e-4, 0, 'loss');
    expectClose(await r.logits.data(), t('logits').data, 1e-4, 1e-5, 'logits');
    const lr = Number(f.metadata.lr);
    for (const [name, p] of net.namedParameters()) {
      const g = await p.grad!.data();
      const gRef = t(`grad.${name}`).data;
      expect(relErr(g, gRef), `grad of ${name}`).toBeLessThan(1e-4);
      expectFirstAdamStep(name, await p.data(), t(`updated.${name}`).data, t(`param.${name}`).data, g, gRef, lr);
    }
    for (const [name, b] of net.namedBuffers()) {
      const want = f.tensors[`buffer.${name}`];
      if (want) expectClose(await b.data(), want.data, 1e-4, 1e-7, name);
    }
    // the gauge-fixed weights the entropy saw (after the step the weights changed: recompute from the fixture's)
    net.loadStateDict(state);
    const theta = flattenLayers(MNIST_TARGET, net.networks(z));
    expect(relErr(await theta.data(), t('theta').data)).toBeLessThan(1e-4);
    opt.dispose();
    net.dispose();
  });
});
