// Training the M1 weight-VAE on a zoo's weight vectors, and sampling networks from it.
// Presets: `faithful` is the paper's code (Adam 1e-3, batch 1, 100 epochs, no shuffling); `default` is
// quicker with the same result (batch 16, shuffled, 400 epochs).

import { Adam } from '../optim/index.js';
import { backward, noGrad, Rng, scope, tensor, zeros } from '../tensor/index.js';
import { add, gatherRows } from '../ops/index.js';
import { captureState, type Checkpointer, maybeSave, restoreState } from './checkpoint.js';
import { MinMaxScaler, WeightVae } from './weight-vae.js';

export interface VaePreset {
  lr: number;
  batchSize: number;
  epochs: number;
  shuffle: boolean;
}

export const VAE_PRESETS: Record<'faithful' | 'default', VaePreset> = {
  faithful: { lr: 1e-3, batchSize: 1, epochs: 100, shuffle: false },
  default: { lr: 1e-3, batchSize: 16, epochs: 400, shuffle: true },
};

export interface TrainedVae {
  vae: WeightVae;
  scaler: MinMaxScaler;
  losses: number[]; // mean loss per sample, per epoch
}

/** vectors: (G, dim) raw weights. The caller disposes the returned vae. */
export async function trainWeightVae(
  vectors: Float32Array,
  dim: number,
  preset: VaePreset,
  seed: number,
  onEpoch?: (epoch: number, loss: number) => void,
  ckpt?: Checkpointer,
): Promise<TrainedVae> {
  const G = vectors.length / dim;
  const rng = new Rng(seed);
  const scaler = MinMaxScaler.fit(vectors);
  const data = tensor(scaler.scale(vectors), [G, dim]);
  const vae = new WeightVae(dim, 32, rng);
  const opt = new Adam(vae.parameters(), { lr: preset.lr });
  let losses: number[] = [];
  let start = 0;
  try {
    const saved = ckpt?.load();
    if (saved) ({ epoch: start, losses } = restoreState(saved, rng, vae, opt));
    const B = preset.batchSize;
    const batches = Math.ceil(G / B);
    for (let epoch = start; epoch < preset.epochs; epoch++) {
      const order = preset.shuffle ? rng.permutation(G) : Int32Array.from({ length: G }, (_, i) => i);
      let total = zeros([]);
      for (let b = 0; b < batches; b++) {
        const idx = order.subarray(b * B, Math.min(G, (b + 1) * B));
        total = scope(() => {
          opt.zeroGrad();
          const x = gatherRows(data, tensor(idx, [idx.length], 'i32'));
          const { total: loss } = vae.loss(x, rng);
          backward(loss);
          opt.step();
          const t = add(total, loss.detach());
          total.dispose();
          return t;
        });
      }
      const loss = (await total.item()) / G;
      total.dispose();
      losses.push(loss);
      onEpoch?.(epoch, loss);
      await maybeSave(ckpt, epoch + 1, preset.epochs, () => captureState(epoch + 1, losses, rng, vae, opt));
    }
    return { vae, scaler, losses };
  } catch (e) {
    vae.dispose();
    throw e;
  } finally {
    opt.dispose();
    data.dispose();
  }
}

/** n networks: z ~ N(0, I), decoded and scaled back to weight space. (n, dim) */
export async function sampleWeightVae(t: TrainedVae, n: number, seed: number): Promise<Float32Array> {
  const rng = new Rng(seed);
  const out = noGrad(() => scope(() => t.vae.eval().decode(rng.normal([n, t.vae.latent]))));
  const v = (await out.data()) as Float32Array;
  out.dispose();
  return t.scaler.unscale(v);
}
