import { beforeAll, describe, expect, it } from 'vitest';
import { concat, cpuPermute, expand, gatherRows, permute, reshape, slice, transpose } from '../src/ops/shape.js';
import { useStrideThreads } from '../src/gpu/index.js';
import { stridesOf, type Tensor, tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

// Copies are exact: forward within 1e-6; backward against central differences (rtol 1e-3, atol 1e-4).
describe('shape ops', () => {
  it('reshape', async () => {
    await checkOp({
      name: 'reshape',
      inputs: [randomData(1, [3, 4])],
      gpu: (x) => reshape(x, [2, -1, 3]),
      cpu: (d) => d,
    });
    expect(() => reshape(tensor([1, 2, 3]), [2, -1])).toThrow(/cannot be inferred/);
  });

  it('permute and transpose', async () => {
    for (const [shape, perm] of [
      [
        [3, 5],
        [1, 0],
      ],
      [
        [2, 3, 4],
        [2, 0, 1],
      ],
      [
        [2, 1, 3, 5],
        [3, 1, 0, 2],
      ],
    ] as const) {
      await checkOp({
        name: `permute ${perm}`,
        inputs: [randomData(2, [...shape])],
        gpu: (x) => permute(x, perm),
        cpu: (d) => cpuPermute(d, shape, perm),
      });
    }
    await checkOp({
      name: 'transpose',
      inputs: [randomData(3, [2, 3, 4])],
      gpu: (x) => transpose(x),
      cpu: (d) => cpuPermute(d, [2, 3, 4], [0, 2, 1]),
    });
    expect(() => permute(tensor([1, 2]), [1])).toThrow(/not a permutation/);
  });

  it('slice', async () => {
    const shape = [4, 5, 3];
    const begin = [1, 2, 0];
    const size = [2, -1, 2];
    await checkOp({
      name: 'slice',
      inputs: [randomData(4, shape)],
      gpu: (x) => slice(x, begin, size),
      cpu: (d) => {
        const out: number[] = [];
        const st = stridesOf(shape);
        for (let i = 1; i < 3; i++)
          for (let j = 2; j < 5; j++) for (let k = 0; k < 2; k++) out.push(d[i * st[0]! + j * st[1]! + k]!);
        return out;
      },
    });
    expect(() => slice(tensor([1, 2, 3]), [2], [2])).toThrow(/out of bounds/);
  });

  it('concat', async () => {
    await checkOp({
      name: 'concat axis 1',
      inputs: [randomData(5, [2, 3]), randomData(6, [2, 1]), randomData(7, [2, 2])],
      gpu: (a, b, c) => concat([a!, b!, c!], 1),
      cpu: (a, b, c) => [
        ...a!.slice(0, 3),
        ...b!.slice(0, 1),
        ...c!.slice(0, 2),
        ...a!.slice(3),
        ...b!.slice(1),
        ...c!.slice(2),
      ],
    });
    await checkOp({
      name: 'concat axis 0',
      inputs: [randomData(8, [1, 3]), randomData(9, [2, 3])],
      gpu: (a, b) => concat([a!, b!], 0),
      cpu: (a, b) => [...a!, ...b!],
    });
    expect(() => concat([tensor([1, 2], [1, 2]), tensor([1, 2, 3], [1, 3])], 0)).toThrow(/do not fit/);
  });

  it('expand', async () => {
    await checkOp({
      name: 'expand',
      inputs: [randomData(10, [3, 1])],
      gpu: (x) => expand(x, [2, 3, 4]),
      cpu: (d) => Array.from({ length: 24 }, (_, i) => d[Math.floor(i / 4) % 3]!),
    });
  });

  it('gather rows (with repeats) and its scatter-add backward', async () => {
    const idx = [2, 0, 2, 3];
    await checkOp({
      name: 'gatherRows',
      inputs: [randomData(11, [4, 3]), { data: idx, shape: [4], dtype: 'i32' }],
      gpu: (x, i) => gatherRows(x!, i!),
      cpu: (d) => idx.flatMap((r) => Array.from(d.slice(3 * r, 3 * r + 3))),
    });
    const labels = tensor(new Int32Array([5, 6, 7]));
    const picked = gatherRows(labels, tensor(new Int32Array([2, 2, 0])));
    expect(picked.dtype).toBe('i32');
    expect(Array.from(await picked.data())).toEqual([7, 7, 5]);
    const bad = await gatherRows(tensor([1, 2], [2, 1]), tensor(new Int32Array([5]))).data();
    expect(Number.isNaN(bad[0])).toBe(true);
  });
});

// The strided copy behind permute, slice, concat and expand steps elements i, i + threads, ... (fewer
// invocations on a CPU adapter: src/gpu/groups.ts): a few invocations give what one an element gives.
describe('strided copies: any number of invocations, the same values', () => {
  const x = randomData(9, [2, 3, 4, 5]);
  const cases: [string, (t: Tensor) => Tensor][] = [
    ['permute', (t) => permute(t, [3, 1, 0, 2])],
    ['slice', (t) => slice(t, [1, 0, 1, 2], [1, 3, 2, 3])],
    ['concat', (t) => concat([t, t], 2)],
    ['expand', (t) => expand(reshape(t, [1, 2, 3, 4, 5]), [3, 2, 3, 4, 5])],
    [
      'permute of rank 5 (no dims merge: the loop over dims)',
      (t) => permute(reshape(t, [2, 3, 2, 2, 5]), [4, 2, 0, 3, 1]),
    ],
  ];
  for (const [name, op] of cases) {
    it(name, async () => {
      const run = async (threads: number | null) => {
        useStrideThreads(threads);
        const t = tensor(x.data, x.shape);
        try {
          const out = op(t);
          const data = Array.from(await out.data());
          out.dispose();
          return data;
        } finally {
          useStrideThreads(null);
          t.dispose();
        }
      };
      const want = await run(100_000); // one invocation an element
      for (const threads of [1, 7, 64, 100]) expect(await run(threads), `${threads} invocations`).toEqual(want);
    });
  }
});
