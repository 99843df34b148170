// The weight-VAE of the Iris paper (docs/models.md; paper 1) for M1's 15-value weight vectors (another
// dataset's M1 vectors: dim in place of 15):
// encoder 15 -> 128 -> 64 -> 32 (ReLU), mu and logvar heads 32 -> 32, decoder 32 -> 64 -> 128 -> 15 with a
// sigmoid; loss = MSE(sum) + KL(sum). Inputs are min-max scaled to [0, 1] with one global min and max,
// and decoded samples are scaled back (the paper's code never un-scaled; our decision, docs/models.md).
//
// Not here: the enhanced VAE for M2 (enhanced-vae.ts), the zoo (zoo.ts).

import { Linear, Module, ReLU, Sequential, Sigmoid } from '../nn/index.js';
import { add, klNormal, mse, mul, reparameterize as reparameterizeOp } from '../ops/index.js';
import type { Rng, Tensor } from '../tensor/index.js';

export interface VaeLoss {
  total: Tensor; // recon + beta * kl, summed over the batch
  recon: Tensor;
  kl: Tensor;
  decoded: Tensor; // the reconstruction of the batch, (B, dim), in the scaled space
}

/** z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) drawn from rng (one fused op). */
export function reparameterize(mu: Tensor, logvar: Tensor, rng: Rng): Tensor {
  return reparameterizeOp(mu, logvar, rng.normal(mu.shape));
}

export class WeightVae extends Module {
  readonly encoder: Sequential;
  readonly mu: Linear;
  readonly logvar: Linear;
  readonly decoder: Sequential;

  constructor(
    readonly dim = 15,
    readonly latent = 32,
    rng?: Rng,
  ) {
    super();
    const o = { rng };
    this.encoder = this.child(
      'encoder',
      new Sequential(new Linear(dim, 128, o), new ReLU(), new Linear(128, 64, o), new ReLU(), new Linear(64, 32, o)),
    );
    this.mu = this.child('mu', new Linear(32, latent, o));
    this.logvar = this.child('logvar', new Linear(32, latent, o));
    this.decoder = this.child(
      'decoder',
      new Sequential(
        new Linear(latent, 64, o),
        new ReLU(),
        new Linear(64, 128, o),
        new ReLU(),
        new Linear(128, dim, o),
        new Sigmoid(),
      ),
    );
  }

  encode(x: Tensor): { mu: Tensor; logvar: Tensor } {
    const h = this.encoder.forward(x);
    return { mu: this.mu.forward(h), logvar: this.logvar.forward(h) };
  }

  decode(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }

  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x).mu);
  }

  /** x: (B, dim) scaled to [0, 1]. */
  loss(x: Tensor, rng: Rng, beta = 1): VaeLoss {
    const { mu, logvar } = this.encode(x);
    const decoded = this.decode(reparameterize(mu, logvar, rng));
    const recon = mse(decoded, x, 'sum');
    const kl = klNormal(mu, logvar); // KL(N(mu, exp(logvar)) || N(0, I)), summed
    return { total: add(recon, mul(kl, beta)), recon, kl, decoded };
  }
}

/** One global min-max map to [0, 1] and back (a positive affine map: it keeps every argmax). */
export class MinMaxScaler {
  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    if (!(max > min)) throw new Error(`MinMaxScaler: max (${max}) must exceed min (${min})`);
  }

  static fit(values: ArrayLike<number>): MinMaxScaler {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      lo = Math.min(lo, values[i]!);
      hi = Math.max(hi, values[i]!);
    }
    return new MinMaxScaler(lo, hi);
  }

  scale(v: ArrayLike<number>): Float32Array {
    const r = this.max - this.min;
    return Float32Array.from(v, (x) => (x - this.min) / r);
  }

  unscale(v: ArrayLike<number>): Float32Array {
    const r = this.max - this.min;
    return Float32Array.from(v, (x) => this.min + x * r);
  }
}

/** One global mean and (unbiased) standard deviation, as the enhanced VAE's code. */
export class Standardizer {
  constructor(
    readonly mean: number,
    readonly std: number,
  ) {
    if (!(std > 0)) throw new Error(`Standardizer: std must be > 0, got ${std}`);
  }

  static fit(values: ArrayLike<number>): Standardizer {
    const n = values.length;
    let m = 0;
    for (let i = 0; i < n; i++) m += values[i]! / n;
    let s = 0;
    for (let i = 0; i < n; i++) s += (values[i]! - m) ** 2;
    return new Standardizer(m, Math.sqrt(s / (n - 1)));
  }

  scale(v: ArrayLike<number>): Float32Array {
    return Float32Array.from(v, (x) => (x - this.mean) / this.std);
  }

  unscale(v: ArrayLike<number>): Float32Array {
    return Float32Array.from(v, (x) => this.mean + x * this.std);
  }
}

/** A mean and (unbiased) standard deviation per column of (rows, dim) data. */
export class ColumnStandardizer {
  constructor(
    readonly mean: Float64Array,
    readonly std: Float64Array,
  ) {
    if (std.some((v) => !(v > 0))) throw new Error('ColumnStandardizer: a column has zero spread');
  }

  static fit(values: ArrayLike<number>, dim: number): ColumnStandardizer {
    const n = values.length / dim;
    const mean = new Float64Array(dim);
    const std = new Float64Array(dim);
    for (let i = 0; i < values.length; i++) mean[i % dim]! += values[i]! / n;
    for (let i = 0; i < values.length; i++) std[i % dim]! += (values[i]! - mean[i % dim]!) ** 2 / (n - 1);
    return new ColumnStandardizer(mean, std.map(Math.sqrt));
  }

  scale(v: ArrayLike<number>): Float32Array {
    const d = this.mean.length;
    return Float32Array.from(v, (x, i) => (x - this.mean[i % d]!) / this.std[i % d]!);
  }

  unscale(v: ArrayLike<number>): Float32Array {
    const d = this.mean.length;
    return Float32Array.from(v, (x, i) => this.mean[i % d]! + x * this.std[i % d]!);
  }
}
