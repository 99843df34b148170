export { BatchNorm, BatchNorm1d, BatchNorm2d } from './batchnorm.js';
export { GroupedLinear } from './grouped.js';
export { LeakyReLU, Linear, type LinearOptions, ReLU, Sequential, Sigmoid, Tanh } from './layers.js';
export { Module, type StateDict, type StateEntry } from './module.js';
export { type Init, torchUniform, varianceScaling } from './init.js';
