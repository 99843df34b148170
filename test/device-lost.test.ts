// Device loss (a file of its own: it destroys the process's GPU device). After GPUDevice.lost, every GPU
// call fails at once with one error that says what happened, instead of a readback that hangs or fails with
// an empty message.
import { beforeAll, describe, expect, it } from 'vitest';
import { gpu } from '../src/gpu/index.js';
import { add } from '../src/ops/index.js';
import { tensor, zeros } from '../src/tensor/index.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

const LOST = /^the GPU device was lost \(destroyed.*\); training stopped; the last checkpoint on disk is intact/;

describe('device loss', () => {
  it('makes every later flush, readback and recording fail with a clear error', async () => {
    const g = gpu();
    const a = tensor([1, 2, 3]);
    expect(Array.from(await a.data())).toEqual([1, 2, 3]);
    const b = add(a, a); // recorded before the loss, read after it
    expect(g.isLost).toBe(false);
    g.device.destroy();
    const t0 = performance.now();
    await expect(b.data()).rejects.toThrow(LOST);
    expect(performance.now() - t0).toBeLessThan(10_000); // no hang
    expect(g.isLost).toBe(true);
    await expect(g.flush()).rejects.toThrow(LOST);
    await expect(g.sync()).rejects.toThrow(LOST);
    await expect(a.data()).rejects.toThrow(LOST);
    expect(() => zeros([4])).toThrow(LOST); // recording fails at the call
    a.dispose(); // freeing still works
    b.dispose();
  });
});
