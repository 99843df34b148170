// The library's edges: a tensor over the device's buffer limits fails at the call that asks for it, naming
// the size and the limit; the pool cap's error names what really exists; no dispatch of zero workgroups is
// ever encoded (not even Dawn's own, for timing a batch without dispatches).
import { beforeAll, describe, expect, it } from 'vitest';
import { gpu } from '../src/gpu/index.js';
import { crossEntropy } from '../src/ops/index.js';
import { backward, full, ones, requireGrad, Tensor, tensor, zeros } from '../src/tensor/index.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('buffer limits', () => {
  it('zeros([300e6]) or anything over the limits throws at the call, naming the size and the limit', async () => {
    const limits = gpu().device.limits;
    const bind = limits.maxStorageBufferBindingSize;
    // 300e6 floats (1.2 GB) is over SwiftShader's 1 GiB; on a device with more, one float past its limit
    const n = Math.max(300e6, Math.floor(Math.max(bind, limits.maxBufferSize) / 4) + 1);
    const bytes = (4 * n).toLocaleString('en-US');
    const limit = 4 * n > bind ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    expect(() => zeros([n])).toThrow(
      new RegExp(`^zeros\\(\\(${n}\\)\\): ${bytes} bytes \\([\\d.]+ MiB\\) is over this device's ${limit} of `),
    );
    expect(() => ones([2, Math.ceil(n / 2)])).toThrow(/^ones\(\(2, \d+\)\): .* is over this device's/);
    expect(() => full([n], 3)).toThrow(/Use smaller tensors/);
    expect(() => tensor(new Float32Array(1), [n])).toThrow(/^tensor\(/);
    // what no creation function checks first reaches the pool, which checks too
    expect(() => Tensor.empty([n])).toThrow(/a GPU buffer for 'f32': .* is over this device's/);
    // nothing was recorded: the device is fine and the next work runs
    const t = tensor([1, 2, 3]);
    expect(Array.from(await t.data())).toEqual([1, 2, 3]);
    t.dispose();
    // the largest tensor the binding limit allows is not refused by the check (not created here: 1 GiB)
    expect(() => gpu().pool.checkSize(bind, 0x80, 'x')).not.toThrow();
    expect(() => gpu().pool.checkSize(bind + 4, 0x80, 'x')).toThrow(/maxStorageBufferBindingSize/);
  });

  it('the pool cap error says how to raise the cap, with what exists', () => {
    const pool = gpu().pool;
    const cap = pool.capBytes;
    pool.capBytes = pool.getStats().liveBytes + 1024;
    try {
      // a size no free buffer of the pool has, so that a new one is asked for
      expect(() => zeros([123_457])).toThrow(/raise the cap: `gpu\(\)\.pool\.capBytes = bytes`/);
      expect(() => zeros([123_457])).not.toThrow(/setPoolCap/);
    } finally {
      pool.capBytes = cap;
    }
  });

  it('a workgroup count over the limit names it', () => {
    const t = zeros([4]);
    const max = gpu().device.limits.maxComputeWorkgroupsPerDimension;
    expect(() =>
      gpu().dispatch({ shader: 'tensor', entry: 'fill' }, { out: t.ref }, { n: 4, bits: 0 }, [max + 1, 1, 1]),
    ).toThrow(/maxComputeWorkgroupsPerDimension/);
    t.dispose();
  });
});

describe('zero-sized dispatches', () => {
  it('are never encoded, with or without profiling (softmax cross-entropy forward and backward)', async (ctx) => {
    const C = (globalThis as any).GPUComputePassEncoder?.prototype;
    const E = (globalThis as any).GPUCommandEncoder?.prototype;
    if (!C?.dispatchWorkgroups || !E?.resolveQuerySet) return ctx.skip('GPU encoder prototypes are not reachable');
    const zeros: string[] = [];
    const dispatch = C.dispatchWorkgroups;
    const resolve = E.resolveQuerySet;
    C.dispatchWorkgroups = function (this: unknown, ...g: number[]) {
      if (g.some((x) => !(x >= 1))) zeros.push(`dispatchWorkgroups(${g})`);
      return dispatch.apply(this, g);
    };
    E.resolveQuerySet = function (this: unknown, ...a: unknown[]) {
      if (a[2] === 0) zeros.push('resolveQuerySet of 0 queries'); // Dawn then dispatches 0 workgroups itself
      return resolve.apply(this, a);
    };
    const g = gpu();
    try {
      for (const profiling of g.canProfile ? [false, true] : [false]) {
        g.setProfiling(profiling);
        const x = requireGrad(
          tensor(
            Float32Array.from({ length: 64 * 10 }, (_, i) => Math.sin(i)),
            [64, 10],
          ),
        );
        const y = tensor(
          Int32Array.from({ length: 64 }, (_, i) => i % 10),
          [64],
          'i32',
        );
        const loss = crossEntropy(x, y);
        backward(loss);
        await loss.item();
        await x.grad!.data(); // a batch of one copy and no dispatch
        g.dispatch({ shader: 'tensor', entry: 'fill' }, { out: y.ref }, { n: 0, bits: 0 }, [0, 1, 1]);
        await g.sync();
        for (const t of [x.grad!, x, y, loss]) t.dispose();
      }
    } finally {
      g.setProfiling(false);
      C.dispatchWorkgroups = dispatch;
      E.resolveQuerySet = resolve;
    }
    expect(zeros).toEqual([]);
  });
});
