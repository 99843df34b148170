// The work the `inside` page shows, without any DOM: a small zoo of Iris classifiers trained on the GPU, the
// weight-VAE of the paper set up on its weight vectors as trainWeightVae does (src/models/vae-train.ts: one
// global min-max scaling, WeightVae(15, 32), Adam at the preset's rate), and one training step of it at a
// time, through the same loop (fitRows: gather a shuffled batch, loss, backward, Adam, one readback), traced
// (every dispatch, Gpu.trace) and, where the adapter has timestamp queries, profiled (GPU time per kernel).
//
// Not here: the page (main.ts), training the VAE to the end (trainWeightVae), sampling or Table 1.

import { irisSplit } from '../../src/data/iris.js';
import type { DispatchTrace, Gpu } from '../../src/gpu/runtime.js';
import { fitRows } from '../../src/models/fit.js';
import { VAE_PRESETS } from '../../src/models/vae-train.js';
import { MinMaxScaler, WeightVae } from '../../src/models/weight-vae.js';
import { trainZoo, vectorLength, ZOO_SETS } from '../../src/models/zoo.js';
import { Adam } from '../../src/optim/index.js';
import { Rng, type Tensor, tensor } from '../../src/tensor/index.js';

/** The demo's size: a zoo of one batch, so that one pass over it (an epoch of fitRows) is one step. */
export const ZOO_MODELS = VAE_PRESETS.default.batchSize; // 16 networks
export const ZOO_EPOCHS = 60; // of the paper's 200: enough for the networks to classify (the page shows how well)
const SEED = 0;

export interface ZooReport {
  models: number;
  epochs: number;
  meanAccuracy: number; // on the 50 test rows, mean over the networks, 0..1
  seconds: number;
}

export interface ProfiledKernel {
  kernel: string;
  calls: number;
  ms: number | null; // null: the adapter has no timestamp queries
}

export interface StepReport {
  step: number; // 1-based
  loss: number; // the VAE's loss (MSE sum + KL), mean per network of the batch
  dispatches: DispatchTrace[];
  kernels: ProfiledKernel[]; // slowest first when timed, else most called first
  seconds: number; // wall time of the step, readback included
}

export class VaeStepper {
  private steps = 0;

  private constructor(
    private readonly g: Gpu,
    private readonly vae: WeightVae,
    private readonly opt: Adam,
    private readonly data: Tensor, // (G, 15) scaled to [0, 1]
    private readonly rng: Rng,
    readonly zoo: ZooReport,
  ) {}

  /** Trains the zoo (progress through onEpoch) and sets the VAE up on its weights. */
  static async create(g: Gpu, onEpoch: (epoch: number, loss: number) => void): Promise<VaeStepper> {
    const t0 = performance.now();
    const z = await trainZoo(ZOO_SETS[0]!, irisSplit(), {
      models: ZOO_MODELS,
      epochs: ZOO_EPOCHS,
      seed: SEED,
      onEpoch,
    });
    const acc = z.testAccuracy.reduce((s, a) => s + a, 0) / z.testAccuracy.length;
    const zoo = { models: ZOO_MODELS, epochs: ZOO_EPOCHS, meanAccuracy: acc, seconds: (performance.now() - t0) / 1e3 };
    const dim = vectorLength('M1');
    const scaler = MinMaxScaler.fit(z.vectors);
    const data = tensor(scaler.scale(z.vectors), [ZOO_MODELS, dim]);
    const rng = new Rng(SEED);
    const vae = new WeightVae(dim, 32, rng);
    const opt = new Adam(vae.parameters(), { lr: VAE_PRESETS.default.lr });
    return new VaeStepper(g, vae, opt, data, rng, zoo);
  }

  /**
   * One optimizer step on one shuffled batch (the whole zoo), traced, and timed per kernel when `timed`
   * (which needs the adapter's timestamp queries: Gpu.canProfile).
   */
  async step(timed: boolean): Promise<StepReport> {
    const g = this.g;
    await g.flush(); // work recorded before the step (the VAE's initialisation) is submitted untimed
    g.profiler.reset();
    if (timed) g.setProfiling(true);
    const t0 = performance.now();
    let losses: number[] = [];
    let dispatches: DispatchTrace[];
    try {
      dispatches = await g.trace(async () => {
        losses = await fitRows({
          data: this.data,
          model: this.vae,
          opt: this.opt,
          rng: this.rng,
          loss: (x) => this.vae.loss(x, this.rng).total,
          batchSize: ZOO_MODELS,
          epochs: 1,
          shuffle: true,
        });
      });
      await g.sync(); // every timestamp of the step is read
    } finally {
      if (timed) g.setProfiling(false);
    }
    const seconds = (performance.now() - t0) / 1e3;
    this.steps++;
    return { step: this.steps, loss: losses[0]!, dispatches, kernels: kernelRows(g, dispatches, timed), seconds };
  }
}

/** The profiler's rows (timed), or the dispatch counts per kernel of the trace (untimed). */
function kernelRows(g: Gpu, dispatches: DispatchTrace[], timed: boolean): ProfiledKernel[] {
  if (timed) return g.profiler.summary().map((r) => ({ kernel: r.kernel, calls: r.calls, ms: r.totalMs }));
  const calls = new Map<string, number>();
  for (const d of dispatches) calls.set(d.kernel, (calls.get(d.kernel) ?? 0) + 1);
  return [...calls].map(([kernel, n]) => ({ kernel, calls: n, ms: null })).sort((a, b) => b.calls - a.calls);
}
