// The process-wide GPU: `initGpu(options?)` once (async), then `gpu()` anywhere (sync).
//
// Options (device.ts, GpuOptions) win over the environment variables (WEIGHTGEN_ADAPTER, WEIGHTGEN_ROBUST,
// WEIGHTGEN_POLL; Node only). A page or an app with a device of its own hands it over with
// `initGpu({ device })` and every tensor lives on that device; its limits stay what it was created with.
// The GPU cannot change once started: a later call with other options is an error, a call without options
// returns the running one.

import { type GpuOptions, OPTION_NAMES as KEYS } from './device.js';
import { Gpu } from './runtime.js';

export {
  type BufferRef,
  type CapturedDispatch,
  type CapturedStep,
  type CaptureOptions,
  type Counter,
  type DispatchTrace,
  Gpu,
  type ReplayOptions,
  STORAGE_USAGE,
  type UniformValues,
} from './runtime.js';
export { type AdapterReport, type GpuOptions, type GpuSettings, gpuSettings, type PollMode } from './device.js';
export type { AdapterChoice } from './node.js';
export type { KernelSpec } from './kernels.js';
export { groups1d, strideThreads, useStrideThreads } from './groups.js';
export { bucketSize, type PoolStats } from './pool.js';

let current: Gpu | null = null;
let starting: Promise<Gpu> | null = null;
let startedWith: GpuOptions = {};

function describe(o: GpuOptions): string {
  const set = KEYS.filter((k) => o[k] !== undefined);
  const show = (k: (typeof KEYS)[number]) =>
    k === 'device' || k === 'adapter' ? `${k}: a GPU${k === 'device' ? 'Device' : 'Adapter'}` : `${k}: ${o[k]}`;
  return set.length ? `{ ${set.map(show).join(', ')} }` : 'no options';
}

/**
 * Starts the GPU runtime on the first call (see GpuOptions for `options`); later calls return the same one.
 * A later call with options other than the first call's rejects (the device in use cannot change); one
 * without options (or with `{}`) returns the running GPU. A first call that failed may be retried with any.
 */
export function initGpu(options?: GpuOptions): Promise<Gpu> {
  const o = options ?? {};
  if (starting) {
    const none = KEYS.every((k) => o[k] === undefined);
    const same = KEYS.every((k) => o[k] === startedWith[k]);
    if (!none && !same) {
      return Promise.reject(
        new Error(
          `initGpu(${describe(o)}): the GPU was already started with ${describe(startedWith)}, and the device ` +
            'every tensor lives on cannot change: call initGpu() without options to get the running one, or ' +
            'pass the options it was started with',
        ),
      );
    }
    return starting;
  }
  startedWith = { ...o };
  starting = Gpu.create(o).then(
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
