export * from './elementwise.js';
export * from './loss.js';
export * from './matmul.js';
export * from './reduce.js';
export * from './shape.js';
export * from './softmax.js';
export * from './batchnorm.js';
export * from './distance.js';
