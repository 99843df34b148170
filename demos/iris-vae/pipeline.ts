// The weight-VAE paper's Iris pipeline as the page runs it: the three zoos trained as populations, the VAE on
// the Real zoo and the enhanced VAE on the Real-2 zoo, networks sampled from each, and Table 1 row by row in
// the table's order (R1, S1, G1, R2, G2). The same library calls as `weightgen iris all` (src/cli/iris.ts),
// with the same seeds and the default preset's settings, sized by the page and reporting every epoch.
//
// Not here: files and checkpoints (the command line's), drawing (main.ts, scatter.ts), the latent
// projection (latent.ts).

import { type IrisSplit, irisSplit } from '../../src/data/iris.js';
import { ENHANCED_PRESETS, type TrainedEnhancedVae, trainEnhancedVae } from '../../src/models/enhanced-vae-train.js';
import { type Table1Row, table1Row } from '../../src/models/table1.js';
import { sampleVae, type TrainedVae, trainWeightVae, VAE_PRESETS } from '../../src/models/vae-train.js';
import { type Arch, trainZoo, vectorAccuracy, ZOO_SETS, ZOO_TRAINING, type ZooResult } from '../../src/models/zoo.js';

/** How much the page trains: networks per zoo and the epochs of each stage. */
export interface DemoSize {
  models: number;
  zooEpochs: number;
  vaeEpochs: number;
  evaeEpochs: number;
}

/**
 * The sizes the page offers. `browser` (the default) finishes in a few minutes on a CPU's WebGPU
 * (SwiftShader); `paper` is `weightgen iris all` (500 networks a zoo, the default preset's 400 and 300 VAE
 * epochs), for a real GPU.
 */
export const SIZES = {
  small: { models: 50, zooEpochs: ZOO_TRAINING.epochs, vaeEpochs: 100, evaeEpochs: 100 },
  browser: { models: 100, zooEpochs: ZOO_TRAINING.epochs, vaeEpochs: 150, evaeEpochs: 150 },
  paper: {
    models: 500,
    zooEpochs: ZOO_TRAINING.epochs,
    vaeEpochs: VAE_PRESETS.default.epochs,
    evaeEpochs: ENHANCED_PRESETS.default.epochs,
  },
} as const satisfies Record<string, DemoSize>;
export type SizeName = keyof typeof SIZES;

/** The seed of the run (the command line's default), so the zoos are the command line's zoos. */
const SEED = 0;

/** Networks and their test accuracies (each in [0, 1]). */
export interface Networks {
  arch: Arch;
  vectors: Float32Array; // (n, P)
  accuracy: Float32Array; // (n)
}

/** Loss-curve series, one a training stage, in the order they train. */
export const SERIES = ['zoo Real (M1)', 'zoo Scrambled (M1)', 'VAE (M1)', 'zoo Real-2 (M2)', 'enhanced VAE (M2)'];

export interface PipelineHooks {
  /** A stage begins (for the status line). */
  stage(text: string): void;
  /** One epoch of a stage ended with this mean training loss. */
  epoch(series: string, epoch: number, loss: number): void;
  /** A row of Table 1 is ready. */
  row(row: Table1Row): void;
  /** A VAE is trained and its first networks are sampled: the latent view can be drawn. */
  vae(which: 'M1' | 'M2'): Promise<void> | void;
}

/** Everything a finished (or half-finished) run holds; dispose() frees the two VAEs' GPU memory. */
export class Trained {
  readonly split: IrisSplit = irisSplit();
  readonly zoos: Partial<Record<'real' | 'scrambled' | 'real2', Networks>> = {};
  m1: TrainedVae | null = null;
  m2: TrainedEnhancedVae | null = null;
  /** The latest networks sampled from each VAE (Table 1's first, then each "sample"). */
  g1: Networks | null = null;
  g2: Networks | null = null;
  private samples = 0;

  constructor(readonly size: DemoSize) {}

  /** n new networks from one VAE, with a seed no earlier sample used. */
  async sample(which: 'M1' | 'M2', n = this.size.models): Promise<Networks> {
    const t = which === 'M1' ? this.m1 : this.m2;
    if (!t) throw new Error(`sample: the ${which === 'M1' ? 'VAE' : 'enhanced VAE'} is not trained yet: press train`);
    // the command line samples with seeds seed + 1 (M1) and seed + 2 (M2); later samples take the next ones
    const seed = SEED + (which === 'M1' ? 1 : 2) + 2 * this.samples;
    const vectors = await sampleVae(t, n, seed);
    const g = { arch: which, vectors, accuracy: await vectorAccuracy(which, vectors, this.split) };
    if (which === 'M1') this.g1 = g;
    else this.g2 = g;
    return g;
  }

  /** Moves on to fresh seeds for the next pair of samples. */
  nextSamples(): void {
    this.samples++;
  }

  dispose(): void {
    this.m1?.vae.dispose();
    this.m2?.vae.dispose();
    this.m1 = this.m2 = null;
  }
}

function zooNetworks(z: ZooResult): Networks {
  return { arch: z.set.arch, vectors: z.vectors, accuracy: z.testAccuracy };
}

/** Trains everything into `t`, calling the hooks as it goes (the caller disposes `t`, also on failure). */
export async function runPipeline(t: Trained, hooks: PipelineHooks): Promise<void> {
  const { models, zooEpochs } = t.size;
  const zoo = async (name: 'real' | 'scrambled' | 'real2', series: string, row: Table1Row['set']) => {
    const set = ZOO_SETS.find((s) => s.name === name)!;
    hooks.stage(`training the ${series} zoo: ${models} networks as one population, ${zooEpochs} epochs`);
    const z = await trainZoo(set, t.split, {
      models,
      epochs: zooEpochs,
      seed: SEED,
      onEpoch: (e, loss) => hooks.epoch(series, e + 1, loss),
    });
    t.zoos[name] = zooNetworks(z);
    hooks.row(table1Row(row, z.testAccuracy));
    return z.vectors;
  };

  const real = await zoo('real', SERIES[0]!, 'R1');
  await zoo('scrambled', SERIES[1]!, 'S1');

  const p1 = { ...VAE_PRESETS.default, epochs: t.size.vaeEpochs };
  hooks.stage(`training the VAE on the Real zoo's ${models} networks: ${p1.epochs} epochs, batch ${p1.batchSize}`);
  t.m1 = await trainWeightVae(real, p1, { seed: SEED, onEpoch: (e, l) => hooks.epoch(SERIES[2]!, e + 1, l) });
  hooks.stage('sampling networks from the VAE');
  hooks.row(table1Row('G1', (await t.sample('M1')).accuracy));
  await hooks.vae('M1');

  const real2 = await zoo('real2', SERIES[3]!, 'R2');
  const p2 = { ...ENHANCED_PRESETS.default, epochs: t.size.evaeEpochs };
  hooks.stage(`training the enhanced VAE on the Real-2 zoo: ${p2.epochs} epochs, batch ${p2.batchSize}`);
  t.m2 = await trainEnhancedVae(real2, p2, {
    seed: SEED,
    inputs: t.split.xTrain,
    onEpoch: (e, l) => hooks.epoch(SERIES[4]!, e + 1, l),
  });
  hooks.stage('sampling networks from the enhanced VAE');
  hooks.row(table1Row('G2', (await t.sample('M2')).accuracy));
  await hooks.vae('M2');
}
