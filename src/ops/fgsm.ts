// The fast gradient sign step (shaders/fgsm.wgsl): x moved by eps against or along the sign of a gradient,
// clipped to the valid pixel range, for a whole grid of eps in one pass; the float64 CPU reference. Not
// differentiable (it records nothing: the sign has no useful gradient). Not here: the attack, which chooses
// the gradient and judges success (src/analysis/fgsm.ts).

import { gpu } from '../gpu/index.js';
import { fmtShape, groups1d, sameShape, Tensor, tensor } from '../tensor/index.js';

/**
 * clamp(x + eps[e] sign(grad), lo, hi) for every eps of the grid: (E, ...x.shape). x and grad are f32 of one
 * shape; range [lo, hi] is the images' (default [0, 1]).
 */
export function fgsmPerturb(
  x: Tensor,
  grad: Tensor,
  eps: readonly number[],
  range: readonly [number, number] = [0, 1],
): Tensor {
  if (x.dtype !== 'f32' || grad.dtype !== 'f32' || !sameShape(x.shape, grad.shape)) {
    throw new Error(
      `fgsmPerturb: x ${x.dtype} ${fmtShape(x.shape)} and grad ${grad.dtype} ${fmtShape(grad.shape)} must be f32 of one shape`,
    );
  }
  const [lo, hi] = range;
  if (!eps.length || !eps.every(Number.isFinite) || !(lo < hi)) {
    throw new Error(`fgsmPerturb: needs one or more finite eps (got [${eps}]) and a range lo < hi (got [${range}])`);
  }
  const steps = tensor(eps, [eps.length]);
  const out = Tensor.empty([eps.length, ...x.shape]);
  const n = x.size;
  gpu().dispatch(
    { shader: 'fgsm', entry: 'perturb' },
    { x: x.ref, grad: grad.ref, eps: steps.ref, out: out.ref },
    { n, steps: eps.length, lo, hi },
    groups1d(n * eps.length),
    'fgsm_perturb',
  );
  steps.dispose();
  return out;
}

// ---- float64 CPU reference --------------------------------------------------------------------------

/** The same on flat arrays: (E, n) row-major. */
export function cpuFgsmPerturb(
  x: ArrayLike<number>,
  grad: ArrayLike<number>,
  eps: readonly number[],
  range: readonly [number, number] = [0, 1],
): Float64Array {
  const n = x.length;
  const out = new Float64Array(eps.length * n);
  eps.forEach((e, k) => {
    for (let i = 0; i < n; i++)
      out[k * n + i] = Math.min(range[1], Math.max(range[0], x[i]! + e * Math.sign(grad[i]!)));
  });
  return out;
}
