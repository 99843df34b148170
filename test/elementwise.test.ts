import { beforeAll, describe, expect, it } from 'vitest';
import * as ew from '../src/ops/elementwise.js';
import { cpuBinary, cpuBroadcast, cpuUnary } from '../src/ops/elementwise.js';
import { useStrideThreads } from '../src/gpu/index.js';
import { type Tensor, tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

// Forward: f32 GPU against float64 within rtol 1e-5 / atol 1e-5 (exp and log: 2e-5, a few ulp).
// Backward: against central differences (h = 1e-4) within rtol 1e-3 / atol 1e-4.
describe('unary ops', () => {
  const shapes = [[1], [7], [3, 5], [2, 3, 4]];
  const cases: [string, (x: any) => any, (x: number) => number, number, number][] = [
    ['neg', ew.neg, (x) => cpuUnary.neg(x, 0, 0), -2, 2],
    ['exp', ew.exp, (x) => cpuUnary.exp(x, 0, 0), -2, 2],
    ['log', ew.log, (x) => cpuUnary.log(x, 0, 0), 0.2, 3],
    ['sqrt', ew.sqrt, (x) => cpuUnary.sqrt(x, 0, 0), 0.2, 3],
    ['abs', ew.abs, (x) => cpuUnary.abs(x, 0, 0), -2, 2],
    ['square', ew.square, (x) => cpuUnary.square(x, 0, 0), -2, 2],
    ['relu', ew.relu, (x) => cpuUnary.relu(x, 0, 0), -2, 2],
    ['leaky_relu', (x) => ew.leakyRelu(x, 0.05), (x) => cpuUnary.leaky_relu(x, 0.05, 0), -2, 2],
    ['sigmoid', ew.sigmoid, (x) => cpuUnary.sigmoid(x, 0, 0), -4, 4],
    ['tanh', ew.tanh, (x) => cpuUnary.tanh(x, 0, 0), -3, 3],
    ['clamp', (x) => ew.clamp(x, -0.5, 0.7), (x) => cpuUnary.clamp(x, -0.5, 0.7), -2, 2],
    ['add scalar', (x) => ew.add(x, 1.5), (x) => x + 1.5, -2, 2],
    ['sub scalar', (x) => ew.sub(x, 1.5), (x) => x - 1.5, -2, 2],
    ['rsub scalar', (x) => ew.rsub(1.5, x), (x) => 1.5 - x, -2, 2],
    ['mul scalar', (x) => ew.mul(x, -3), (x) => x * -3, -2, 2],
    ['div scalar', (x) => ew.div(x, 4), (x) => x / 4, -2, 2],
    ['rdiv scalar', (x) => ew.rdiv(2, x), (x) => 2 / x, 0.5, 2],
    ['pow scalar', (x) => ew.pow(x, 3), (x) => x ** 3, -2, 2],
    ['pow scalar frac', (x) => ew.pow(x, 0.5), (x) => x ** 0.5, 0.3, 2],
  ];
  for (const [name, g, c, lo, hi] of cases) {
    it(name, async () => {
      for (const [k, shape] of shapes.entries()) {
        const x = randomData(10 + k, shape, lo, hi);
        // keep finite differences away from kinks (relu, abs, clamp at their corners)
        x.data = Float64Array.from(x.data, (v) =>
          Math.abs(v) < 1e-2 || Math.abs(v + 0.5) < 1e-2 || Math.abs(v - 0.7) < 1e-2 ? v + 0.05 : v,
        );
        await checkOp({ name, inputs: [x], gpu: g, cpu: (a) => a.map(c), rtol: 2e-5, atol: 1e-5 });
      }
    });
  }
});

describe('binary ops with broadcasting', () => {
  const pairs = [
    [[5], [5]],
    [
      [3, 4],
      [3, 4],
    ],
    [[3, 4], [4]],
    [
      [3, 1],
      [1, 4],
    ],
    [
      [2, 3, 5],
      [3, 1],
    ],
    [[1], [2, 3]],
    [
      [4, 1, 3],
      [2, 1],
    ],
  ];
  for (const op of ['add', 'sub', 'mul', 'div', 'pow'] as const) {
    it(op, async () => {
      for (const [k, [sa, sb]] of pairs.entries()) {
        const a = randomData(100 + k, sa!, op === 'pow' ? 0.5 : -2, 2);
        const b = randomData(200 + k, sb!, op === 'div' ? 0.5 : -2, 2);
        if (op === 'div') b.data = Float64Array.from(b.data, (v) => (k % 2 ? -v : v));
        await checkOp({
          name: `${op} ${sa} ${sb}`,
          inputs: [a, b],
          gpu: (x, y) => (ew as any)[op](x, y),
          cpu: (x, y) => cpuBroadcast(cpuBinary[op], x, sa!, y, sb!).data,
          rtol: 2e-5,
          atol: 1e-5,
        });
      }
    });
  }

  it('pow follows PyTorch for negative bases and zero', async () => {
    const a = tensor([-2, -2, 0, 0, 0, 3]);
    const b = tensor([2, 3, 0, 2, -1, 0.5]);
    const y = Array.from(await ew.pow(a, b).data());
    expect(y.slice(0, 5)).toEqual([4, -8, 1, 0, Infinity]);
    expect(y[5]).toBeCloseTo(Math.sqrt(3), 5);
    expect(Number.isNaN((await ew.pow(tensor([-2]), 0.5).data())[0])).toBe(true);
  });

  it('rejects shapes that do not broadcast', () => {
    expect(() => ew.add(tensor([1, 2, 3]), tensor([1, 2]))).toThrow(/do not broadcast/);
  });
});

// The unary and binary kernels step values i, i + threads, ... (fewer invocations on a CPU adapter:
// src/gpu/groups.ts): a few invocations give the bits of one a value, on every path of the binary kernel.
describe('elementwise kernels: any number of invocations, the same bits', () => {
  const x = randomData(3, [3, 5, 7]);
  const y = randomData(4, [3, 5, 7]);
  const cases: [string, (a: Tensor, b: Tensor, c: Tensor, d: Tensor) => Tensor][] = [
    ['unary (exp)', (a) => ew.exp(a)],
    ['binary, same shapes (mul)', (a, b) => ew.mul(a, b)],
    ['binary, broadcast (sub of (3, 1, 7))', (a, _b, c) => ew.sub(a, c)],
    [
      'binary, broadcast past rank 4 (div of (2, 1, 3, 1, 5, 7))',
      (_a, _b, _c, d) => ew.div(d, tensor(x.data, [1, 1, 3, 5, 1, 7])),
    ],
  ];
  for (const [name, op] of cases) {
    it(name, async () => {
      const run = async (threads: number | null) => {
        useStrideThreads(threads);
        const a = tensor(x.data, x.shape);
        const b = tensor(y.data, y.shape);
        const c = tensor(Array.from(y.data).slice(0, 21), [3, 1, 7]);
        const d = tensor(randomData(5, [2, 1, 3, 1, 5, 7]).data, [2, 1, 3, 1, 5, 7]);
        try {
          const out = op(a, b, c, d);
          const data = (await out.data()) as Float32Array;
          out.dispose();
          return Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));
        } finally {
          useStrideThreads(null);
          for (const t of [a, b, c, d]) t.dispose();
        }
      };
      const want = await run(100_000); // one invocation a value
      for (const threads of [1, 7, 64, 100]) expect(await run(threads), `${threads} invocations`).toEqual(want);
    });
  }
});
