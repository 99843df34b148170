// weightgen's library entry (also the browser bundle's).
export * from './gpu/index.js';
export * from './nn/index.js';
export * from './ops/index.js';
export * from './optim/index.js';
export * from './tensor/index.js';
