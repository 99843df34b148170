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
    for (const [name, p] of net.namedParameters()) {
      const g = await p.grad!.data();
      expect(relErr(g, t(`grad.${name}`).data), `grad of ${name}`).toBeLessThan(1e-4);
      expect(relErr(await p.data(), t(`updated.${name}`).data), `updated ${name}`).toBeLessThan(1e-4);
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
