// Training the enhanced VAE on the Real-2 zoo (M2 vectors) and sampling from it.
// `faithful` is the paper's code: data standardised with one global mean and std, Adam lr 0.1 with L2
// 1e-3, ReduceLROnPlateau (patience 10) on the epoch loss, batch 64 shuffled, 500 epochs.

import { Adam, ReduceLROnPlateau } from '../optim/index.js';
import { Rng, tensor } from '../tensor/index.js';
import type { Checkpointer } from './checkpoint.js';
import { EnhancedVae, W1, W2 } from './enhanced-vae.js';
import { fitRows } from './fit.js';
import { sampleWeightVae } from './vae-train.js';
import { ColumnStandardizer, Standardizer } from './weight-vae.js';
import { canonicalizeM2 } from './zoo.js';

export interface EnhancedPreset {
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
  patience: number;
  scaling: 'global' | 'columns'; // one mean and std for all values (the code), or one per weight
  canonical: boolean; // order each network's hidden units canonically first (zoo.ts canonicalizeM2)
  beta: number; // weight of the KL term
}

export const ENHANCED_PRESETS: Record<'faithful' | 'default', EnhancedPreset> = {
  faithful: {
    lr: 0.1,
    weightDecay: 1e-3,
    batchSize: 64,
    epochs: 500,
    patience: 10,
    scaling: 'global',
    canonical: false,
    beta: 1,
  },
  default: {
    lr: 1e-3,
    weightDecay: 0,
    batchSize: 64,
    epochs: 300,
    patience: 10,
    scaling: 'columns',
    canonical: true,
    beta: 1,
  },
};

export interface TrainedEnhancedVae {
  vae: EnhancedVae;
  scaler: Standardizer | ColumnStandardizer;
  losses: number[];
}

export async function trainEnhancedVae(
  vectors: Float32Array,
  preset: EnhancedPreset,
  seed: number,
  onEpoch?: (epoch: number, loss: number) => void,
  ckpt?: Checkpointer,
): Promise<TrainedEnhancedVae> {
  const dim = W1 + W2;
  const G = vectors.length / dim;
  const rng = new Rng(seed);
  if (preset.canonical) vectors = canonicalizeM2(vectors);
  const scaler = preset.scaling === 'global' ? Standardizer.fit(vectors) : ColumnStandardizer.fit(vectors, dim);
  const data = tensor(scaler.scale(vectors), [G, dim]);
  const vae = new EnhancedVae(rng);
  const opt = new Adam(vae.parameters(), { lr: preset.lr, weightDecay: preset.weightDecay });
  const plateau = new ReduceLROnPlateau(opt, { patience: preset.patience });
  try {
    const losses = await fitRows({
      data,
      model: vae,
      opt,
      rng,
      loss: (x) => vae.loss(x, rng, preset.beta).total,
      batchSize: preset.batchSize,
      epochs: preset.epochs,
      shuffle: true,
      onEpoch,
      afterEpoch: (sum) => plateau.step(sum),
      ckpt,
      extra: { save: () => plateau.state(), load: (st) => plateau.loadState(st as ReturnType<typeof plateau.state>) },
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

/** n networks: z ~ N(0, I), decoded with batch norm in evaluation mode, scaled back. (n, 43) */
export async function sampleEnhancedVae(t: TrainedEnhancedVae, n: number, seed: number): Promise<Float32Array> {
  return sampleWeightVae(t, n, seed);
}
