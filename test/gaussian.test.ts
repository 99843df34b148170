import { beforeAll, describe, expect, it } from 'vitest';
import { cpuKlNormal, cpuReparameterize, klNormal, reparameterize } from '../src/ops/gaussian.js';
import { tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('fused Gaussian ops', () => {
  const shape = [5, 7]; // 35 elements: a ragged last workgroup

  it('klNormal: the summed KL divergence from N(0, I), and its gradients', async () => {
    await checkOp({
      name: 'klNormal',
      inputs: [randomData(1, shape, -2, 2), randomData(2, shape, -3, 1)],
      gpu: (mu, lv) => klNormal(mu!, lv!),
      cpu: (mu, lv) => [cpuKlNormal(mu!, lv!)],
    });
  });

  it('reparameterize: mu + exp(logvar / 2) eps, and its gradients (none to eps)', async () => {
    await checkOp({
      name: 'reparameterize',
      inputs: [
        randomData(3, shape, -2, 2),
        randomData(4, shape, -3, 1),
        { ...randomData(5, shape, -2, 2), grad: false },
      ],
      gpu: (mu, lv, eps) => reparameterize(mu!, lv!, eps!),
      cpu: (mu, lv, eps) => cpuReparameterize(mu!, lv!, eps!),
    });
  });

  it('a KL of zero at the prior itself; shape errors name the shapes', async () => {
    const zero = tensor(new Float32Array(6), [2, 3]);
    const kl = klNormal(zero, zero);
    expect((await kl.data())[0]).toBe(0);
    const wrong = tensor(new Float32Array(6), [3, 2]);
    expect(() => klNormal(zero, wrong)).toThrow(/mu \(2, 3\) f32 and logvar \(3, 2\) f32 must be f32 of one shape/);
    expect(() => reparameterize(zero, zero, wrong)).toThrow(/eps \(3, 2\) must be f32 of mu's shape \(2, 3\)/);
    for (const t of [zero, kl, wrong]) t.dispose();
  });
});
