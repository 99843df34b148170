// The toy problem of the hypernetwork paper (paper 2, section 4.1; docs/models.md): a generator maps 1-D noise
// z ~ U[-1, 1] to points y of the plane, trained so that its points lie high on a fixed mixture of Gaussians
// f and spread out (the Kozachenko-Leonenko entropy); its image of [-1, 1] becomes a curve through the
// mixture's peaks. f is built from tensor ops on the GPU, so its gradient flows into the generator; training
// runs on the one training loop (train.ts). Browser-safe: the command (src/cli/toy.ts) and the demo
// (demos/toy-mixture) both use this file. Not here: files, figures (src/analysis/figures-toy.ts).
//
// From the paper's code (toy_problem/toy_model.py) where the paper's text is silent:
//   - init: TensorFlow's variance scaling with scale 6 (fan-in, truncated normal) for every weight AND bias
//     (a bias's fan-in is its own length, as TensorFlow computes it for a 1-D shape). The large scale folds
//     the line [-1, 1] through the tanh layers into a long curve from the start.
//   - f(y) = sum_i p_i 2 pi sigma_i^2 exp(-|y - mu_i|^2 / (2 sigma_i^2)) (the code multiplies by 2 pi
//     sigma^2 rather than dividing: every peak is about p_i 2 pi high).
//   - the figure's extent: [-9, 9]^2 (the code's `borders`); its curve: 400 z evenly spaced in [-1, 1].
// Our decisions where the code is silent or differs:
//   - H = klEntropy(y, 1, 'l2') = mean_i log(eps_i + 1e-8) + psi(N): the code takes eps_i as
//     sqrt(d_i^2 + 1e-7), adds 1e-7 rather than 1e-8, and adds constants of the estimator (Euler's gamma,
//     the log volume of the unit ball) that move the loss but not its gradient.
//   - steps: the code trains for as long as its animation runs. TOY.steps = 10,000, measured on SwiftShader:
//     seed 0's curve passes within 1 sigma of 8 of the 10 means by step 2,000, of 9 from step 7,000 (and of
//     all 10 from step 11,000); seeds 1 and 2 reach 10 and 9 by step 10,000. That is 1 to 3 minutes of a
//     2-core machine without a GPU, and test/toy-mixture.node.test.ts holds the default run to 8 or more.
//   - one seed for everything: the mixture (CPU streams of Rng(seed)), then the initial weights and every
//     step's z (GPU streams of the same generator). The code seeds the mixture and the weights apart.

import { Linear, Module, Sequential, Tanh, varianceScaling } from '../nn/index.js';
import { Adam } from '../optim/index.js';
import { add, exp, mean, mul, neg, reshape, square, sub, sum } from '../ops/index.js';
import { klEntropy } from '../analysis/entropy.js';
import { assign, fmtShape, noGrad, referenceValue, Rng, scope, type Tensor, tensor } from '../tensor/index.js';
import type { Checkpointer } from './checkpoint.js';
import { train } from './train.js';

/** The problem and its training, as the paper's code sets them (the decisions are in the header). */
export const TOY = {
  components: 10,
  meanRange: 5, // mu ~ U(-5, 5)^2
  sigmaRange: [1, 1.1] as const,
  weightRange: [1, 3] as const, // then normalised to sum 1
  hidden: [30, 10, 10] as const,
  initScale: 6,
  batch: 5,
  lambda: 2.2, // weight of -H
  gamma: 0.05, // weight of mean |y|^2
  entropyDim: 1, // d of the entropy estimate: the dimension of z
  lr: 1e-3,
  lrDecay: 0.99996, // per step
  steps: 10_000,
  every: 500, // steps per round of the training loop (one readback, progress, a checkpoint)
  box: 9, // the figure shows [-box, box]^2
  curvePoints: 400, // z of the drawn curve (the paper's figure)
  reachGrid: 2001, // z of the grid on which peaks are looked for (z_j = -1 + j / 1000)
  reachRadius: 1, // a peak is reached when a point of the curve is within this many sigma_i of mu_i
} as const;

/** A mixture of K Gaussians in the plane: means (K, 2) row-major, widths and weights (K). */
export interface Mixture {
  mu: Float64Array;
  sigma: Float64Array;
  p: Float64Array;
}

/** The mixture of seed's generator: its first three CPU streams (means, widths, weights). */
export function makeMixture(rng: Rng, k: number = TOY.components): Mixture {
  const u = (n: number, [lo, hi]: readonly [number, number]) => rng.uniformCpu(n).map((v) => lo + (hi - lo) * v);
  const mu = u(2 * k, [-TOY.meanRange, TOY.meanRange]);
  const sigma = u(k, TOY.sigmaRange);
  const w = u(k, TOY.weightRange);
  const total = w.reduce((s, v) => s + v, 0);
  return { mu, sigma, p: w.map((v) => v / total) };
}

/** The height of peak i: f's i-th term at its own mean. */
function amplitude(m: Mixture, i: number): number {
  return m.p[i]! * 2 * Math.PI * m.sigma[i]! ** 2;
}

/** f at the n points y (n, 2) row-major, in float64: the reference of MixtureDensity. */
export function cpuMixtureDensity(m: Mixture, y: ArrayLike<number>): Float64Array {
  const n = y.length / 2;
  const out = new Float64Array(n);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < m.p.length; i++) {
      const r2 = (y[2 * b]! - m.mu[2 * i]!) ** 2 + (y[2 * b + 1]! - m.mu[2 * i + 1]!) ** 2;
      out[b]! += amplitude(m, i) * Math.exp(-r2 / (2 * m.sigma[i]! ** 2));
    }
  }
  return out;
}

/** f on the GPU: the mixture's constants uploaded once, f(y) from elementwise ops and sums. */
export class MixtureDensity {
  private readonly mu: Tensor; // (K, 2)
  private readonly scale: Tensor; // (K): -1 / (2 sigma^2)
  private readonly amp: Tensor; // (K): p 2 pi sigma^2

  constructor(readonly mixture: Mixture) {
    const k = mixture.p.length;
    this.mu = tensor(mixture.mu, [k, 2]).keep();
    this.scale = tensor(
      Array.from(mixture.sigma, (s) => -1 / (2 * s * s)),
      [k],
    ).keep();
    this.amp = tensor(
      Array.from({ length: k }, (_, i) => amplitude(mixture, i)),
      [k],
    ).keep();
  }

  /** y: (B, 2) -> f(y): (B), differentiable in y. */
  forward(y: Tensor): Tensor {
    if (y.rank !== 2 || y.shape[1] !== 2)
      throw new Error(`MixtureDensity: y must be points (B, 2), got ${fmtShape(y.shape)}`);
    const B = y.shape[0]!;
    const r2 = sum(square(sub(reshape(y, [B, 1, 2]), this.mu)), 2); // (B, K)
    return sum(mul(exp(mul(r2, this.scale)), this.amp), 1); // (B)
  }

  /** f at the points (n, 2) row-major, read back (no graph). */
  async at(points: ArrayLike<number>): Promise<Float32Array> {
    const f = noGrad(() => scope(() => this.forward(tensor(points, [points.length / 2, 2]))));
    const values = (await f.data()) as Float32Array;
    f.dispose();
    return values;
  }

  /** f at the centres of an n x n grid of cells over [-box, box]^2: values (n * n) row-major in y, coords (n). */
  async grid(n: number, box: number = TOY.box): Promise<{ values: Float32Array; coords: Float64Array }> {
    const coords = Float64Array.from({ length: n }, (_, i) => -box + ((i + 0.5) * 2 * box) / n);
    const pts = new Float32Array(2 * n * n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) pts.set([coords[i]!, coords[j]!], 2 * (j * n + i));
    }
    return { values: await this.at(pts), coords };
  }

  dispose(): void {
    for (const t of [this.mu, this.scale, this.amp]) t.dispose();
  }
}

/**
 * A bias of n values drawn as nn's varianceScaling(scale) draws weights (one stream of rng), with the fan-in
 * TensorFlow gives a 1-D shape: n. Drawn on the CPU by the generator's reference (the same values the GPU
 * would give), since Linear initialises its bias PyTorch's way.
 */
function varianceScalingBias(rng: Rng, n: number, scale: number): Float64Array {
  const std = Math.sqrt(scale / n) / 0.87962566103423978; // as varianceScaling: the std of a unit normal cut at 2
  const stream = rng.next();
  return Float64Array.from({ length: n }, (_, i) => referenceValue('truncated_normal', rng.seed, stream, i, 0, std));
}

/** The generator: z (B, 1) -> y (B, 2), an MLP 1 -> 30 -> 10 -> 10 -> 2 with tanh, no batch norm. */
export class ToyGenerator extends Module {
  readonly net: Sequential;

  constructor(rng: Rng, hidden: readonly number[] = TOY.hidden, initScale: number = TOY.initScale) {
    super();
    const widths = [1, ...hidden, 2];
    const layers: Module[] = [];
    for (let l = 1; l < widths.length; l++) {
      const lin = new Linear(widths[l - 1]!, widths[l]!, { rng, init: varianceScaling(initScale) });
      assign(lin.bias!, varianceScalingBias(rng, widths[l]!, initScale));
      layers.push(lin);
      if (l < widths.length - 1) layers.push(new Tanh());
    }
    this.net = this.child('net', new Sequential(...layers));
  }

  forward(z: Tensor): Tensor {
    return this.net.forward(z);
  }
}

export interface ToyTerms {
  loss: Tensor;
  f: Tensor; // mean f(y) over the batch
  entropy: Tensor; // H
  l2: Tensor; // mean |y|^2
}

/** The loss of a batch z (B, 1): -mean f + lambda (-H) + gamma mean |y|^2, with its terms (scalars). */
export function toyLoss(gen: ToyGenerator, density: MixtureDensity, z: Tensor): ToyTerms {
  return toyObjective(gen.forward(z), density);
}

/** The same loss of the generated points y (B, 2). */
export function toyObjective(y: Tensor, density: MixtureDensity): ToyTerms {
  const f = mean(density.forward(y));
  const entropy = klEntropy(y, TOY.entropyDim, 'l2');
  const l2 = mean(sum(square(y), 1));
  const loss = add(add(neg(f), mul(entropy, -TOY.lambda)), mul(l2, TOY.gamma));
  return { loss, f, entropy, l2 };
}

/** One round of the training loop: the step reached and the round's means. */
export interface ToyProgress {
  step: number;
  loss: number;
  f: number;
  entropy: number;
  l2: number;
  lr: number;
}

/** z evenly spaced over [-1, 1], n >= 2 of them. */
export function zGrid(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, j) => -1 + (2 * j) / (n - 1));
}

/**
 * A run of the toy problem: the mixture of `seed`, f on the GPU, the generator, Adam and the generator of
 * z. `train` can be called again and again (the demo trains a few steps between redraws); the caller
 * disposes the run.
 */
export class ToyRun {
  readonly rng: Rng;
  readonly mixture: Mixture;
  readonly density: MixtureDensity;
  readonly gen: ToyGenerator;
  readonly opt: Adam;

  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
    this.mixture = makeMixture(this.rng);
    this.density = new MixtureDensity(this.mixture);
    this.gen = new ToyGenerator(this.rng);
    this.opt = new Adam(this.gen.parameters(), { lr: TOY.lr });
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.opt.t;
  }

  /**
   * Trains up to step `until` in rounds of `every` steps (resuming from `ckpt` when it holds a state);
   * `onRound` after each round's readback.
   */
  async train(o: {
    until: number;
    every: number;
    onRound?: (p: ToyProgress) => void | Promise<void>;
    ckpt?: Checkpointer;
  }): Promise<void> {
    if (!Number.isInteger(o.until / o.every) || this.step % o.every !== 0) {
      throw new Error(
        `toy: steps ${o.until} and the step reached, ${this.step}, must be multiples of every ${o.every}`,
      );
    }
    const start = this.step / o.every;
    await train({
      model: this.gen,
      opt: this.opt,
      rng: this.rng,
      // the loop counts rounds from 0 (or from a checkpoint): a run already trained asks for fewer
      epochs: o.until / o.every - (o.ckpt ? 0 : start),
      steps: o.every,
      step: () => {
        const z = this.rng.uniform([TOY.batch, 1], -1, 1);
        const { loss, ...figures } = toyLoss(this.gen, this.density, z);
        return { loss, figures };
      },
      afterStep: () => {
        this.opt.lr *= TOY.lrDecay;
      },
      afterEpoch: (_, loss, f) =>
        o.onRound?.({ step: this.step, loss, f: f.f!, entropy: f.entropy!, l2: f.l2!, lr: this.opt.lr }),
      ckpt: o.ckpt,
    });
  }

  /** The generator's points G(z) for z = zGrid(n): (n, 2) row-major. */
  async curve(n: number = TOY.curvePoints): Promise<Float32Array> {
    const y = noGrad(() => scope(() => this.gen.forward(tensor(zGrid(n), [n, 1]))));
    const v = (await y.data()) as Float32Array;
    y.dispose();
    return v;
  }

  dispose(): void {
    this.gen.dispose();
    this.opt.dispose();
    this.density.dispose();
  }
}

export interface PeakReach {
  /** Per component: the distance from mu_i to the nearest point of the curve, in units of sigma_i. */
  distance: number[];
  reached: boolean[];
  count: number;
}

/** Which peaks a curve (n, 2) passes near: within `radius` sigma_i of mu_i at some point of it. */
export function peaksReached(curve: ArrayLike<number>, m: Mixture, radius: number = TOY.reachRadius): PeakReach {
  const distance = Array.from(m.sigma, (s, i) => {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < curve.length; j += 2) {
      best = Math.min(best, Math.hypot(curve[j]! - m.mu[2 * i]!, curve[j + 1]! - m.mu[2 * i + 1]!));
    }
    return best / s;
  });
  const reached = distance.map((d) => d <= radius);
  return { distance, reached, count: reached.filter(Boolean).length };
}
