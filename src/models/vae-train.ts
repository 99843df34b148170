// Training the M1 weight-VAE on a zoo's weight vectors (Iris's 15 values unless options.dim), and sampling
// networks from it.
// Presets: `faithful` is the paper's code (Adam 1e-3, batch 1, 100 epochs, no shuffling); `default` is
// quicker with the same result (batch 16, shuffled, 400 epochs).

import { Adam } from '../optim/index.js';
import { noGrad, Rng, scope, type Tensor, tensor } from '../tensor/index.js';
import type { Checkpointer } from './checkpoint.js';
import { fitRows } from './fit.js';
import { MinMaxScaler, WeightVae } from './weight-vae.js';
import { vectorLength } from './zoo.js';

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

/** What both VAE trainers take besides the vectors and the preset. */
export interface VaeTrainOptions {
  seed: number;
  /** Values per network (the M1 VAE: Iris's 15, M1's [W | b]); the enhanced VAE's comes from `widths`. */
  dim?: number;
  /** The enhanced VAE's M2 networks' layer widths [d, h, k]; default Iris's [4, 5, 3]. */
  widths?: readonly number[];
  /** Rows (N, d) on which the enhanced VAE's function-space term compares networks: the training inputs. */
  inputs?: Float32Array;
  onEpoch?: (epoch: number, loss: number) => void;
  ckpt?: Checkpointer;
  /** Capture and replay the training steps (train.ts; default true). */
  capture?: boolean;
}

/** vectors: (G, dim) raw weights. The caller disposes the returned vae. */
export async function trainWeightVae(
  vectors: Float32Array,
  preset: VaePreset,
  o: VaeTrainOptions,
): Promise<TrainedVae> {
  const dim = o.dim ?? vectorLength('M1');
  const G = vectors.length / dim;
  if (!Number.isInteger(G) || G < 2) {
    throw new Error(`trainWeightVae: ${vectors.length} values are not 2 or more vectors of ${dim}`);
  }
  const rng = new Rng(o.seed);
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
      onEpoch: o.onEpoch,
      ckpt: o.ckpt,
      capture: o.capture,
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
export async function sampleVae(t: Sampleable, n: number, seed: number): Promise<Float32Array> {
  return t.scaler.unscale(await sampleScaled(t, n, seed));
}

/**
 * The same n networks as they leave the decoder, in the scaled space, not scaled back: what the paper's
 * code evaluated as the enhanced VAE's networks (and used as weights as they were). (n, dim)
 */
export async function sampleScaled(t: Sampleable, n: number, seed: number): Promise<Float32Array> {
  const rng = new Rng(seed);
  const out = noGrad(() => scope(() => t.vae.eval().decode(rng.normal([n, t.vae.latent]))));
  const v = (await out.data()) as Float32Array;
  out.dispose();
  return v;
}
