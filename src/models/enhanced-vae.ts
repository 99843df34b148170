// The enhanced VAE for M2's 43-value weight vectors (w1: W1 and b1, 25 values; w2: W2 and b2, 18), as
// the paper's code builds it (docs/models.md (paper 1); it differs from the paper's figure):
//   enc1: BN(18) -> Lin 18->16 -> BN -> ReLU -> Lin 16->8 -> BN -> ReLU             (input: w2)
//   enc2: BN(33) -> Lin 33->16 -> BN -> ReLU -> Lin 16->8 -> BN -> ReLU             (input: w1 ++ enc1)
//   mu, logvar: Lin 8->8 each
//   dec3: Lin 8->16 -> BN -> ReLU -> Lin 16->25                                     (w1_hat)
//   dec4: Lin 33->16 -> BN -> ReLU -> Lin 16->18                                    (w2_hat, from z ++ w1_hat)
// Loss: MSE(sum) of each output + KL(sum).
// Another dataset's M2 networks (layer widths [d, h, k], task.ts) give w1 h(d+1) and w2 k(h+1) values in place
// of 25 and 18; the hidden sizes 16 and 8 and the latent 8 stay the code's.

import { BatchNorm1d } from '../nn/batchnorm.js';
import { Linear, Module, ReLU, Sequential } from '../nn/index.js';
import { add, concat, klNormal, mse, mul, slice } from '../ops/index.js';
import type { Rng, Tensor } from '../tensor/index.js';
import { reparameterize, type VaeLoss } from './weight-vae.js';
import { ARCHS, netShape } from './zoo.js';

/** Iris's split of M2's 43 values: w1 (W1 and b1) 25, w2 (W2 and b2) 18. */
export const W1 = 25;
export const W2 = 18;
const LATENT = 8;

/** The split of an M2 vector of layer widths [d, h, k]: w1 = W1 and b1, h(d+1) values; w2 = W2 and b2, k(h+1). */
export function m2Parts(widths: readonly number[] = ARCHS.M2): { w1: number; w2: number } {
  const [d, h, k] = netShape({ arch: 'M2', widths }).widths as [number, number, number];
  return { w1: h * (d + 1), w2: k * (h + 1) };
}

export class EnhancedVae extends Module {
  readonly enc1: Sequential;
  readonly enc2: Sequential;
  readonly mu: Linear;
  readonly logvar: Linear;
  readonly dec3: Sequential;
  readonly dec4: Sequential;
  readonly latent = LATENT;
  readonly w1: number;
  readonly w2: number;

  /** widths: the M2 networks' layer widths [d, h, k] (Iris's [4, 5, 3] by default). */
  constructor(rng?: Rng, widths: readonly number[] = ARCHS.M2) {
    super();
    const { w1, w2 } = m2Parts(widths);
    this.w1 = w1;
    this.w2 = w2;
    const o = { rng };
    const block = (i: number, h: number, out: number) => [
      new Linear(i, h, o),
      new BatchNorm1d(h),
      new ReLU(),
      new Linear(h, out, o),
    ];
    this.enc1 = this.child(
      'enc1',
      new Sequential(new BatchNorm1d(w2), ...block(w2, 16, 8), new BatchNorm1d(8), new ReLU()),
    );
    this.enc2 = this.child(
      'enc2',
      new Sequential(new BatchNorm1d(w1 + 8), ...block(w1 + 8, 16, 8), new BatchNorm1d(8), new ReLU()),
    );
    this.mu = this.child('mu', new Linear(8, LATENT, o));
    this.logvar = this.child('logvar', new Linear(8, LATENT, o));
    this.dec3 = this.child('dec3', new Sequential(...block(LATENT, 16, w1)));
    this.dec4 = this.child('dec4', new Sequential(...block(LATENT + w1, 16, w2)));
  }

  /** x: (B, w1 + w2) = w1 ++ w2 (standardised); Iris (B, 43). */
  encode(x: Tensor): { mu: Tensor; logvar: Tensor } {
    const B = x.shape[0]!;
    const w1 = slice(x, [0, 0], [B, this.w1]);
    const w2 = slice(x, [0, this.w1], [B, this.w2]);
    const h = this.enc2.forward(concat([w1, this.enc1.forward(w2)], 1));
    return { mu: this.mu.forward(h), logvar: this.logvar.forward(h) };
  }

  /** z: (B, 8) -> (B, w1 + w2) = w1_hat ++ w2_hat. */
  decode(z: Tensor): Tensor {
    const w1 = this.dec3.forward(z);
    const w2 = this.dec4.forward(concat([z, w1], 1));
    return concat([w1, w2], 1);
  }

  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x).mu);
  }

  loss(x: Tensor, rng: Rng, beta = 1): VaeLoss {
    const { mu, logvar } = this.encode(x);
    const y = this.decode(reparameterize(mu, logvar, rng));
    const { w1, w2 } = this;
    const B = x.shape[0]!;
    // MSE(sum) of each output: the two sums add up to one sum over all w1 + w2 values
    const recon = add(
      mse(slice(y, [0, 0], [B, w1]), slice(x, [0, 0], [B, w1]), 'sum'),
      mse(slice(y, [0, w1], [B, w2]), slice(x, [0, w1], [B, w2]), 'sum'),
    );
    const kl = klNormal(mu, logvar);
    return { total: add(recon, mul(kl, beta)), recon, kl, decoded: y };
  }
}
