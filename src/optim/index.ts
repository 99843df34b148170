export { ParamArena } from './arena.js';
export { Adam, type AdamOptions, type AdamState, type Optimizer, SGD, type SgdOptions } from './optimizers.js';
export { ExponentialLR, type PlateauOptions, ReduceLROnPlateau } from './schedules.js';
