export { assign, full, ones, scalar, tensor, zeros } from './create.js';
export { defaultRng, manualSeed, philox4x32, referenceValue, Rng } from './rng.js';
export {
  accumulate,
  backward,
  copyOf,
  fill,
  fillInPlace,
  groups1d,
  isGradEnabled,
  noGrad,
  record,
  requireGrad,
} from './tape.js';
export {
  checkShape,
  type DType,
  disposeAll,
  fmtShape,
  numel,
  sameShape,
  type Shape,
  scope,
  scopeAsync,
  Storage,
  stridesOf,
  Tensor,
} from './tensor.js';
