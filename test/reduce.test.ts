import { beforeAll, describe, expect, it } from 'vitest';
import { argmax, cpuReduce, max, mean, sum, variance } from '../src/ops/reduce.js';
import { normAxes, tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

// Forward within rtol 1e-5 / atol 1e-5 of float64 (long sums: 1e-4); backward against central
// differences within rtol 1e-3 / atol 1e-4.
const cases: [number[], number[] | undefined][] = [
  [[7], undefined],
  [[3, 5], [0]],
  [[3, 5], [1]],
  [[3, 5], undefined],
  [[2, 3, 4], [1]],
  [
    [2, 3, 4],
    [0, 2],
  ],
  [
    [4, 1, 3, 5],
    [0, 3],
  ],
  [
    [2, 3, 4, 5],
    [1, 3],
  ],
  [[3, 300], [1]], // long enough for the workgroup-per-output kernel
  [[20, 300], [1]], // the same with outputs enough for a thread each on a CPU adapter (reduce.ts)
  [[600], undefined],
];

describe('reductions', () => {
  for (const kind of ['sum', 'mean', 'max'] as const) {
    it(kind, async () => {
      for (const [k, [shape, axes]] of cases.entries()) {
        for (const keepDims of [false, true]) {
          const x = randomData(k + 1, shape);
          const ax = normAxes(shape.length, axes);
          const f = { sum, mean, max }[kind];
          await checkOp({
            name: `${kind} ${shape} over ${axes} keep=${keepDims}`,
            inputs: [x],
            gpu: (t) => f(t, axes, keepDims),
            cpu: (d) => cpuReduce(d, shape, ax, kind).data,
            rtol: 1e-4,
            atol: 1e-5,
          });
        }
      }
    });
  }

  it('keepDims shapes', () => {
    const x = tensor(new Float32Array(24), [2, 3, 4]);
    expect(sum(x, [0, 2], true).shape).toEqual([1, 3, 1]);
    expect(sum(x, [0, 2]).shape).toEqual([3]);
    expect(mean(x).shape).toEqual([]);
    expect(() => sum(x, 3)).toThrow(/axis 3 is out of range/);
  });

  it('argmax takes the first maximum', async () => {
    const x = tensor([1, 5, 5, 2, 9, 0, 9, 3], [2, 4]);
    expect(Array.from(await argmax(x, 1).data())).toEqual([1, 0]);
    expect(Array.from(await argmax(x, 0).data())).toEqual([1, 0, 1, 1]);
    const long = new Float32Array(1000).fill(1);
    long[700] = 3;
    long[900] = 3;
    expect(Array.from(await argmax(tensor(long, [1, 1000]), 1).data())).toEqual([700]);
  });

  it('variance (biased and unbiased) and its gradient', async () => {
    for (const unbiased of [false, true]) {
      const shape = [4, 6];
      await checkOp({
        name: `var unbiased=${unbiased}`,
        inputs: [randomData(5, shape)],
        gpu: (t) => variance(t, 0, { unbiased }),
        cpu: (d) => {
          const out = new Float64Array(6);
          for (let j = 0; j < 6; j++) {
            let m = 0;
            for (let i = 0; i < 4; i++) m += d[i * 6 + j]! / 4;
            let s = 0;
            for (let i = 0; i < 4; i++) s += (d[i * 6 + j]! - m) ** 2;
            out[j] = s / (unbiased ? 3 : 4);
          }
          return out;
        },
      });
    }
  });
});
