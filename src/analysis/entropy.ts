// The Kozachenko-Leonenko nearest-neighbour estimate of differential entropy, differentiable, as the
// hypernetwork paper uses it (docs/models.md, paper 2): H = d * mean_i log(eps_i + 1e-8) + psi(N), eps_i the
// distance from sample i to its nearest other sample. d is the dimension of the noise that made the samples
// (the paper's choice), not of the samples; the constant terms the paper drops are dropped here too.
// Not here: the float64 CPU reference (cpuKlEntropy, below, is it) is for tests.

import { add, knn, log, mean, mul, pairwiseDistances } from '../ops/index.js';
import { fmtShape, type Tensor } from '../tensor/index.js';
import { digamma } from './special.js';

export type EntropyMetric = 'l1' | 'l2';

/** H of the N rows of x (N, D): a scalar tensor, differentiable in x. */
export function klEntropy(x: Tensor, d: number, metric: EntropyMetric): Tensor {
  const n = x.shape[0]!;
  if (x.rank !== 2 || n < 2)
    throw new Error(`klEntropy: needs 2 or more samples as rows (N, D), got ${fmtShape(x.shape)}`);
  const nearest = knn(pairwiseDistances(x, x, metric), 1, { excludeSelf: true }).values; // (N, 1)
  return add(mul(mean(log(add(nearest, 1e-8))), d), digamma(n));
}

/** The same in float64 on the CPU: x as N rows of D values. */
export function cpuKlEntropy(x: ArrayLike<number>, n: number, d: number, metric: EntropyMetric): number {
  const D = x.length / n;
  let s = 0;
  for (let i = 0; i < n; i++) {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let dist = 0;
      for (let k = 0; k < D; k++) {
        const diff = x[i * D + k]! - x[j * D + k]!;
        dist += metric === 'l1' ? Math.abs(diff) : diff * diff;
      }
      best = Math.min(best, metric === 'l1' ? dist : Math.sqrt(dist));
    }
    s += Math.log(best + 1e-8);
  }
  return (d * s) / n + digamma(n);
}
