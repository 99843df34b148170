// The enhanced VAE's training against PyTorch 1.13's port of the paper's code (test/fixtures/
// make_enhanced_vae.py, from test/fixtures/enhanced_vae_paper.py): from the same initial state, rows and
// noise, six steps of the code's optimiser (Adam lr 0.1 with L2 1e-3 added to the gradient, batches of 16,
// 16 and 8) give the same losses, gradients, parameters and running statistics; the trained model decodes
// in eval mode (the code's sampling) as PyTorch's; and the faithful preset holds the code's settings.
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, type SafeFile } from '../src/io/safetensors.js';
import { EnhancedVae } from '../src/models/enhanced-vae.js';
import { ENHANCED_PRESETS } from '../src/models/enhanced-vae-train.js';
import { Standardizer } from '../src/models/weight-vae.js';
import { Adam } from '../src/optim/index.js';
import { backward, noGrad, type Rng, scope, type Shape, tensor } from '../src/tensor/index.js';
import { expectClose, setupGpu } from './helpers.js';
import fixtureUrl from './fixtures/enhanced_vae_torch.safetensors?url';

beforeAll(setupGpu);

/** The fixture's bytes: fetched in the browser, read from the repository in Node. */
async function fixture(): Promise<SafeFile> {
  let bytes: Uint8Array;
  if (typeof window === 'undefined') {
    const fs = 'node:fs'; // (not a static import: the browser bundle must not see it)
    const { readFileSync } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs');
    bytes = readFileSync(`.${fixtureUrl}`);
  } else {
    bytes = new Uint8Array(await (await fetch(fixtureUrl)).arrayBuffer());
  }
  return decodeSafetensors(bytes, 'enhanced_vae_torch.safetensors');
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

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s);
}

/** A generator whose normal() hands out the given noise: the loss's eps, as PyTorch drew it. */
function fixedNoise(eps: Float32Array): Rng {
  return { normal: (shape: Shape) => tensor(eps, shape) } as unknown as Rng;
}

// The offsets that reach a batch norm through linear layers only (a linear layer's bias, an input batch
// norm's offset): their gradient is zero (the norm subtracts the batch mean) but for rounding (~1e-6), which
// Adam's first step turns into +-lr whatever its size, so they and the running means downstream of them
// follow each implementation's rounding, not the method.
const BEFORE_BN = ['enc1.0', 'enc1.1', 'enc1.4', 'enc2.0', 'enc2.1', 'enc2.4', 'dec3.0', 'dec4.0'];
const AFTER_THEM = ['enc1.2', 'enc1.5', 'enc2.2', 'enc2.5', 'dec3.1', 'dec4.1'];

/** Our model with the fixture's state under `prefix` ('' initial, 'final.' after the six steps). */
function loaded(f: SafeFile, prefix: string): EnhancedVae {
  const vae = new EnhancedVae();
  const state: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, p] of vae.namedState()) {
    if (name.endsWith('num_batches_tracked')) continue;
    const kind = vae.namedParameters().some(([n]) => n === name) ? 'param' : 'buffer';
    state[name] = { shape: [...p.shape], data: f.tensors[`${prefix}${kind}.${name}`]!.data as Float32Array };
  }
  vae.loadStateDict(state, `enhanced_vae_torch.safetensors (${prefix || 'initial'} state)`);
  return vae;
}

async function expectState(vae: EnhancedVae, f: SafeFile, prefix: string, tol: number, skip: (n: string) => boolean) {
  for (const [name, p] of vae.namedParameters()) {
    if (skip(name)) continue;
    expect(relErr(await p.data(), f.tensors[`${prefix}param.${name}`]!.data), `${prefix}${name}`).toBeLessThan(tol);
  }
  for (const [name, b] of vae.namedBuffers()) {
    if (name.endsWith('num_batches_tracked') || skip(name)) continue;
    expect(relErr(await b.data(), f.tensors[`${prefix}buffer.${name}`]!.data), `${prefix}${name}`).toBeLessThan(tol);
  }
}

describe('enhanced VAE against PyTorch (the paper code)', () => {
  it("the faithful preset holds the code's settings", async () => {
    const m = (await fixture()).metadata;
    const p = ENHANCED_PRESETS.faithful;
    expect([p.lr, p.weightDecay, p.batchSize, p.epochs, p.patience]).toEqual(
      [m.lr, m.weight_decay, m.batch, m.epochs, m.patience].map(Number),
    );
    // one global mean and std, the weights as they are, the plain VAE loss
    expect([p.scaling, p.canonical, p.beta, p.functional]).toEqual(['global', false, 1, 0]);
  });

  it('six steps of Adam with L2: the same scaling, losses, gradients, parameters and running statistics', async () => {
    const f = await fixture();
    const t = (name: string) => f.tensors[name]!;
    const raw = t('vectors').data as Float32Array;
    const scaler = Standardizer.fit(raw);
    expectClose([scaler.mean, scaler.std], [Number(f.metadata.mean), Number(f.metadata.std)], 1e-6, 1e-9, 'scaler');
    const rows = t('vectors').shape[0]!;
    const dim = t('vectors').shape[1]!;
    const data = scaler.scale(raw);
    const order = t('order').data as Int32Array;
    const vae = loaded(f, '');
    const opt = new Adam(vae.parameters(), { lr: Number(f.metadata.lr), weightDecay: Number(f.metadata.weight_decay) });
    vae.train();
    const B = 16;
    const losses: number[] = [];
    let k = 0;
    for (let e = 0; e < order.length / rows; e++) {
      for (let b = 0; b < rows; b += B) {
        const idx = order.subarray(e * rows + b, e * rows + Math.min(rows, b + B));
        const x = new Float32Array(idx.length * dim);
        for (let i = 0; i < idx.length; i++) x.set(data.subarray(idx[i]! * dim, (idx[i]! + 1) * dim), i * dim);
        const loss = scope(() => {
          opt.zeroGrad();
          const l = vae.loss(tensor(x, [idx.length, dim]), fixedNoise(t(`eps.${k}`).data as Float32Array)).total;
          backward(l);
          return l.detach();
        });
        losses.push(await loss.item());
        loss.dispose();
        if (k === 0) {
          // every gradient to 1e-4 of its size, give or take 1e-4: float32 rounding of sums of terms of order
          // 10-100, all that is left of those that are zero in exact arithmetic (BEFORE_BN, enc1.5.weight)
          for (const [name, p] of vae.namedParameters()) {
            const g = await p.grad!.data();
            const want = t(`grad.${name}`).data;
            expect(relErr(g, want) * norm(want), `grad of ${name}`).toBeLessThan(1e-4 * norm(want) + 1e-4);
          }
        }
        scope(() => opt.step());
        if (k === 0) await expectState(vae, f, 'step1.', 1e-4, (n) => BEFORE_BN.some((l) => n === `${l}.bias`));
        k++;
      }
    }
    expectClose(losses, t('losses').data, 1e-5, 0, 'losses');
    const downstream = (n: string) =>
      BEFORE_BN.some((l) => n === `${l}.bias`) || AFTER_THEM.some((l) => n === `${l}.running_mean`);
    await expectState(vae, f, 'final.', 1e-4, downstream);
    opt.dispose();
    vae.dispose();
  });

  it("decodes with batch norm in eval mode (running statistics) as PyTorch's model does", async () => {
    const f = await fixture();
    const vae = loaded(f, 'final.').eval();
    const z = f.tensors.z!;
    const out = noGrad(() => scope(() => vae.decode(tensor(z.data, z.shape))));
    expectClose(await out.data(), f.tensors.decoded!.data, 1e-4, 1e-5, 'decoded');
    out.dispose();
    vae.dispose();
  });
});
