// Getting a WebGPU adapter in Node through Dawn (the `webgpu` package).
//
// On a Linux machine without a GPU, Dawn finds no Vulkan driver. Debian's chromium ships SwiftShader, a CPU
// Vulkan driver; pointing VK_ICD_FILENAMES at it before Dawn creates its instance gives a working adapter.
// This file knows where that driver lives and how to tell the user what to install. It is not used in a
// browser: device.ts imports it only when `navigator.gpu` is absent, and every Node module is imported by a
// computed name so that browser bundlers leave it alone.

/** Which adapter to use: WEIGHTGEN_ADAPTER=auto (default) | hardware | swiftshader. */
export type AdapterChoice = 'auto' | 'hardware' | 'swiftshader';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json', // Debian / Ubuntu `chromium`
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json', // Fedora
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json', // older Ubuntu
  '/opt/google/chrome/vk_swiftshader_icd.json', // Google Chrome
];

const INSTALL_HINT =
  'Install a Vulkan loader and SwiftShader (a CPU Vulkan driver shipped with Chromium): on Debian/Ubuntu run ' +
  '`sudo apt-get install -y libvulkan1 chromium` (or `npm run setup`, which does it). ' +
  'Set WEIGHTGEN_SWIFTSHADER_ICD=/path/to/vk_swiftshader_icd.json if yours lives elsewhere.';

// `import(name)` with a computed name keeps bundlers (esbuild, vite) from following Node-only modules.
const nodeImport = (name: string): Promise<any> => import(/* @vite-ignore */ name);

export interface NodeGpu {
  gpu: GPU;
  adapter: GPUAdapter;
  fallback: boolean; // true when running on SwiftShader
}

/** Finds SwiftShader's ICD file, or null. */
export async function findSwiftShader(): Promise<string | null> {
  const fs = await nodeImport('node:fs');
  const env = process.env.WEIGHTGEN_SWIFTSHADER_ICD;
  if (env) {
    if (!fs.existsSync(env)) throw new Error(`WEIGHTGEN_SWIFTSHADER_ICD=${env}: no such file. ${INSTALL_HINT}`);
    return env;
  }
  return SWIFTSHADER_ICDS.find((p) => fs.existsSync(p)) ?? null;
}

/** True when the machine shows signs of a GPU that Vulkan could drive. */
async function hasHardwareGpu(): Promise<boolean> {
  const fs = await nodeImport('node:fs');
  if (fs.existsSync('/dev/nvidia0')) return true;
  try {
    return fs.readdirSync('/dev/dri').some((f: string) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * SwiftShader probes for a Wayland display and prints "XDG_RUNTIME_DIR is invalid" twice when the variable
 * is unset (as on a server). A private empty directory makes the probe fail quietly.
 */
async function quietWayland(): Promise<void> {
  if (process.env.XDG_RUNTIME_DIR) return;
  const fs = await nodeImport('node:fs');
  const os = await nodeImport('node:os');
  const path = await nodeImport('node:path');
  const dir = path.join(os.tmpdir(), `weightgen-xdg-${process.getuid?.() ?? 'user'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

// Dawn crashes if the object returned by create() is garbage-collected, so it lives on globalThis.
const KEEP = Symbol.for('weightgen.dawn');

async function createDawn(flags: string[]): Promise<GPU> {
  const webgpu = await nodeImport('webgpu');
  Object.assign(globalThis, webgpu.globals); // GPUBufferUsage, GPUMapMode, ... as in a browser
  const gpu = webgpu.create(flags) as GPU;
  const kept: GPU[] = ((globalThis as any)[KEEP] ??= []);
  kept.push(gpu);
  return gpu;
}

function isCpuAdapter(adapter: GPUAdapter): boolean {
  const i = adapter.info;
  return /swiftshader|llvmpipe|lavapipe/i.test(`${i.architecture} ${i.description} ${i.device}`);
}

/**
 * Returns a Dawn adapter: hardware when there is one, else SwiftShader.
 * `flags` are Dawn instance flags, e.g. `enable-dawn-features=disable_robustness`.
 */
export async function requestNodeAdapter(choice: AdapterChoice, flags: string[]): Promise<NodeGpu> {
  const userIcd = process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES;
  if (choice === 'hardware' || (choice === 'auto' && (userIcd || (await hasHardwareGpu())))) {
    const gpu = await createDawn(flags);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter && !(choice === 'auto' && isCpuAdapter(adapter) && !userIcd)) {
      return { gpu, adapter, fallback: isCpuAdapter(adapter) };
    }
    if (choice === 'hardware') {
      throw new Error(
        'WEIGHTGEN_ADAPTER=hardware but Dawn found no hardware Vulkan adapter. Check the GPU driver ' +
          '(`vulkaninfo --summary`), or unset WEIGHTGEN_ADAPTER to fall back to SwiftShader.',
      );
    }
  }
  // SwiftShader fallback.
  const icd = await findSwiftShader();
  if (!icd) throw new Error(`No WebGPU adapter: no GPU was found and SwiftShader is not installed. ${INSTALL_HINT}`);
  process.env.VK_ICD_FILENAMES = icd;
  await quietWayland();
  const gpu = await createDawn(flags);
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error(
      `No WebGPU adapter: Dawn could not open SwiftShader at ${icd} (is the Vulkan loader libvulkan.so.1 ` +
        `installed?). ${INSTALL_HINT}`,
    );
  }
  return { gpu, adapter, fallback: true };
}

/**
 * Waits on a promise of Dawn's (mapAsync, onSubmittedWorkDone) without spinning a core. While such a
 * promise is pending, dawn.node polls for its events with setImmediate, a callback scheduling the next,
 * back to back: one core at 100%. When the GPU is SwiftShader, that core is one the "GPU" needs (measured
 * with `npm run bench -- --throttle-polling`: the VAE training step went from 18.4 to 12.4 ms). During the
 * wait, a setImmediate scheduled from inside a setImmediate callback (a poll rescheduling itself) runs as
 * setTimeout(0), about 1 ms later, once its chain is older than SPIN_MS: short waits stay short, long ones
 * let the core go. Everything else in the process sees setImmediate as usual, only later in such chains.
 * WEIGHTGEN_POLL=spin leaves dawn.node's polling alone.
 */
export function patientWait<T>(start: () => Promise<T>): Promise<T> {
  if (waiting++ === 0) throttleImmediate();
  return start().finally(() => {
    if (--waiting === 0) globalThis.setImmediate = plainImmediate!;
  });
}

const SPIN_MS = 0.5;
let waiting = 0;
let plainImmediate: typeof setImmediate | null = null;

function throttleImmediate(): void {
  plainImmediate ??= globalThis.setImmediate;
  const immediate = plainImmediate;
  let inCallback = false;
  let chainStart = 0;
  const throttled = (fn: (...args: any[]) => void, ...args: any[]) => {
    const now = performance.now();
    if (!inCallback) chainStart = now; // a new chain, not a callback rescheduling itself
    const run = (...a: any[]) => {
      inCallback = true;
      try {
        fn(...a);
      } finally {
        inCallback = false;
      }
    };
    return now - chainStart < SPIN_MS ? immediate(run, ...args) : setTimeout(run, 0, ...args);
  };
  globalThis.setImmediate = throttled as unknown as typeof setImmediate;
}
