// Batch norm's one-dispatch training forward (shaders/batchnorm.wgsl train_rows: statistics, running
// update and normalisation, a thread per feature) against the float64 reference with finite differences,
// its running update against the reference's, and its output against the separate normalize kernel (the
// evaluation path fed the same statistics), to the bit.

import { beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, cpuBatchNorm } from '../src/ops/batchnorm.js';
import { scope, tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('batchNorm training in one dispatch', () => {
  it('a (64, 16) batch and a (5, 3, 4) one over two axes: values and gradients', async () => {
    for (const [k, [shape, axes]] of (
      [
        [[64, 16], [0]],
        [
          [5, 3, 4],
          [0, 2],
        ],
      ] as [number[], number[]][]
    ).entries()) {
      const fs = shape.filter((_, i) => !axes.includes(i));
      await checkOp({
        name: `batchNorm train ${shape}`,
        inputs: [randomData(40 + k, shape, -2, 2), randomData(50 + k, fs, 0.5, 1.5), randomData(60 + k, fs)],
        gpu: (x, s, o) => batchNorm(x!, { axes, scale: s, offset: o, training: true }),
        cpu: (x, s, o) => cpuBatchNorm(x!, shape, { axes, scale: s, offset: o, training: true }).y,
        rtol: 1e-4,
        atol: 1e-5,
      });
    }
  });

  it('updates the running statistics as the reference does (torch: unbiased variance)', async () => {
    const shape = [9, 4];
    const x = cpuRng(1).uniform(36, -1, 1);
    const rm = cpuRng(2).uniform(4, -1, 1);
    const rv = cpuRng(3).uniform(4, 0.5, 2);
    const [m, v] = scope(() => {
      const running = { mean: tensor(rm, [4]), var: tensor(rv, [4]) };
      batchNorm(tensor(x, shape), { axes: [0], training: true, running, momentum: 0.3 });
      return [running.mean.keep(), running.var.keep()];
    });
    const ref = cpuBatchNorm(x, shape, { axes: [0], training: true, running: { mean: rm, var: rv }, momentum: 0.3 });
    expectClose(await m!.data(), ref.runningMean!, 1e-5, 1e-6, 'running mean');
    expectClose(await v!.data(), ref.runningVar!, 1e-5, 1e-6, 'running var');
    m!.dispose();
    v!.dispose();
  });

  it('normalises to the bit as the evaluation kernel does with the same statistics', async () => {
    const shape = [16, 8];
    const x = cpuRng(4).uniform(128, -3, 3);
    const sc = cpuRng(5).uniform(8, 0.5, 1.5);
    const of = cpuRng(6).uniform(8, -1, 1);
    for (const affine of [true, false]) {
      const [train, evalY] = scope(() => {
        const xt = tensor(x, shape);
        const scale = affine ? tensor(sc, [8]) : null;
        const offset = affine ? tensor(of, [8]) : null;
        // tf with momentum 0: the running statistics become the batch's mean and biased variance exactly
        const running = { mean: tensor(new Float32Array(8), [8]), var: tensor(new Float32Array(8), [8]) };
        const o = { axes: [0], scale, offset, running, convention: 'tf' as const, momentum: 0 };
        const y1 = batchNorm(xt, { ...o, training: true });
        const y2 = batchNorm(xt, { ...o, training: false });
        return [y1.keep(), y2.keep()];
      });
      expect(Array.from(await train!.data())).toEqual(Array.from(await evalY!.data()));
      train!.dispose();
      evalY!.dispose();
    }
  });
});
