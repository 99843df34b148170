// Training the M1 weight-VAE on a zoo's weight vectors, and sampling networks from it.
// Presets: `faithful` is the paper's code (Adam 1e-3, batch 1, 100 epochs, no shuffling); `default` is
// quicker with the same result (batch 16, shuffled, 400 epochs).

import { Adam } from '../optim/index.js';
import { noGrad, Rng, scope, type Tensor, tensor } from '../tensor/index.js';
import type { Checkpointer } from './checkpoint.js';
import { fitRows } from './fit.js';
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
  try {
    const losses = await fitRows({
      data,
      model: vae,
      opt,
      rng,
      loss: (x) => vae.loss(x, rng).total,
      batchSize: preset.batchSize,
      epochs: preset.epochs,
      shuffle: preset.shuffle,
      onEpoch,
      ckpt,
    });
    return { vae, scaler, losses };
  } catch (e) {
    vae.dispose();
    throw e;
  } finally {
    opt.dispose();
    data.dispose();
  }
}

/** A trained VAE of either kind: what sampling needs. */
export interface Sampleable {
  vae: { eval(): { decode(z: Tensor): Tensor }; latent: number };
  scaler: { unscale(v: ArrayLike<number>): Float32Array };
}

/**
 * n networks: z ~ N(0, I), decoded (batch norm, if any, in evaluation mode) and scaled back to weight
 * space. (n, dim)
 */
export async function sampleWeightVae(t: Sampleable, n: number, seed: number): Promise<Float32Array> {
  const rng = new Rng(seed);
  const out = noGrad(() => scope(() => t.vae.eval().decode(rng.normal([n, t.vae.latent]))));
  const v = (await out.data()) as Float32Array;
  out.dispose();
  return t.scaler.unscale(v);
}
