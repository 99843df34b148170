// The three contenders on one machine: our runtime, TensorFlow.js's WebGPU backend on the same WebGPU
// adapter, and TensorFlow.js's wasm backend (SIMD, one thread) as the CPU reference. Works in Node (Dawn,
// through the `webgpu` package) and in a browser page (navigator.gpu as it is).
//
// In Node, TF.js finds WebGPU through `navigator.gpu`, which Node lacks: we set it to the very Dawn
// instance our device layer made (src/gpu/node.ts keeps it on globalThis), so both ask the same instance,
// with the same Dawn toggles, for the same adapter. `--dawn-flags` makes that instance here instead, with
// other toggles, before our runtime starts (device.ts then takes navigator.gpu like a browser would).
// TF.js is imported only after navigator.gpu exists: its WebGPU backend registers itself at import time
// only when it sees one.

import type * as TfCore from '@tensorflow/tfjs-core';
import { gpu, initGpu } from '../src/gpu/index.js';

export type Tf = typeof TfCore;
export type Backend = 'webgpu' | 'wasm';

export interface BenchEnv {
  tf: Tf;
  /** Our adapter, in words. */
  adapter: string;
  /** TF.js-WebGPU's adapter, in words (the same one, or the bench says so). */
  tfAdapter: string;
  runtime: 'node' | 'browser';
  /** Dawn instance toggles in Node ('' in a browser, where Chrome sets them). */
  dawnFlags: string;
  timestamps: boolean; // our GPU timestamps are available
}

// The bench is our own process: Node waits for Dawn without spinning a core unless told otherwise. (The
// same module runs in the browser page, which has no `process`.)
if (typeof process !== 'undefined') process.env.WEIGHTGEN_POLL ??= 'patient';

const KEEP = Symbol.for('weightgen.dawn');

function describe(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  return [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' / ');
}

/** How our runtime waits for Dawn in Node (src/gpu/node.ts patientWait; WEIGHTGEN_POLL=spin turns it off). */
function polling(): string {
  return process.env.WEIGHTGEN_POLL === 'spin' ? ', polling: spin' : ', polling: patient';
}

/** Node: starts our runtime (optionally on a Dawn instance made with `dawnFlags`) and sets navigator.gpu. */
async function startNode(dawnFlags: string | null): Promise<string> {
  const g = globalThis as any;
  if (dawnFlags !== null) {
    // Computed name: the browser bundle must not follow it.
    const { requestNodeAdapter } = (await import(
      /* @vite-ignore */ '../src/gpu/node.js'
    )) as typeof import('../src/gpu/node.js');
    const flags = dawnFlags ? [`enable-dawn-features=${dawnFlags}`] : [];
    const { gpu: dawn } = await requestNodeAdapter('auto', flags);
    g.navigator = { gpu: dawn };
    await initGpu();
    return (dawnFlags || '(none: Dawn defaults)') + polling();
  }
  await initGpu();
  const kept: GPU[] | undefined = g[KEEP];
  if (!kept?.length) throw new Error('bench: our runtime made no Dawn instance to share (not running on Dawn?)');
  g.navigator ??= {};
  g.navigator.gpu = kept[kept.length - 1];
  const flags = process.env.WEIGHTGEN_ROBUST === '1' ? '(robustness on)' : 'disable_robustness';
  return flags + polling();
}

/**
 * Starts everything. `wasmPrefix`: where the tfjs-backend-wasm .wasm files are (a directory path with a
 * trailing slash in Node, a URL in a browser).
 */
export async function startEnv(wasmPrefix: string, dawnFlags: string | null = null): Promise<BenchEnv> {
  const inBrowser = typeof window !== 'undefined';
  const flags = inBrowser ? '' : await startNode(dawnFlags);
  if (inBrowser) await initGpu();
  const tf = (await import('@tensorflow/tfjs-core')) as Tf;
  // @tensorflow/tfjs registers these; tfjs-core alone has no gradients
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('@tensorflow/tfjs-backend-webgpu');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmPrefix);
  // The single-threaded SIMD build: the multi-threaded one needs cross-origin isolation in a browser.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await useBackend(tf, 'wasm');
  await useBackend(tf, 'webgpu');
  const backend = tf.backend() as any;
  const a = gpu().adapter;
  return {
    tf,
    adapter: [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' / '),
    tfAdapter: describe(backend.device?.adapterInfo ?? backend.adapterInfo),
    runtime: inBrowser ? 'browser' : 'node',
    dawnFlags: flags,
    timestamps: gpu().canProfile,
  };
}

/** Switches TF.js to a backend, failing loudly (with TF.js's own words) when it cannot start. */
export async function useBackend(tf: Tf, name: Backend): Promise<void> {
  if (tf.getBackend() === name) return;
  const said: string[] = [];
  const warn = console.warn;
  console.warn = (...xs: unknown[]) => void said.push(xs.map(String).join(' '));
  try {
    const ok = await tf.setBackend(name);
    if (!ok || tf.getBackend() !== name) {
      throw new Error(`bench: TF.js could not start its ${name} backend: ${said.join('; ') || 'no reason given'}`);
    }
    await tf.ready();
  } finally {
    console.warn = warn;
  }
}

/** Runs fn with console.warn silenced (TF.js greets Node users with advice about tfjs-node). */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}
