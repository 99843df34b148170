// The fused loss kernels: mse (shaders/loss.wgsl) and the KL's one-workgroup sum (gaussian.wgsl's kl_sum),
// against float64 references and finite differences, on both sides of FUSED_MAX (above it both ops are
// composed of elementwise kernels and reduce.ts's sum), and mse's gradient against the composed rule's
// formula in f32, to the bit.

import { beforeAll, describe, expect, it } from 'vitest';
import { SHADER_CONSTS } from '../src/gpu/shaders.gen.js';
import { cpuKlNormal, klNormal } from '../src/ops/gaussian.js';
import { cpuMse, mse } from '../src/ops/loss.js';
import { backward, requireGrad, scope, tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const FUSED_MAX = SHADER_CONSTS.loss.FUSED_MAX;

describe('fused mse', () => {
  for (const reduction of ['sum', 'mean'] as const) {
    for (const shape of [[1], [5, 7], [16, 15], [3, 100]]) {
      it(`${reduction} over (${shape}): value and both gradients`, async () => {
        await checkOp({
          name: `mse ${reduction} (${shape})`,
          inputs: [randomData(1, shape), randomData(2, shape)],
          gpu: (a, b) => mse(a!, b!, reduction),
          cpu: (a, b) => [cpuMse(a!, b!, reduction)],
        });
      });
    }
  }

  it("the gradient is the composed rule's, dy ((a - b) 2) in f32, to the bit; a without grad gets none", async () => {
    const n = 240;
    const rng = cpuRng(3);
    const a = rng.uniform(n, 0, 1);
    const b = rng.uniform(n, 0, 1);
    const dyv = 0.7;
    const got = scope(() => {
      const at = requireGrad(tensor(a, [16, 15]));
      const bt = tensor(b, [16, 15]);
      backward(mse(at, bt, 'sum'), tensor([dyv], []));
      expect(bt.grad).toBeNull();
      return at.grad!.keep();
    });
    const da = await got.data();
    got.dispose();
    const f = Math.fround;
    const want = Float32Array.from(a, (v, i) => f(f(dyv) * f(f(f(v) - f(b[i]!)) * 2)));
    expect(Array.from(da)).toEqual(Array.from(want));
  });

  it(`above ${FUSED_MAX} elements (the composed path) the same values`, async () => {
    const n = FUSED_MAX + 3;
    const rng = cpuRng(4);
    const a = rng.uniform(n, -1, 1);
    const b = rng.uniform(n, -1, 1);
    for (const reduction of ['sum', 'mean'] as const) {
      const t = scope(() => mse(tensor(a, [n]), tensor(b, [n]), reduction).keep());
      expectClose(await t.data(), [cpuMse(a, b, reduction)], 1e-5, 1e-6, `mse ${reduction} of ${n}`);
      t.dispose();
    }
  });
});

describe('the KL summed in one workgroup', () => {
  it('value and gradients over 200 elements (several per thread)', async () => {
    await checkOp({
      name: 'klNormal (200)',
      inputs: [randomData(5, [8, 25], -2, 2), randomData(6, [8, 25], -3, 1)],
      gpu: (mu, lv) => klNormal(mu!, lv!),
      cpu: (mu, lv) => [cpuKlNormal(mu!, lv!)],
    });
  });

  it(`above ${FUSED_MAX} elements the terms and reduce.ts's sum give the same value`, async () => {
    const n = SHADER_CONSTS.gaussian.FUSED_MAX + 5;
    const rng = cpuRng(7);
    const mu = rng.uniform(n, -1, 1);
    const lv = rng.uniform(n, -1, 1);
    for (const len of [n, 4000]) {
      const t = scope(() => klNormal(tensor(mu.slice(0, len), [len]), tensor(lv.slice(0, len), [len])).keep());
      expectClose(await t.data(), [cpuKlNormal(mu.slice(0, len), lv.slice(0, len))], 1e-5, 1e-4, `kl of ${len}`);
      t.dispose();
    }
  });
});
