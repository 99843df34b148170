// A 10,000-step soak of the one training loop (an Iris MLP): live bytes and live buffers stay flat, no
// buffer is created after warm-up, and the time per step does not drift. Node only: it times steps.
import { beforeAll, describe, expect, it } from 'vitest';
import { irisSplit } from '../src/data/iris.js';
import { gpu } from '../src/gpu/index.js';
import { train } from '../src/models/train.js';
import { Linear, ReLU, Sequential } from '../src/nn/index.js';
import { crossEntropy, gatherRows } from '../src/ops/index.js';
import { Adam } from '../src/optim/index.js';
import { Rng, tensor } from '../src/tensor/index.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('soak', () => {
  it('10,000 training steps: memory flat, no new buffers, no drift in time per step', async () => {
    const data = irisSplit();
    const n = data.yTrain.length;
    const x = tensor(data.xTrain, [n, 4]);
    const y = tensor(data.yTrain, [n], 'i32');
    const rng = new Rng(1);
    const model = new Sequential(new Linear(4, 8, { rng }), new ReLU(), new Linear(8, 3, { rng }));
    const opt = new Adam(model.parameters(), { lr: 1e-3 });
    const epochs = 100;
    const steps = 100; // 10,000 steps in all, one readback per 100
    const stats: { liveBytes: number; liveBuffers: number; created: number; ms: number }[] = [];
    let t0 = performance.now();
    let order: Int32Array = new Int32Array(0);
    await train({
      model,
      opt,
      rng,
      epochs,
      steps,
      beginEpoch: () => {
        order = rng.permutation(n);
      },
      step: (b) => {
        const at = (b * 16) % (n - 16);
        const rows = tensor(order.subarray(at, at + 16), [16], 'i32');
        return crossEntropy(model.forward(gatherRows(x, rows)), gatherRows(y, rows));
      },
      afterEpoch: () => {
        const s = gpu().pool.getStats();
        const now = performance.now();
        stats.push({ liveBytes: s.liveBytes, liveBuffers: s.liveBuffers, created: s.created, ms: (now - t0) / steps });
        t0 = now;
      },
    });
    const warm = stats[4]!; // after a few epochs every bucket size has been seen
    for (const s of stats.slice(5)) {
      expect(s.liveBytes).toBe(warm.liveBytes);
      expect(s.liveBuffers).toBe(warm.liveBuffers);
      expect(s.created).toBe(warm.created);
    }
    // time per step: the last 20 epochs against epochs 5-25 (medians; the machine is shared, so 2x slack)
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
    const early = median(stats.slice(5, 25).map((s) => s.ms));
    const late = median(stats.slice(-20).map((s) => s.ms));
    expect(late, `early ${early.toFixed(2)} ms/step, late ${late.toFixed(2)}`).toBeLessThan(2 * early);
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });
});
