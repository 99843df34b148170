// The float64 CPU references, as a library entry of their own (`weightgen/reference`, dist/reference.js):
// plain loops over numbers that say what each GPU op computes, the yardstick the tests hold the kernels to
// (as llm.c keeps a naive CPU reference beside every fast kernel). They take and return arrays, never
// tensors, and need no GPU.
//
// Not here: anything that runs on the GPU (src/index.ts, `weightgen`). Each reference lives in the file of
// its op (src/ops/<op>.ts, below its backward rule); this file only gathers them, so that the main entry
// stays what a user calls.
export { type CpuBatchNormResult, cpuBatchNorm } from './ops/batchnorm.js';
export {
  cpuConv2d,
  cpuConv2dBackwardBias,
  cpuConv2dBackwardInput,
  cpuConv2dBackwardWeight,
} from './ops/conv.js';
export { cpuKnn, cpuPairwiseDistances } from './ops/distance.js';
export { cpuSymEig } from './ops/eigen.js';
export { cpuBinary, cpuBroadcast, cpuUnary } from './ops/elementwise.js';
export { cpuFgsmPerturb } from './ops/fgsm.js';
export { cpuKlNormal, cpuReparameterize } from './ops/gaussian.js';
export { cpuCrossEntropy, cpuMse } from './ops/loss.js';
export { cpuMatmul } from './ops/matmul.js';
export { cpuLinearBackward } from './ops/linear.js';
export { cpuAvgPool2d, cpuAvgPool2dBackward, cpuMaxPool2d, cpuMaxPool2dBackward } from './ops/pool.js';
export { cpuReduce } from './ops/reduce.js';
export { cpuPairwiseSpectralNorms, cpuSpectralNorm } from './ops/spectral.js';
export { cpuJointProbabilities, cpuTsneObjective } from './ops/tsne.js';
export { cpuPermute } from './ops/shape.js';
export { cpuLogSoftmax, cpuRowLogSumExp, cpuSoftmax } from './ops/softmax.js';
export { cpuKlEntropy } from './analysis/entropy.js';
export { referenceValue } from './tensor/rng.js';
// What a reference's arguments are made of (also exported by the main entry): the geometry of a
// convolution or a pooling (plain functions of the shapes), and the plain types.
export { type Conv2dOptions, type ConvGeometry, convGeometry } from './ops/conv.js';
export { type Pool2dOptions, type PoolGeometry, poolGeometry } from './ops/pool.js';
export type { Shape } from './tensor/tensor.js';
export type { Distribution } from './tensor/rng.js';
export type { EntropyMetric } from './analysis/entropy.js';
export type { Metric } from './ops/distance.js';
export type { Reduction } from './ops/loss.js';
