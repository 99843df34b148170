// initGpu(options): a page or an app hands over a GPUDevice of its own and every tensor lives on it, with the
// limits it was created with; options that cannot apply, and a second start with other options, are errors;
// options win over the environment variables. Runs in Node (a Dawn device, requested through node.ts as
// device.ts does) and in Chromium (navigator.gpu). A file of its own: initGpu is process-wide, and vitest
// gives each test file a fresh process (Node) or page (Chromium).
import { beforeAll, describe, expect, it } from 'vitest';
import { type GpuOptions, gpu, gpuSettings, initGpu } from '../src/gpu/index.js';
import { requestNodeAdapter } from '../src/gpu/node.js';
import { cpuMatmul, matmul } from '../src/ops/matmul.js';
import { tensor, zeros } from '../src/tensor/index.js';
import { cpuRng, expectClose } from './helpers.js';

const inBrowser = typeof navigator !== 'undefined' && !!navigator.gpu;

/** A device made the way the platform makes one, with WebGPU's default limits (nothing raised). */
async function ownDevice(): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  const adapter = inBrowser
    ? await navigator.gpu.requestAdapter()
    : (await requestNodeAdapter('auto', ['enable-dawn-features=disable_robustness,disable_workgroup_init'])).adapter;
  if (!adapter) throw new Error('test: navigator.gpu.requestAdapter() returned null');
  return { adapter, device: await adapter.requestDevice({ label: 'handed over by the test' }) };
}

/** Copies `src` through `device`'s own queue into a mappable buffer: fails unless the buffer is `device`'s. */
async function readThrough(device: GPUDevice, src: { buffer: GPUBuffer; offset: number; size: number }) {
  const staging = device.createBuffer({ size: src.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.pushErrorScope('validation');
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src.buffer, src.offset, staging, 0, src.size);
  device.queue.submit([enc.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(`copy through the handed-over device: ${error.message}`);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

let own: { adapter: GPUAdapter; device: GPUDevice };
beforeAll(async () => {
  own = await ownDevice();
});

describe('initGpu options', () => {
  it('rejects options that cannot apply, and starts nothing', async () => {
    await expect(initGpu({ robustness: true } as GpuOptions)).rejects.toThrow(/unknown option robustness/);
    await expect(initGpu({ device: own.device, adapterChoice: 'auto' })).rejects.toThrow(
      /adapterChoice .*with a device handed over/,
    );
    await expect(initGpu({ adapter: own.adapter, robust: true })).rejects.toThrow(/robust .*adapter handed over/);
    await expect(initGpu({ device: {} as GPUDevice })).rejects.toThrow(/not a GPUDevice/);
    if (inBrowser) await expect(initGpu({ poll: 'patient' })).rejects.toThrow(/poll is an option for Node/);
    else await expect(initGpu({ poll: 'sometimes' as 'spin' })).rejects.toThrow(/poll.*=sometimes: expected/);
    expect(() => gpu()).toThrow(/not initialised/);
  });

  it('puts every tensor on the device handed over', async () => {
    const g = await initGpu({ device: own.device });
    expect(gpu()).toBe(g);
    expect(g.device).toBe(own.device);
    expect(g.adapter.backend).toBe(inBrowser ? 'browser' : 'dawn');
    const r = cpuRng(5);
    const [a, b] = [r.uniform(6 * 5), r.uniform(5 * 4)];
    const c = matmul(tensor(a, [6, 5]), tensor(b, [5, 4]));
    const expected = cpuMatmul(a, [6, 5], b, [5, 4]).data;
    expectClose(await c.data(), expected, 1e-5, 1e-5, 'matmul on the handed-over device');
    // The product's buffer is the device's own: its queue copies it without a validation error.
    expectClose(await readThrough(own.device, c.ref), expected, 1e-5, 1e-5, 'read back');
  });

  it("keeps the device's limits: they cannot be raised after it was created", () => {
    const limit = own.device.limits.maxStorageBufferBindingSize;
    expect(gpu().device.limits.maxStorageBufferBindingSize).toBe(limit);
    expect(() => zeros([limit / 4 + 1])).toThrow(/over this device's maxStorageBufferBindingSize/);
  });

  it('refuses a second start with other options; without options, returns the running GPU', async () => {
    const g = gpu();
    await expect(initGpu({ poll: 'spin' })).rejects.toThrow(
      /initGpu\(\{ poll: spin \}\): the GPU was already started with \{ device: a GPUDevice \}/,
    );
    await expect(initGpu({ adapter: own.adapter })).rejects.toThrow(/already started/);
    expect(await initGpu()).toBe(g);
    expect(await initGpu({})).toBe(g);
    expect(await initGpu({ device: own.device })).toBe(g);
  });
});

describe('gpuSettings: options win over the environment', () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const set = { WEIGHTGEN_ADAPTER: 'swiftshader', WEIGHTGEN_ROBUST: '1', WEIGHTGEN_POLL: 'patient' };

  it('Node: defaults, then the environment, then the options', () => {
    expect(gpuSettings({}, true, env({}))).toEqual({ adapterChoice: 'auto', robust: false, poll: 'spin' });
    expect(gpuSettings({}, true, env(set))).toEqual({ adapterChoice: 'swiftshader', robust: true, poll: 'patient' });
    const o: GpuOptions = { adapterChoice: 'hardware', robust: false, poll: 'spin' };
    expect(gpuSettings(o, true, env(set))).toEqual({ adapterChoice: 'hardware', robust: false, poll: 'spin' });
    expect(() => gpuSettings({}, true, env({ WEIGHTGEN_ADAPTER: 'gpu' }))).toThrow(/WEIGHTGEN_ADAPTER=gpu: expected/);
    expect(() => gpuSettings({ robust: 1 as unknown as boolean }, true, env({}))).toThrow(/robust.*true or false/);
  });

  it('a browser: the environment is not read, and the Node options are errors', () => {
    expect(gpuSettings({}, false, env(set))).toEqual({ adapterChoice: 'auto', robust: false, poll: 'spin' });
    expect(() => gpuSettings({ robust: true, adapterChoice: 'auto' }, false, env({}))).toThrow(
      /robust, adapterChoice are options for Node/,
    );
  });
});
