import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Conv2dOptions,
  conv2d,
  conv2dGrouped,
  convGeometry,
  cpuConv2d,
  cpuConv2dBackwardBias,
  cpuConv2dBackwardInput,
  cpuConv2dBackwardWeight,
  convOutputSize,
  type Padding,
  useConvTuning,
} from '../src/ops/conv.js';
import { backward, requireGrad, scope, type Tensor, tensor } from '../src/tensor/index.js';
import fx from './fixtures/conv_torch.json';
import { checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

// Tolerances. Forward: f32 GPU against float64 within rtol 1e-4 / atol 1e-5 (sums of at most 75 products
// of values in [-1, 1]). Backward: against central differences of the float64 reference (h = 1e-4) within
// rtol 1e-3 / atol 1e-4, and against the float64 backward references within rtol 1e-4 / atol 1e-5.
// PyTorch parity: rtol 1e-4 / atol 1e-5 (both sides f32, summed in different orders).
// Grouped against looped single convolutions: identical (the same kernels sum in the same order).

interface Case {
  x: number[]; // (N, H, W, Cin)
  w: number[]; // (KH, KW, Cin, Cout)
  stride: number | [number, number];
  padding: Padding;
  bias: boolean;
}

const cases: Case[] = [
  { x: [2, 5, 5, 1], w: [1, 1, 1, 2], stride: 1, padding: 'VALID', bias: true },
  { x: [2, 5, 5, 2], w: [3, 3, 2, 3], stride: 1, padding: 'SAME', bias: true },
  { x: [2, 6, 5, 3], w: [3, 3, 3, 2], stride: 1, padding: 'VALID', bias: false },
  { x: [2, 7, 7, 1], w: [5, 5, 1, 4], stride: 1, padding: 'SAME', bias: true },
  { x: [2, 7, 6, 2], w: [5, 5, 2, 3], stride: 2, padding: 'SAME', bias: true },
  { x: [2, 7, 7, 3], w: [3, 3, 3, 2], stride: 2, padding: 'VALID', bias: true },
  { x: [2, 6, 7, 2], w: [2, 3, 2, 4], stride: [2, 1], padding: 'SAME', bias: false },
  { x: [1, 5, 6, 3], w: [2, 3, 3, 2], stride: [1, 2], padding: 'VALID', bias: true },
  { x: [2, 6, 6, 2], w: [2, 2, 2, 3], stride: 2, padding: 'SAME', bias: true }, // even kernel, no padding needed
];

function describeCase(c: Case): string {
  return `x ${c.x} w ${c.w} stride ${c.stride} ${c.padding}${c.bias ? ' +b' : ''}`;
}

/** The geometry of a single convolution, as a grouped one with G = 1. */
function geometry(c: Case) {
  return convGeometry([1, ...c.x], [1, ...c.w], { stride: c.stride, padding: c.padding });
}

describe('conv2d', () => {
  it('output sizes and padding follow TensorFlow', () => {
    expect(convOutputSize(28, 5, 1, 'SAME')).toEqual({ out: 28, before: 2 });
    expect(convOutputSize(14, 5, 1, 'SAME')).toEqual({ out: 14, before: 2 });
    expect(convOutputSize(5, 2, 2, 'SAME')).toEqual({ out: 3, before: 0 }); // pad_total 1, all at the bottom
    expect(convOutputSize(6, 5, 2, 'SAME')).toEqual({ out: 3, before: 1 }); // pad_total 3: 1 before, 2 after
    expect(convOutputSize(7, 3, 2, 'VALID')).toEqual({ out: 3, before: 0 });
    expect(convOutputSize(6, 2, 2, 'VALID')).toEqual({ out: 3, before: 0 });
    expect(convOutputSize(4, 5, 1, 'VALID').out).toBe(0);
  });

  it('forward against the CPU reference, backward against finite differences', async () => {
    for (const [k, c] of cases.entries()) {
      const g = geometry(c);
      const inputs = [randomData(10 * k + 1, c.x), randomData(10 * k + 2, c.w)];
      if (c.bias) inputs.push(randomData(10 * k + 3, [c.w[3]!]));
      const opts = { stride: c.stride, padding: c.padding };
      await checkOp({
        name: `conv2d ${describeCase(c)}`,
        inputs,
        gpu: (x, w, b) => conv2d(x!, w!, b ?? null, opts),
        cpu: (x, w, b) => cpuConv2d(x!, w!, b ?? null, g),
        rtol: 1e-4,
        atol: 1e-5,
      });
    }
  });

  /** Every case's gradients against the float64 references, under the kernel settings in force. */
  async function checkBackward(tag: string) {
    for (const [k, c] of cases.entries()) {
      const g = geometry(c);
      const rng = cpuRng(100 + k);
      const x = Float64Array.from(
        Float32Array.from(
          rng.uniform(
            c.x.reduce((p, d) => p * d),
            -1,
            1,
          ),
        ),
      );
      const w = Float64Array.from(
        Float32Array.from(
          rng.uniform(
            c.w.reduce((p, d) => p * d),
            -1,
            1,
          ),
        ),
      );
      const b = Float64Array.from(Float32Array.from(rng.uniform(c.w[3]!, -1, 1)));
      const dy = Float64Array.from(Float32Array.from(rng.uniform(g.n * g.outH * g.outW * g.cOut, -1, 1)));
      const got = scope(() => {
        const xt = requireGrad(tensor(x, c.x));
        const wt = requireGrad(tensor(w, c.w));
        const bt = requireGrad(tensor(b, [g.cOut]));
        const y = conv2d(xt, wt, bt, { stride: c.stride, padding: c.padding });
        backward(y, tensor(dy, y.shape));
        return [xt.grad!.keep(), wt.grad!.keep(), bt.grad!.keep()];
      });
      const [dx, dw, db] = await Promise.all(got.map((t) => t.data()));
      for (const t of got) t.dispose();
      const name = `${describeCase(c)} (${tag})`;
      expectClose(dx!, cpuConv2dBackwardInput(dy, w, g), 1e-4, 1e-5, `${name} dx`);
      expectClose(dw!, cpuConv2dBackwardWeight(x, dy, g), 1e-4, 1e-5, `${name} dw`);
      expectClose(db!, cpuConv2dBackwardBias(dy, g), 1e-4, 1e-5, `${name} db`);
    }
  }

  it('backward kernels against the float64 backward references', () => checkBackward('adapter'));

  it('the same under the settings of the other kind of adapter (many short threads, or few long ones)', async () => {
    for (const t of [
      { pixelsPerThread: 1, dwGroups: 1 },
      { pixelsPerThread: 16, dwGroups: 4096 },
    ]) {
      useConvTuning(t);
      try {
        await checkBackward(JSON.stringify(t));
      } finally {
        useConvTuning(null);
      }
    }
  });

  it('a K longer than one workgroup step and more than one output tile', async () => {
    // K = 3*3*9 = 81 (three rounds of the 4 slices), 2*9*9 = 162 output rows (3 row tiles), 18 columns (2 tiles)
    const c: Case = { x: [2, 9, 9, 9], w: [3, 3, 9, 18], stride: 1, padding: 'SAME', bias: true };
    const g = geometry(c);
    const x = randomData(7, c.x);
    const w = randomData(8, c.w);
    const b = randomData(9, [18]);
    const rng = cpuRng(10);
    const dy = Float64Array.from(Float32Array.from(rng.uniform(g.n * g.outH * g.outW * g.cOut)));
    const got = scope(() => {
      const xt = requireGrad(tensor(x.data, c.x));
      const wt = requireGrad(tensor(w.data, c.w));
      const bt = requireGrad(tensor(b.data, [18]));
      const y = conv2d(xt, wt, bt, { padding: 'SAME' });
      backward(y, tensor(dy, y.shape));
      return [y.keep(), xt.grad!.keep(), wt.grad!.keep(), bt.grad!.keep()];
    });
    const [y, dx, dw, db] = await Promise.all(got.map((t) => t.data()));
    for (const t of got) t.dispose();
    const [x64, w64, b64] = [x, w, b].map((t) => Float64Array.from(Float32Array.from(t.data)));
    expectClose(y!, cpuConv2d(x64!, w64!, b64!, g), 1e-4, 1e-5, 'y');
    expectClose(dx!, cpuConv2dBackwardInput(dy, w64!, g), 1e-4, 1e-5, 'dx');
    expectClose(dw!, cpuConv2dBackwardWeight(x64!, dy, g), 1e-4, 1e-5, 'dw');
    expectClose(db!, cpuConv2dBackwardBias(dy, g), 1e-4, 1e-5, 'db');
  });

  it('only the gradients asked for are computed', async () => {
    const x = tensor(randomData(1, [1, 4, 4, 2]).data, [1, 4, 4, 2]);
    const w = requireGrad(tensor(randomData(2, [3, 3, 2, 2]).data, [3, 3, 2, 2]));
    const y = conv2d(x, w, null, { padding: 'SAME' });
    backward(y, tensor(new Float32Array(y.size).fill(1), y.shape));
    expect(x.grad).toBeNull();
    expect(w.grad?.shape).toEqual([3, 3, 2, 2]);
    for (const t of [x, w, w.grad!, y]) t.dispose();
  });

  it('errors name the shapes', () => {
    const x = tensor(new Float32Array(2 * 5 * 5 * 3), [2, 5, 5, 3]);
    const w = tensor(new Float32Array(3 * 3 * 2 * 4), [3, 3, 2, 4]);
    expect(() => conv2d(x, w, null, { padding: 'SAME' })).toThrow(
      /conv2d of x \(2, 5, 5, 3\) with w \(3, 3, 2, 4\): x has 3 input channels but w expects 2/,
    );
    const w2 = tensor(new Float32Array(3 * 3 * 3 * 4), [3, 3, 3, 4]);
    expect(() => conv2d(x, w2, null, { padding: 'same' as Padding })).toThrow(/padding must be 'SAME' or 'VALID'/);
    const b = tensor(new Float32Array(3), [3]);
    expect(() => conv2d(x, w2, b, { padding: 'SAME' })).toThrow(/bias \(3\) must be \(4\)/);
    expect(() => conv2d(x, w2, null, { padding: 'SAME', stride: 0 })).toThrow(/stride must be a positive integer/);
    const big = tensor(new Float32Array(7 * 7 * 3 * 4), [7, 7, 3, 4]);
    expect(() => conv2d(x, big, null, { padding: 'VALID' })).toThrow(/empty output/);
    for (const t of [x, w, w2, b, big]) t.dispose();
  });
});

describe('conv2dGrouped', () => {
  it('equals G separate conv2d calls, values and gradients', async () => {
    const G = 3;
    for (const c of [cases[4]!, cases[6]!]) {
      const opts: Conv2dOptions = { stride: c.stride, padding: c.padding };
      const cout = c.w[3]!;
      const xs = randomData(21, [G, ...c.x]);
      const ws = randomData(22, [G, ...c.w]);
      const bs = randomData(23, [G, cout]);
      const g = convGeometry([G, ...c.x], [G, ...c.w], opts);
      const dys = cpuRng(24).uniform(G * g.n * g.outH * g.outW * cout);
      const per = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
      const slice = (d: ArrayLike<number>, i: number, n: number) => Array.from(d).slice(i * n, (i + 1) * n);

      const grouped = scope(() => {
        const x = requireGrad(tensor(xs.data, xs.shape));
        const w = requireGrad(tensor(ws.data, ws.shape));
        const b = requireGrad(tensor(bs.data, bs.shape));
        const y = conv2dGrouped(x, w, b, opts);
        backward(y, tensor(dys, y.shape));
        return [y, x.grad!, w.grad!, b.grad!].map((t) => t.keep());
      });
      const looped: Tensor[][] = [];
      for (let i = 0; i < G; i++) {
        looped.push(
          scope(() => {
            const x = requireGrad(tensor(slice(xs.data, i, per(c.x)), c.x));
            const w = requireGrad(tensor(slice(ws.data, i, per(c.w)), c.w));
            const b = requireGrad(tensor(slice(bs.data, i, cout), [cout]));
            const y = conv2d(x, w, b, opts);
            backward(y, tensor(slice(dys, i, g.n * g.outH * g.outW * cout), y.shape));
            return [y, x.grad!, w.grad!, b.grad!].map((t) => t.keep());
          }),
        );
      }
      expect(grouped[0]!.shape).toEqual([G, g.n, g.outH, g.outW, cout]);
      for (const [k, what] of ['y', 'dx', 'dw', 'db'].entries()) {
        const all = await grouped[k]!.data();
        const parts = await Promise.all(looped.map((l) => l[k]!.data()));
        const joined = parts.flatMap((p) => Array.from(p));
        expect(Array.from(all), `${describeCase(c)} grouped ${what}`).toEqual(joined);
      }
      for (const t of [...grouped, ...looped.flat()]) t.dispose();
    }
  });

  it('forward and finite-difference backward, G = 2', async () => {
    const opts: Conv2dOptions = { stride: 2, padding: 'SAME' };
    const xShape = [2, 2, 5, 5, 2];
    const wShape = [2, 3, 3, 2, 3];
    const g = convGeometry(xShape, wShape, opts);
    await checkOp({
      name: 'conv2dGrouped G=2 3x3 s2 SAME',
      inputs: [randomData(31, xShape), randomData(32, wShape), randomData(33, [2, 3])],
      gpu: (x, w, b) => conv2dGrouped(x!, w!, b!, opts),
      cpu: (x, w, b) => cpuConv2d(x!, w!, b!, g),
      rtol: 1e-4,
      atol: 1e-5,
    });
  });

  it('checks the group counts', () => {
    const x = tensor(new Float32Array(2 * 1 * 4 * 4 * 1), [2, 1, 4, 4, 1]);
    const w = tensor(new Float32Array(3 * 3 * 3 * 1 * 2), [3, 3, 3, 1, 2]);
    const b = tensor(new Float32Array(4), [2, 2]);
    expect(() => conv2dGrouped(x, w, null, { padding: 'SAME' })).toThrow(/x has 2 groups but w has 3/);
    const w2 = tensor(new Float32Array(2 * 3 * 3 * 1 * 3), [2, 3, 3, 1, 3]);
    expect(() => conv2dGrouped(x, w2, b, { padding: 'SAME' })).toThrow(/bias \(2, 2\) must be \(2, 3\)/);
    for (const t of [x, w, b, w2]) t.dispose();
  });
});

describe('conv2d PyTorch 1.13 parity', () => {
  for (const c of fx.conv) {
    it(c.name, async () => {
      const opts: Conv2dOptions = { stride: c.stride as [number, number], padding: c.padding as Padding };
      const got = scope(() => {
        const x = requireGrad(tensor(c.x, c.x_shape));
        const w = requireGrad(tensor(c.w, c.w_shape));
        const b = c.b ? requireGrad(tensor(c.b, [c.w_shape[3]!])) : null;
        const y = conv2d(x, w, b, opts);
        backward(y, tensor(c.dy, y.shape));
        return [y, x.grad!, w.grad!, ...(b ? [b.grad!] : [])].map((t) => t.keep());
      });
      expect(got[0]!.shape).toEqual(c.y_shape);
      const [y, dx, dw, db] = await Promise.all(got.map((t) => t.data()));
      for (const t of got) t.dispose();
      expectClose(y!, c.y, 1e-4, 1e-5, `${c.name} y`);
      expectClose(dx!, c.dx, 1e-4, 1e-5, `${c.name} dx`);
      expectClose(dw!, c.dw, 1e-4, 1e-5, `${c.name} dw`);
      if (c.db) expectClose(db!, c.db, 1e-4, 1e-5, `${c.name} db`);
    });
  }
});
