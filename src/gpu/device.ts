// One async way to get a WebGPU device, in a browser (navigator.gpu) or in Node (Dawn, see node.ts), or to
// take the one a page or an app already has (`initGpu({ device })`).
//
// The device weightgen requests asks for the adapter's own limits (the defaults cap a binding at 128 MiB and
// workgroup memory at 16 KiB) and for timestamp queries when the adapter has them (the profiler uses them).
// A device handed over is used as it is: its limits and features are what it was created with (WebGPU
// cannot raise them afterwards), and every limit check reads device.limits. It is not a device manager: one
// device per process, shared by every tensor.

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
  adapter: GPUAdapter | null; // null when a device was handed over without its adapter
  report: AdapterReport;
  wait: Waiter;
}

/** How Node waits for the GPU: `spin` (Dawn polls back to back) or `patient` (node.ts, patientWait). */
export type PollMode = 'patient' | 'spin';

/**
 * What `initGpu(options)` takes. Each option wins over its environment variable; what neither sets takes the
 * default. `device` and `adapter` hand over what a page or an app already has; the rest are for the device
 * weightgen makes in Node and are an error where they cannot apply.
 */
export interface GpuOptions {
  /** A device to use as it is: its limits and features stay what it was created with. */
  device?: GPUDevice;
  /** An adapter to request the device from (with its own limits, as weightgen does with the ones it finds);
   *  given with `device`, the adapter the device came from (its info names the GPU). */
  adapter?: GPUAdapter;
  /** Node, the Dawn instance weightgen creates: keep its bounds checks and workgroup-memory zeroing on.
   *  WEIGHTGEN_ROBUST=1; default false. */
  robust?: boolean;
  /** Node: how to wait for the GPU. WEIGHTGEN_POLL; default 'spin' (see node.ts, patientWait). */
  poll?: PollMode;
  /** Node: which adapter Dawn opens. WEIGHTGEN_ADAPTER; default 'auto' (the GPU if there is one, else
   *  SwiftShader). */
  adapterChoice?: AdapterChoice;
}

/** The settings initGpu runs with: its options, else the environment variables (Node), else the defaults. */
export interface GpuSettings {
  adapterChoice: AdapterChoice;
  robust: boolean;
  poll: PollMode;
}

/** The keys of GpuOptions. */
export const OPTION_NAMES = ['device', 'adapter', 'robust', 'poll', 'adapterChoice'] as const;
const CHOICES: readonly AdapterChoice[] = ['auto', 'hardware', 'swiftshader'];
const POLLS: readonly PollMode[] = ['patient', 'spin'];

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

function env(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

/**
 * The settings for `o` (options win over `readEnv`, which is consulted in Node only). Throws, naming the
 * option, on an unknown option, a bad value, or an option that cannot apply: robust and adapterChoice with
 * a device or adapter handed over (they shape the Dawn instance weightgen creates, which then is not made),
 * and robust, poll and adapterChoice in a browser (the browser decides those).
 */
export function gpuSettings(o: GpuOptions, inNode = isNode(), readEnv = env): GpuSettings {
  if (typeof o !== 'object' || o === null) throw new Error(`initGpu(options): options must be an object, got ${o}`);
  const unknown = Object.keys(o).filter((k) => !(OPTION_NAMES as readonly string[]).includes(k));
  if (unknown.length) {
    throw new Error(`initGpu: unknown option ${unknown.join(', ')}; the options are ${OPTION_NAMES.join(', ')}`);
  }
  if (o.device !== undefined && typeof (o.device as any)?.createBuffer !== 'function') {
    throw new Error('initGpu({ device }): device is not a GPUDevice (from adapter.requestDevice())');
  }
  if (o.adapter !== undefined && typeof (o.adapter as any)?.requestDevice !== 'function') {
    throw new Error('initGpu({ adapter }): adapter is not a GPUAdapter (from navigator.gpu.requestAdapter())');
  }
  const handed = o.device ? 'device' : o.adapter ? 'adapter' : null;
  for (const k of ['robust', 'adapterChoice'] as const) {
    if (o[k] === undefined) continue;
    if (handed) {
      throw new Error(
        `initGpu: ${k} shapes the Dawn instance weightgen creates, and with a ${handed} handed over it creates ` +
          `none (the ${handed} keeps how it was made): leave ${k} out`,
      );
    }
  }
  if (!inNode) {
    const nodeOnly = (['robust', 'poll', 'adapterChoice'] as const).filter((k) => o[k] !== undefined);
    if (nodeOnly.length) {
      throw new Error(
        `initGpu: ${nodeOnly.join(', ')} ${nodeOnly.length > 1 ? 'are options' : 'is an option'} for Node (Dawn); ` +
          'in a browser, the browser picks the adapter and decides robustness and waiting: leave it out (or hand ' +
          'over a device made with what you need)',
      );
    }
    return { adapterChoice: 'auto', robust: false, poll: 'spin' };
  }
  const adapterChoice = (o.adapterChoice ?? readEnv('WEIGHTGEN_ADAPTER') ?? 'auto') as AdapterChoice;
  if (!CHOICES.includes(adapterChoice)) {
    const from = o.adapterChoice !== undefined ? 'initGpu({ adapterChoice })' : 'WEIGHTGEN_ADAPTER';
    throw new Error(`${from}=${adapterChoice}: expected ${CHOICES.join(', ')}`);
  }
  if (o.robust !== undefined && typeof o.robust !== 'boolean') {
    throw new Error(`initGpu({ robust }): expected true or false, got ${o.robust}`);
  }
  const poll = (o.poll ?? readEnv('WEIGHTGEN_POLL') ?? 'spin') as PollMode;
  if (!POLLS.includes(poll)) {
    throw new Error(
      `${o.poll !== undefined ? 'initGpu({ poll })' : 'WEIGHTGEN_POLL'}=${poll}: expected patient or spin`,
    );
  }
  return { adapterChoice, robust: o.robust ?? readEnv('WEIGHTGEN_ROBUST') === '1', poll };
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

const plainWait: Waiter = (start) => start();

/** A CPU implementation of the GPU (SwiftShader, llvmpipe, lavapipe), by what the adapter says of itself. */
function isCpu(info: GPUAdapterInfo | undefined): boolean {
  return /swiftshader|llvmpipe|lavapipe/i.test(`${info?.architecture} ${info?.description} ${info?.device}`);
}

/** Finds an adapter: navigator.gpu where there is one (a browser), else Dawn (Node). */
async function findAdapter(s: GpuSettings): Promise<{ adapter: GPUAdapter; fallback: boolean }> {
  if (typeof navigator !== 'undefined' && navigator.gpu) {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      throw new Error(
        'navigator.gpu exists but requestAdapter() returned null: WebGPU is disabled or unsupported here. ' +
          'In Chrome, check chrome://gpu; headless Chromium needs --enable-unsafe-webgpu.',
      );
    }
    return { adapter, fallback: isCpu(adapter.info) };
  }
  if (!isNode()) {
    throw new Error('No WebGPU here: navigator.gpu is missing. Use a browser with WebGPU (Chrome 113+) or Node.');
  }
  const { requestNodeAdapter } = await import('./node.js');
  // Two Dawn safety features cost much on SwiftShader and buy nothing for our kernels: bounds checks on every
  // access (our kernels bound-check themselves), and zeroing every workgroup's shared memory when it starts
  // (ours write it before reading it; 8 KiB of zeroing made a trivial kernel 100x slower there).
  // robust (WEIGHTGEN_ROBUST=1) keeps both on, to hunt an out-of-bounds or uninitialised-memory bug.
  // Dawn also rounds timestamp queries to 2^16 ns (65.5 us; against timing attacks on web pages): a process
  // of our own measures its kernels to the nanosecond.
  const exact = 'disable-dawn-features=timestamp_quantization';
  const flags = s.robust ? [exact] : ['enable-dawn-features=disable_robustness,disable_workgroup_init', exact];
  return requestNodeAdapter(s.adapterChoice, flags);
}

/** The device for `o` (see GpuOptions): the one handed over, or one requested from the adapter given or found. */
export async function requestDevice(o: GpuOptions = {}): Promise<DeviceHandle> {
  const settings = gpuSettings(o);
  const inNode = isNode();
  // spin by default: patientWait replaces globalThis.setImmediate while it waits, which a library must not
  // do unasked; the command line and the bench ask for it (WEIGHTGEN_POLL=patient).
  const wait = inNode && settings.poll === 'patient' ? (await import('./node.js')).patientWait : plainWait;
  const backend = inNode ? 'dawn' : 'browser';
  let device = o.device;
  let adapter = o.adapter ?? null;
  let fallback: boolean;
  if (device) {
    fallback = isCpu(adapter?.info ?? device.adapterInfo);
  } else {
    const found = adapter ? { adapter, fallback: isCpu(adapter.info) } : await findAdapter(settings);
    adapter = found.adapter;
    fallback = found.fallback;
    const requiredLimits: Record<string, number> = {};
    for (const name of WANTED_LIMITS) {
      const v = (adapter.limits as any)[name];
      if (typeof v === 'number') requiredLimits[name] = v;
    }
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter!.features.has(f));
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  }
  const i: Partial<GPUAdapterInfo> = adapter?.info ?? device.adapterInfo ?? {};
  const report: AdapterReport = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    description: i.description ?? '',
    device: i.device ?? '',
    backend,
    fallback,
    features: [...device.features].map(String).sort(),
  };
  return { device, adapter, report, wait };
}
