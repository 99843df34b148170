import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Linear, ReLU, Sequential, Sigmoid } from '../src/nn/index.js';
import { mul, relu, sigmoid } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { type Activation, cpuMatmul, linear, matmul, useMatmulKernel } from '../src/ops/matmul.js';
import { gpu } from '../src/gpu/index.js';
import { backward, Rng, requireGrad, type Tensor, tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

// Forward: f32 GPU against float64 within rtol 1e-4 / atol 1e-4 (sums of up to 200 products of values in
// [-1, 1]). Backward: against central differences (h = 1e-4) within rtol 1e-3 / atol 1e-4.
const RTOL = 1e-4;
const ATOL = 1e-4;

const FLAGS = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

/** The stored shape of an operand whose op() is (rows, cols). */
function stored(batch: number[], rows: number, cols: number, trans: boolean): number[] {
  return [...batch, ...(trans ? [cols, rows] : [rows, cols])];
}

/** Batch dims of a and b: equal, a 2-D (broadcast), b 2-D (broadcast). */
type Layout = [number[], number[]];

async function checkForward(m: number, k: number, n: number, layout: Layout, tA: boolean, tB: boolean, seed: number) {
  const aShape = stored(layout[0], m, k, tA);
  const bShape = stored(layout[1], k, n, tB);
  const rng = cpuRng(seed);
  const av = rng.uniform(aShape.reduce((p, d) => p * d, 1));
  const bv = rng.uniform(bShape.reduce((p, d) => p * d, 1));
  const a = tensor(av, aShape);
  const b = tensor(bv, bShape);
  const c = matmul(a, b, tA, tB);
  const want = cpuMatmul(Float32Array.from(av), aShape, Float32Array.from(bv), bShape, tA, tB);
  const name = `(${aShape}) @ (${bShape}) transA=${tA} transB=${tB}`;
  expect(c.shape, name).toEqual(want.shape);
  expectClose(await c.data(), want.data, RTOL, ATOL, name);
  for (const t of [a, b, c]) t.dispose();
}

describe('matmul CPU reference', () => {
  it('matches a product worked by hand, in all four transpose forms', () => {
    // [[1, 2, 3], [4, 5, 6]] @ [[7, 8], [9, 10], [11, 12]] = [[58, 64], [139, 154]]
    const a = [1, 2, 3, 4, 5, 6];
    const aT = [1, 4, 2, 5, 3, 6];
    const b = [7, 8, 9, 10, 11, 12];
    const bT = [7, 9, 11, 8, 10, 12];
    const want = [58, 64, 139, 154];
    expect(Array.from(cpuMatmul(a, [2, 3], b, [3, 2]).data)).toEqual(want);
    expect(Array.from(cpuMatmul(a, [2, 3], bT, [2, 3], false, true).data)).toEqual(want);
    expect(Array.from(cpuMatmul(aT, [3, 2], b, [3, 2], true, false).data)).toEqual(want);
    expect(Array.from(cpuMatmul(aT, [3, 2], bT, [2, 3], true, true).data)).toEqual(want);
  });
});

// Each of the kernels is held to the reference on every shape (vec4, forced, runs where its operands fit:
// K and N multiples of 4, no transpose, and regs elsewhere); the automatic choice is used by the backward
// tests below.
for (const kernel of ['tiled', 'regs', 'vec4', 'regs4', 'small', 'small4'] as const)
  describe(`matmul forward (${kernel} kernel)`, () => {
    beforeAll(() => useMatmulKernel(kernel));
    afterAll(() => useMatmulKernel(null));

    // (M, K, N): odd sizes, a single element, exact multiples of the 32 x 32 output tile and of the 16-deep
    // K slice, several tiles with ragged edges, a long K; for regs (64 x 128 tiles, 16 x 8 per thread, k 4
    // at a time) ragged edges past its tiles with K % 4 = 3.
    const sizes = [
      [1, 1, 1],
      [3, 5, 7],
      [17, 33, 9],
      [65, 3, 33],
      [1, 200, 3],
      [32, 16, 32],
      [64, 32, 64],
      [70, 45, 66],
      [128, 128, 128],
      [66, 7, 131],
      [70, 44, 68], // vec4: ragged rows, and a last column block of 4 past the 8 a thread owns
      [130, 8, 36],
    ];
    for (const [tA, tB] of FLAGS) {
      it(`2-D, transA=${tA} transB=${tB}`, async () => {
        for (const [i, [m, k, n]] of sizes.entries()) await checkForward(m!, k!, n!, [[], []], tA, tB, 100 + i);
      });
    }

    const layouts: [string, Layout][] = [
      ['equal batch (3)', [[3], [3]]],
      [
        'equal batch (2, 3)',
        [
          [2, 3],
          [2, 3],
        ],
      ],
      ['a 2-D, broadcast over b (3)', [[], [3]]],
      ['b 2-D, broadcast over a (2, 3)', [[2, 3], []]],
    ];
    for (const [what, layout] of layouts) {
      it(`batched: ${what}, all transposes`, async () => {
        for (const [j, [tA, tB]] of FLAGS.entries()) {
          await checkForward(17, 33, 9, layout, tA, tB, 200 + j);
          await checkForward(70, 45, 66, layout, tA, tB, 300 + j);
          await checkForward(33, 12, 20, layout, tA, tB, 400 + j); // K, N multiples of 4 (vec4 when not transposed)
        }
      });
    }

    it('K = 0 gives zeros; M = 0 an empty result', async () => {
      const a = tensor([], [3, 0]);
      const b = tensor([], [0, 4]);
      const c = matmul(a, b);
      expect(c.shape).toEqual([3, 4]);
      expect(Array.from(await c.data())).toEqual(new Array(12).fill(0));
      const z = tensor([], [0, 5]);
      const w = tensor(new Float32Array(10), [5, 2]);
      const e = matmul(z, w);
      expect(e.shape).toEqual([0, 2]);
      for (const t of [a, b, c, z, w, e]) t.dispose();
    });

    it('an empty batch gives an empty result, and a zero gradient to a broadcast operand', async () => {
      const x = requireGrad(tensor([], [0, 3, 4]));
      const w = requireGrad(tensor(new Float32Array(20).fill(1), [5, 4]));
      const y = matmul(x, w, false, true);
      expect(y.shape).toEqual([0, 3, 5]);
      backward(y, tensor([], [0, 3, 5]));
      expect(Array.from(await w.grad!.data())).toEqual(new Array(20).fill(0));
      for (const t of [x, w, y, w.grad!, x.grad!]) t.dispose();
    });
  });

// Which kernel runs: the vec4 path takes row-major operands with K and N multiples of 4 (on SwiftShader, the
// automatic choice; on a GPU the tiled kernel), and never a transposed operand or a ragged K or N.
describe('matmul vec4 path', () => {
  const entryOf = async (aShape: number[], bShape: number[], tA: boolean, tB: boolean, seed: number) => {
    const rng = cpuRng(seed);
    const av = rng.uniform(aShape.reduce((p, d) => p * d, 1));
    const bv = rng.uniform(bShape.reduce((p, d) => p * d, 1));
    const a = tensor(av, aShape);
    const b = tensor(bv, bShape);
    let c: Tensor | null = null;
    const trace = await gpu().trace(() => {
      c = matmul(a, b, tA, tB);
    });
    const want = cpuMatmul(Float32Array.from(av), aShape, Float32Array.from(bv), bShape, tA, tB);
    const name = `(${aShape}) @ (${bShape}) transA=${tA} transB=${tB}`;
    expectClose(await c!.data(), want.data, RTOL, ATOL, name);
    for (const t of [a, b, c!]) t.dispose();
    expect(trace.length, name).toBe(1);
    return trace[0]!.entry;
  };
  const fits = () => (gpu().adapter.fallback ? 'matmul_vec4' : 'matmul');
  const other = () => (gpu().adapter.fallback ? 'matmul_regs' : 'matmul');

  it('takes shapes with K and N multiples of 4 and row-major operands', async () => {
    expect(await entryOf([128, 64], [64, 256], false, false, 1)).toBe(fits());
    expect(await entryOf([3, 70, 44], [44, 132], false, false, 2)).toBe(fits()); // b shared by the batch
    expect(await entryOf([2, 130, 20], [2, 20, 200], false, false, 3)).toBe(fits());
  });

  it('leaves transposes and K or N off a multiple of 4 to the other kernels', async () => {
    expect(await entryOf([64, 128], [64, 256], true, false, 4)).toBe(other());
    expect(await entryOf([128, 64], [256, 64], false, true, 5)).toBe(other());
    expect(await entryOf([128, 66], [66, 256], false, false, 6)).toBe(other());
    expect(await entryOf([128, 64], [64, 258], false, false, 7)).toBe(other());
  });

  // Forced, the vec4 kernel runs each forward product below (its backward products are transposed: regs).
  describe('gradients through the vec4 forward', () => {
    beforeAll(() => useMatmulKernel('vec4'));
    afterAll(() => useMatmulKernel(null));
    const cases: [number, number, number, Layout][] = [
      [5, 8, 12, [[], []]],
      [19, 4, 20, [[], []]],
      [3, 12, 8, [[2], [2]]],
      [4, 8, 4, [[], [3]]],
    ];
    it('against central differences', async () => {
      for (const [i, [m, k, n, layout]] of cases.entries()) {
        const aShape = stored(layout[0], m, k, false);
        const bShape = stored(layout[1], k, n, false);
        await checkOp({
          name: `matmul vec4 (${aShape}) @ (${bShape})`,
          inputs: [randomData(50 + 2 * i, aShape), randomData(51 + 2 * i, bShape)],
          gpu: (a, b) => matmul(a, b),
          cpu: (a, b) => cpuMatmul(a, aShape, b, bShape).data,
          rtol: RTOL,
          atol: ATOL,
          seed: i,
        });
      }
    });
  });
});

describe('matmul small4 kernel', () => {
  afterAll(() => useMatmulKernel(null));
  // Its sums run in order of k, one fma at a time, as matmul_small's: the same bits, whichever transposes
  // and batch layout, and with linear()'s bias and activations (the population products of the Iris zoos
  // and of the enhanced VAE's function-space term: 64 networks of 4-5-3 on 100 rows).
  const products: [number[], number[], boolean, boolean][] = [
    [[64, 3, 100], [64, 100, 5], false, false],
    [[64, 100, 5], [100, 4], true, false],
    [[7, 1, 9], [7, 9, 13], false, false],
    [[2, 6, 3], [2, 3], false, true],
  ];
  // [x, w (out, in) or (G, out, in), bias]
  const layers: [number[], number[], number[]][] = [
    [
      [100, 4],
      [64, 5, 4],
      [64, 1, 5],
    ],
    [
      [64, 100, 5],
      [64, 3, 5],
      [64, 1, 3],
    ],
    [[9, 6], [3, 6], [3]],
  ];
  const values = (shape: number[], seed: number) =>
    tensor(
      cpuRng(seed).uniform(
        shape.reduce((p, d) => p * d, 1),
        -1,
        1,
      ),
      shape,
    );
  const withKernel = async (kernel: 'small' | 'small4' | null, f: () => Tensor) => {
    useMatmulKernel(kernel);
    let out: Tensor | null = null;
    const trace = await gpu().trace(() => {
      out = f();
    });
    const v = Array.from(await out!.data());
    out!.dispose();
    return { v, entries: trace.map((t) => t.entry) };
  };
  const expectSameBits = async (name: string, f: () => Tensor) => {
    const small = await withKernel('small', f);
    const small4 = await withKernel('small4', f);
    expect(small4.entries, name).toEqual(['matmul_small4']);
    expect(small4.v, name).toEqual(small.v);
    const auto = await withKernel(null, f);
    expect(auto.entries, name).toEqual([gpu().adapter.fallback ? 'matmul_small4' : 'matmul_small']);
  };

  it("gives matmul_small's products to the bit, and is the automatic choice for them on a CPU adapter", async () => {
    for (const [i, [aShape, bShape, tA, tB]] of products.entries()) {
      const a = values(aShape, 300 + i);
      const b = values(bShape, 310 + i);
      await expectSameBits(`(${aShape}) @ (${bShape}) transA=${tA} transB=${tB}`, () => matmul(a, b, tA, tB));
      a.dispose();
      b.dispose();
    }
  });

  it('and its layers with a bias and each activation', async () => {
    for (const [i, [xs, ws, bs]] of layers.entries()) {
      const [x, w, bias] = [values(xs, 320 + i), values(ws, 330 + i), values(bs, 340 + i)];
      for (const act of ['none', 'relu', 'sigmoid'] as const)
        await expectSameBits(`x (${xs}), w (${ws}), bias (${bs}), ${act}`, () => linear(x, w, bias, act));
      for (const t of [x, w, bias]) t.dispose();
    }
  });
});

describe('matmul register kernels', () => {
  afterAll(() => useMatmulKernel(null));
  // The automatic choice moves products between regs, vec4 and regs4 by shape (thin ones: regs4); they
  // must give the same bits, or a model's trajectory would depend on that choice.
  it('regs, vec4 and regs4 give the same bits; thin products (N <= 32) take regs4 on a CPU adapter', async () => {
    for (const [i, [m, k, n]] of [
      [256, 40, 26],
      [256, 300, 10],
      [70, 45, 30],
      [300, 44, 68],
    ].entries()) {
      const rng = cpuRng(400 + i);
      const a = tensor(rng.uniform(m! * k!, -1, 1), [m!, k!]);
      const b = tensor(rng.uniform(k! * n!, -1, 1), [k!, n!]);
      const bits: number[][] = [];
      for (const kernel of ['regs', 'vec4', 'regs4', null] as const) {
        useMatmulKernel(kernel);
        let c: Tensor | null = null;
        const trace = await gpu().trace(() => {
          c = matmul(a, b);
        });
        bits.push(Array.from(await c!.data()));
        c!.dispose();
        if (kernel === null && gpu().adapter.fallback) {
          expect(trace[0]!.entry, `(${m}, ${k}) @ (${k}, ${n})`).toBe(n! <= 32 ? 'matmul_regs4' : 'matmul_vec4');
        }
      }
      for (const other of bits.slice(1)) expect(other, `(${m}, ${k}) @ (${k}, ${n})`).toEqual(bits[0]);
      a.dispose();
      b.dispose();
    }
  });
});

describe('matmul backward', () => {
  // Small shapes (finite differences cost one CPU matmul per input element), still crossing 32-row
  // tiles (M = 65) and several 16-deep K slices (K = 33).
  const cases: [number, number, number, Layout][] = [
    [5, 7, 3, [[], []]],
    [65, 9, 17, [[], []]],
    [3, 33, 5, [[], []]],
    [5, 7, 3, [[3], [3]]],
    [4, 5, 6, [[], [3]]],
    [4, 5, 6, [[3], []]],
    [3, 4, 2, [[2, 3], []]],
    [3, 4, 2, [[], [2, 3]]],
  ];
  for (const [tA, tB] of FLAGS) {
    it(`transA=${tA} transB=${tB}`, async () => {
      for (const [i, [m, k, n, layout]] of cases.entries()) {
        const aShape = stored(layout[0], m, k, tA);
        const bShape = stored(layout[1], k, n, tB);
        await checkOp({
          name: `matmul (${aShape}) @ (${bShape}) transA=${tA} transB=${tB}`,
          inputs: [randomData(10 + 2 * i, aShape), randomData(11 + 2 * i, bShape)],
          gpu: (a, b) => matmul(a, b, tA, tB),
          cpu: (a, b) => cpuMatmul(a, aShape, b, bShape, tA, tB).data,
          rtol: RTOL,
          atol: ATOL,
          seed: i,
        });
      }
    });
  }

  it('one tensor as both operands (x^T x)', async () => {
    const shape = [6, 4];
    await checkOp({
      name: 'x^T x',
      inputs: [randomData(7, shape)],
      gpu: (x) => matmul(x, x, true, false),
      cpu: (x) => cpuMatmul(x, shape, x, shape, true, false).data,
      rtol: RTOL,
      atol: ATOL,
    });
  });
});

/** act(x @ w^T + bias) in float64; bias per batch entry when perEntry. */
function cpuLinear(
  x: Float64Array,
  xShape: number[],
  w: Float64Array,
  wShape: number[],
  bias: Float64Array | null,
  perEntry: boolean,
  act: Activation,
): number[] {
  const { data, shape } = cpuMatmul(x, xShape, w, wShape, false, true);
  const n = shape.at(-1)!;
  const m = shape.at(-2)!;
  return Array.from(data, (v, i) => {
    const col = i % n;
    const z = Math.floor(i / (m * n));
    const r = v + (bias ? bias[perEntry ? z * n + col : col]! : 0);
    return act === 'relu' ? Math.max(r, 0) : act === 'sigmoid' ? 1 / (1 + Math.exp(-r)) : r;
  });
}

// linear() fuses the bias and the activation into the matmul's store: every kernel, every activation,
// a bias shared by all rows and a bias per population member (GroupedLinear), forward and backward.
for (const kernel of ['tiled', 'regs', 'regs4', 'small', 'small4'] as const)
  describe(`linear, fused bias and activation (${kernel} kernel)`, () => {
    beforeAll(() => useMatmulKernel(kernel));
    afterAll(() => useMatmulKernel(null));
    // [x shape, w shape, bias shape (null: none)]
    const cases: [number[], number[], number[] | null][] = [
      [[5, 7], [9, 7], [9]],
      [[2, 3, 4], [6, 4], [6]],
      [
        [3, 5, 4],
        [3, 6, 4],
        [3, 1, 6],
      ],
      [
        [5, 4],
        [3, 6, 4],
        [3, 1, 6],
      ],
      [[4, 3], [5, 3], null],
    ];
    for (const act of ['none', 'relu', 'sigmoid'] as const) {
      it(act, async () => {
        for (const [i, [xs, ws, bs]] of cases.entries()) {
          const perEntry = bs !== null && bs.length > 1;
          const inputs = [randomData(90 + i, xs), randomData(100 + i, ws), ...(bs ? [randomData(110 + i, bs)] : [])];
          if (act === 'relu') {
            // finite differences across ReLU's kink would be wrong: keep every pre-activation clear of 0
            const f64 = inputs.map((t) => Float64Array.from(Float32Array.from(t.data)));
            const pre = cpuLinear(f64[0]!, xs, f64[1]!, ws, f64[2] ?? null, perEntry, 'none');
            expect(Math.min(...pre.map(Math.abs)), 'distance of a pre-activation from 0').toBeGreaterThan(1e-2);
          }
          await checkOp({
            name: `linear ${act} x (${xs}) w (${ws}) bias (${bs})`,
            inputs,
            gpu: (x, w, b) => linear(x!, w!, b ?? null, act),
            cpu: (x, w, b) => cpuLinear(x!, xs, w!, ws, b ?? null, perEntry, act),
            rtol: RTOL,
            atol: ATOL,
            seed: i,
          });
        }
      });
    }
  });

describe('linear layers', () => {
  it('Sequential fuses Linear + ReLU and Linear + Sigmoid with the same values and gradients', async () => {
    const net = new Sequential(
      new Linear(5, 7, { rng: new Rng(1) }),
      new ReLU(),
      new Linear(7, 3, { rng: new Rng(2) }),
      new Sigmoid(),
    );
    const [l0, , l1] = net.layers as [Linear, ReLU, Linear];
    const x = tensor(
      Float32Array.from({ length: 4 * 5 }, (_, i) => Math.sin(i)),
      [4, 5],
    );
    // the loss sum(y * c) with fixed weights c, so that every output and every gradient is distinct
    const c = tensor(
      Float32Array.from({ length: 4 * 3 }, (_, i) => Math.cos(i)),
      [4, 3],
    );
    const run = async (f: () => Tensor) => {
      for (const p of net.parameters()) {
        p.grad?.dispose();
        p.grad = null;
      }
      const y = f();
      const loss = sum(mul(y, c));
      backward(loss);
      const out = [await y.data(), ...(await Promise.all(net.parameters().map((p) => p.grad!.data())))];
      y.dispose();
      loss.dispose();
      return out;
    };
    const fused = await run(() => net.forward(x));
    const apart = await run(() => sigmoid(l1.forward(relu(l0.forward(x)))));
    for (const [i, f] of fused.entries()) expectClose(f, apart[i]!, 0, 0, `output / gradient ${i}`);
    x.dispose();
    c.dispose();
  });

  it('a bias of the wrong shape names the shapes', () => {
    const x = tensor(new Float32Array(6), [2, 3]);
    const w = tensor(new Float32Array(12), [4, 3]);
    const b = tensor(new Float32Array(3), [3]);
    expect(() => linear(x, w, b)).toThrow(/bias \(3\); expected \(4\) or \(1, 4\)/);
    for (const t of [x, w, b]) t.dispose();
  });
});

describe('matmul errors', () => {
  it('names both shapes when they do not fit', () => {
    const a = tensor(new Float32Array(12), [3, 4]);
    const b = tensor(new Float32Array(30), [5, 6]);
    expect(() => matmul(a, b)).toThrow(/\(3, 4\) and \(5, 6\): inner dims differ \(op\(a\) is 3x4, op\(b\) is 5x6\)/);
    expect(() => matmul(a, b, true, false)).toThrow(/inner dims differ/);
    const v = tensor(new Float32Array(4), [4]);
    expect(() => matmul(a, v)).toThrow(/at least 2 dims; reshape a vector/);
    const x = tensor(new Float32Array(24), [2, 3, 4]);
    const y = tensor(new Float32Array(60), [3, 4, 5]);
    expect(() => matmul(x, y)).toThrow(/batch dims \(2\) and \(3\) differ/);
    const i = tensor(new Int32Array(20), [4, 5]);
    expect(() => matmul(a, i)).toThrow(/expects f32/);
    expect(() => cpuMatmul([], [2, 3], [], [2, 3])).toThrow(/inner dims differ/);
    for (const t of [a, b, v, x, y, i]) t.dispose();
  });
});
