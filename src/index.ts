// weightgen's library entry: what a program or a page calls. esbuild bundles it into dist/weightgen.js, one
// ES module for Node and browsers alike (in Node, Dawn is imported only when `initGpu()` finds no
// navigator.gpu; see src/gpu/node.ts), and tsc writes its types to dist/types/index.d.ts. package.json's
// "exports" serves both as `weightgen`.
//
// Not here:
//   - the float64 CPU references the tests hold the kernels to: src/reference.ts (`weightgen/reference`);
//   - what reads or writes files (node:fs): src/io/files.ts, manifest.ts, checkpoint.ts, mnist-files.ts,
//     render.ts. They serve the command line; a page has bytes, which the parsers below take.
// Where two modules export one name, one keeps it and the other is renamed here or left out, saying why.

// ---- the stack: gpu <- tensor <- ops <- nn, optim ----------------------------------------------------
export * from './gpu/index.js';
export * from './nn/index.js';
export * from './optim/index.js';
export {
  accumulate,
  assign,
  backward,
  broadcastShapes,
  checkShape,
  collapseDims,
  copyOf,
  type DType,
  defaultRng,
  disposeAll,
  fill,
  fillInPlace,
  fmtShape,
  full,
  isGradEnabled,
  isGradZeroed,
  manualSeed,
  markGradZeroed,
  noGrad,
  normAxes,
  numel,
  ones,
  philox4x32,
  rankConstant,
  Rng,
  record,
  reducedShape,
  requireGrad,
  type Shape,
  Storage,
  sameShape,
  scalar,
  scope,
  scopeAsync,
  stridesOf,
  Tensor,
  tensor,
  zeros,
} from './tensor/index.js';
export type { Distribution } from './tensor/rng.js';
// Every op of src/ops/index.ts but the cpu* references (test/library.node.test.ts holds this list to it).
export {
  abs,
  activationBackward,
  add,
  clamp,
  div,
  exp,
  leakyRelu,
  log,
  mul,
  neg,
  pow,
  rdiv,
  relu,
  rsub,
  sigmoid,
  sqrt,
  square,
  sub,
  tanh,
} from './ops/elementwise.js';
export { crossEntropy, mse, type Reduction } from './ops/loss.js';
export { ACTIVATIONS, type Activation, linear, type MatmulKernel, matmul, useMatmulKernel } from './ops/matmul.js';
export { fusedLinear, type LinearGrads, linearBackward } from './ops/linear.js';
export {
  argmax,
  max,
  maxWithIndex,
  mean,
  rankConstants,
  workgroupPerOutput,
  type ReductionPlan,
  reductionPlan,
  sum,
  sumToShape,
  variance,
} from './ops/reduce.js';
export { concat, expand, gatherRows, permute, reshape, slice, transpose } from './ops/shape.js';
export { logSoftmax, softmax } from './ops/softmax.js';
export { type BatchNormConvention, type BatchNormOptions, batchNorm } from './ops/batchnorm.js';
export { knn, type Metric, pairwiseDistances } from './ops/distance.js';
export {
  type Conv2dOptions,
  type ConvGeometry,
  type ConvTuning,
  conv2d,
  conv2dGrouped,
  convGeometry,
  convOutputSize,
  type Padding,
  toPair,
  useConvTuning,
} from './ops/conv.js';
export {
  avgPool2d,
  maxPool2d,
  type Pool2dOptions,
  type PoolGeometry,
  poolGeometry,
  poolWindowsTile,
  usePoolRun,
} from './ops/pool.js';
export { klNormal, reparameterize } from './ops/gaussian.js';
export {
  JACOBI_MAX,
  lowdinMix,
  orientRows,
  orthonormalize,
  type SymEig,
  type SymEigOptions,
  symEig,
} from './ops/eigen.js';
export { fgsmPerturb } from './ops/fgsm.js';
export { pairwiseSpectralNorms, SPECTRAL_MAX, type SpectralOptions } from './ops/spectral.js';
export {
  jointProbabilities,
  type ObjectiveOptions,
  type PerplexityOptions,
  TSNE_EPS,
  tsneGradient,
  tsneKernelRows,
  tsneKlRows,
  tsneUpdate,
  type UpdateOptions,
} from './ops/tsne.js';

// ---- data: parsers of bytes and fixed splits (no file access) -----------------------------------------
export * from './data/iris.js';
export * from './data/mnist.js';
export * from './data/csv.js'; // (reading a CSV file: src/io/csv-file.ts, Node only)
export * from './data/split.js';

// ---- io that works on bytes ---------------------------------------------------------------------------
export * from './io/safetensors.js';
export * from './io/hypernet-file.js';

// ---- analysis -------------------------------------------------------------------------------------------
export * from './analysis/figures.js';
export { type EntropyMetric, klEntropy } from './analysis/entropy.js';
export { digamma, EULER_GAMMA } from './analysis/special.js';
export * from './analysis/pca.js';
export * from './analysis/fgsm.js';
export * from './analysis/spectral.js';
export * from './analysis/tsne.js';
export * from './analysis/memorisation.js';

// ---- models: the training loop, the weight VAEs of the Iris paper, the hypernetwork ------------------------
export * from './models/checkpoint.js';
export * from './models/train.js';
export * from './models/fit.js';
export * from './models/iris-mlp.js';
export * from './models/zoo.js';
export * from './models/task.js';
// weight-vae.ts's reparameterize(mu, logvar, rng) draws its own noise; the op of the same name
// (ops/gaussian.ts, above) takes the noise as a tensor.
export {
  ColumnStandardizer,
  MinMaxScaler,
  reparameterize as reparameterizeWithRng,
  Standardizer,
  type VaeLoss,
  WeightVae,
} from './models/weight-vae.js';
export { EnhancedVae } from './models/enhanced-vae.js'; // (its W1, W2 are the split of M2's vector: internal)
export * from './models/vae-train.js';
export * from './models/enhanced-vae-train.js';
export {
  formatTable1,
  G2S_NOTE,
  PUBLISHED as TABLE1_PUBLISHED, // "published" alone says nothing at the library's top level
  type Table1Row,
  table1Row,
} from './models/table1.js';
export * from './models/target-net.js';
export * from './models/gauge.js';
export * from './models/hypernet.js';
export * from './models/hypernet-export.js';
export * from './models/toy-mixture.js';
export * from './models/kde.js';
export * from './models/samplers.js';
export * from './models/finetune.js';
// hypernet-train.ts's mean(numbers) is left out: `mean` is the op (a tensor's mean over axes).
export {
  accuracies,
  type EnsembleMethod,
  ensembleAccuracy,
  HYPERNET_PRESETS,
  type HypernetPreset,
  type HypernetProgress,
  type HypernetTrainOptions,
  networkProbabilities,
  recalibrate,
  slicePart,
  trainHypernet,
} from './models/hypernet-train.js';
export { VERSION } from './version.js';
