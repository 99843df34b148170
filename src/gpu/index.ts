// The process-wide GPU: `initGpu()` once (async), then `gpu()` anywhere (sync).

import { Gpu } from './runtime.js';

export { Gpu, type BufferRef, STORAGE_USAGE, type UniformValues } from './runtime.js';
export type { AdapterReport } from './device.js';
export type { KernelSpec } from './kernels.js';
export { groups1d } from './groups.js';
export { bucketSize, type PoolStats } from './pool.js';

let current: Gpu | null = null;
let starting: Promise<Gpu> | null = null;

/** Creates the GPU runtime on first call; later calls return the same one. */
export function initGpu(): Promise<Gpu> {
  starting ??= Gpu.create().then(
    (g) => (current = g),
    (e) => {
      starting = null;
      throw e;
    },
  );
  return starting;
}

/** The runtime made by initGpu(). Throws if initGpu() has not finished. */
export function gpu(): Gpu {
  if (!current) throw new Error('The GPU is not initialised: `await initGpu()` before creating tensors.');
  return current;
}
