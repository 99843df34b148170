// One async way to get a WebGPU device, in a browser (navigator.gpu) or in Node (Dawn, see node.ts).
//
// The device asks for the adapter's own limits (the defaults cap a binding at 128 MiB and workgroup memory
// at 16 KiB) and for timestamp queries when the adapter has them (the profiler uses them). It is not a
// device manager: one device per process, shared by every tensor.

import type { AdapterChoice } from './node.js';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  backend: 'browser' | 'dawn';
  fallback: boolean; // a CPU implementation (SwiftShader)
  features: string[];
}

/** How the runtime awaits the GPU (mapAsync, onSubmittedWorkDone): plainly, or Node's patientWait. */
export type Waiter = <T>(start: () => Promise<T>) => Promise<T>;

export interface DeviceHandle {
  device: GPUDevice;
  adapter: GPUAdapter;
  report: AdapterReport;
  wait: Waiter;
}

/** Limits worth raising above the WebGPU defaults, when the adapter allows. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query'];

function env(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

const plainWait: Waiter = (start) => start();

async function requestAdapter(): Promise<{
  adapter: GPUAdapter;
  backend: 'browser' | 'dawn';
  fallback: boolean;
  wait: Waiter;
}> {
  if (typeof navigator !== 'undefined' && navigator.gpu) {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      throw new Error(
        'navigator.gpu exists but requestAdapter() returned null: WebGPU is disabled or unsupported here. ' +
          'In Chrome, check chrome://gpu; headless Chromium needs --enable-unsafe-webgpu.',
      );
    }
    const i = adapter.info;
    const fallback = /swiftshader/i.test(`${i.architecture} ${i.description}`);
    return { adapter, backend: 'browser', fallback, wait: plainWait };
  }
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new Error('No WebGPU here: navigator.gpu is missing. Use a browser with WebGPU (Chrome 113+) or Node.');
  }
  const { patientWait, requestNodeAdapter } = await import('./node.js');
  const choice = (env('WEIGHTGEN_ADAPTER') ?? 'auto') as AdapterChoice;
  if (!['auto', 'hardware', 'swiftshader'].includes(choice)) {
    throw new Error(`WEIGHTGEN_ADAPTER=${choice}: expected auto, hardware or swiftshader.`);
  }
  // Two Dawn safety features cost much on SwiftShader and buy nothing for our kernels: bounds checks on every
  // access (our kernels bound-check themselves), and zeroing every workgroup's shared memory when it starts
  // (ours write it before reading it; 8 KiB of zeroing made a trivial kernel 100x slower there).
  // WEIGHTGEN_ROBUST=1 keeps both on, to hunt an out-of-bounds or uninitialised-memory bug.
  const flags =
    env('WEIGHTGEN_ROBUST') === '1' ? [] : ['enable-dawn-features=disable_robustness,disable_workgroup_init'];
  const { adapter, fallback } = await requestNodeAdapter(choice, flags);
  // spin by default: patientWait replaces globalThis.setImmediate while it waits, which a library must not
  // do unasked; the command line and the bench ask for it (WEIGHTGEN_POLL=patient).
  const poll = env('WEIGHTGEN_POLL') ?? 'spin';
  if (!['patient', 'spin'].includes(poll)) throw new Error(`WEIGHTGEN_POLL=${poll}: expected patient or spin.`);
  return { adapter, backend: 'dawn', fallback, wait: poll === 'spin' ? plainWait : patientWait };
}

export async function requestDevice(): Promise<DeviceHandle> {
  const { adapter, backend, fallback, wait } = await requestAdapter();
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as any)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const i = adapter.info;
  const report: AdapterReport = {
    vendor: i.vendor,
    architecture: i.architecture,
    description: i.description,
    device: i.device,
    backend,
    fallback,
    features: [...device.features].map(String).sort(),
  };
  return { device, adapter, report, wait };
}
