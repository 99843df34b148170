export { assign, copyOf, fill, fillInPlace, full, ones, scalar, tensor, zeros } from './create.js';
export { defaultRng, manualSeed, philox4x32, referenceValue, Rng } from './rng.js';
export { broadcastShapes, collapseDims, normAxes, rankConstant, reducedShape } from './shapes.js';
export {
  accumulate,
  backward,
  isGradEnabled,
  isGradZeroed,
  markGradZeroed,
  noGrad,
  record,
  requireGrad,
} from './tape.js';
/** (Re-exported for the ops that still import it from here; it lives in src/gpu.) */
export { groups1d } from '../gpu/index.js';
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
