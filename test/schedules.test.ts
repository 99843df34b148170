// Learning-rate schedules against PyTorch 1.13 on a fixed metric sequence (test/fixtures/make_schedules.py).
import { describe, expect, it } from 'vitest';
import { ExponentialLR, type Optimizer, ReduceLROnPlateau } from '../src/optim/index.js';
import fx from './fixtures/schedules_torch.json';

function fakeOptimizer(lr: number): Optimizer {
  return { lr, step() {}, zeroGrad() {}, dispose() {} };
}

describe('learning-rate schedules', () => {
  it('ExponentialLR', () => {
    const opt = fakeOptimizer(0.5);
    const s = new ExponentialLR(opt, 0.9);
    fx.exponential.forEach((want) => {
      s.step();
      expect(opt.lr).toBeCloseTo(want, 12);
    });
  });

  it('ReduceLROnPlateau with defaults, and with patience, cooldown, factor and min_lr', () => {
    for (const [name, o] of [
      ['plateau_default', {}],
      ['plateau_custom', { patience: 2, cooldown: 1, minLr: 0.02, factor: 0.5 }],
    ] as const) {
      const opt = fakeOptimizer(0.1);
      const s = new ReduceLROnPlateau(opt, o);
      fx.metrics.forEach((m, i) => {
        s.step(m);
        expect(opt.lr, `${name} step ${i}`).toBeCloseTo((fx as any)[name][i], 12);
      });
    }
  });
});
