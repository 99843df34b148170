// The Gaussian pieces of a VAE's loss as fused ops (shaders/gaussian.wgsl), with float64 CPU references:
// the KL divergence of N(mu, exp(logvar)) from N(0, I), summed, and the reparameterised sample
// mu + exp(logvar / 2) eps. Each is one pass forward (the KL summed in one workgroup up to FUSED_MAX
// elements; longer, its terms and then reduce.ts's sum) and one backward, where the same formulas built
// from elementwise ops take about ten dispatches each way.

import { gpu } from '../gpu/index.js';
import { SHADER_CONSTS } from '../gpu/shaders.gen.js';
import { fmtShape, groups1d, noGrad, record, sameShape, Tensor } from '../tensor/index.js';
import { sum } from './reduce.js';

const GAUSSIAN = SHADER_CONSTS.gaussian;

function checkPair(op: string, mu: Tensor, logvar: Tensor): void {
  if (mu.dtype !== 'f32' || logvar.dtype !== 'f32' || !sameShape(mu.shape, logvar.shape)) {
    throw new Error(
      `${op}: mu ${fmtShape(mu.shape)} ${mu.dtype} and logvar ${fmtShape(logvar.shape)} ${logvar.dtype} must be f32 of one shape`,
    );
  }
}

/** KL(N(mu, exp(logvar)) || N(0, I)) summed over every element: -1/2 sum(1 + logvar - mu^2 - exp(logvar)). */
export function klNormal(mu: Tensor, logvar: Tensor): Tensor {
  checkPair('klNormal', mu, logvar);
  const n = mu.size;
  let out: Tensor;
  if (n <= GAUSSIAN.FUSED_MAX) {
    out = Tensor.empty([]);
    gpu().dispatch(
      { shader: 'gaussian', entry: 'kl_sum' },
      { mu: mu.ref, lv: logvar.ref, out: out.ref },
      { n },
      [1, 1, 1],
      'kl_sum',
    );
  } else {
    const terms = Tensor.empty(mu.shape);
    const buffers = { mu: mu.ref, lv: logvar.ref, out: terms.ref };
    gpu().dispatch({ shader: 'gaussian', entry: 'kl_terms' }, buffers, { n }, groups1d(n), 'kl_terms');
    out = noGrad(() => sum(terms));
    terms.dispose();
  }
  // d/dmu = mu dy; d/dlogvar = (exp(logvar) - 1) / 2 dy
  return record(out, 'kl_normal', [mu, logvar], (dy) => {
    const dmu = Tensor.empty(mu.shape);
    const dlv = Tensor.empty(mu.shape);
    gpu().dispatch(
      { shader: 'gaussian', entry: 'kl_backward' },
      { mu: mu.ref, lv: logvar.ref, grad: dy.ref, out: dmu.ref, out2: dlv.ref },
      { n },
      groups1d(n),
      'kl_backward',
    );
    return [dmu, dlv];
  });
}

/** mu + exp(logvar / 2) eps: a sample of N(mu, exp(logvar)) that gradients flow through (eps ~ N(0, I)). */
export function reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor): Tensor {
  checkPair('reparameterize', mu, logvar);
  if (!sameShape(eps.shape, mu.shape) || eps.dtype !== 'f32') {
    throw new Error(`reparameterize: eps ${fmtShape(eps.shape)} must be f32 of mu's shape ${fmtShape(mu.shape)}`);
  }
  const n = mu.size;
  const z = Tensor.empty(mu.shape);
  const buffers = { mu: mu.ref, lv: logvar.ref, eps: eps.ref, out: z.ref };
  gpu().dispatch({ shader: 'gaussian', entry: 'reparameterize' }, buffers, { n }, groups1d(n), 'reparameterize');
  // d/dmu = dz; d/dlogvar = dz eps exp(logvar / 2) / 2
  return record(z, 'reparameterize', [mu, logvar], (dz) => {
    let dlv: Tensor | null = null;
    if (logvar.requiresGrad) {
      dlv = Tensor.empty(mu.shape);
      gpu().dispatch(
        { shader: 'gaussian', entry: 'reparameterize_backward' },
        { lv: logvar.ref, eps: eps.ref, grad: dz.ref, out: dlv.ref },
        { n },
        groups1d(n),
        'reparameterize_backward',
      );
    }
    return [mu.requiresGrad ? dz.view(dz.shape) : null, dlv];
  });
}

// ---- float64 CPU references -------------------------------------------------------------------------

export function cpuKlNormal(mu: ArrayLike<number>, logvar: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < mu.length; i++) s += -0.5 * (1 + logvar[i]! - mu[i]! ** 2 - Math.exp(logvar[i]!));
  return s;
}

export function cpuReparameterize(mu: ArrayLike<number>, logvar: ArrayLike<number>, eps: ArrayLike<number>): number[] {
  return Array.from(mu, (m, i) => m + Math.exp(0.5 * logvar[i]!) * eps[i]!);
}
