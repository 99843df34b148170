// Weight initialisers: a function of the shape, the fan-in and a generator. Not here: bias initialisers
// (layers keep PyTorch's default for a bias).

import type { Rng, Shape, Tensor } from '../tensor/index.js';

export type Init = (shape: Shape, fanIn: number, rng: Rng) => Tensor;

/** PyTorch's default for Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export const torchUniform: Init = (shape, fanIn, rng) => {
  const bound = 1 / Math.sqrt(fanIn);
  return rng.uniform(shape, -bound, bound);
};

/**
 * TensorFlow's VarianceScaling(scale, mode='fan_in', distribution='truncated_normal'): a normal truncated at
 * two standard deviations, its std divided by 0.8796... (the std of a unit normal truncated there) so that
 * the variance is scale / fan_in. The hypernetwork paper's initialiser (scale 0.01).
 */
export function varianceScaling(scale: number): Init {
  return (shape, fanIn, rng) => rng.truncatedNormal(shape, 0, Math.sqrt(scale / fanIn) / 0.87962566103423978);
}
