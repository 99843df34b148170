import { beforeAll, describe, expect, it } from 'vitest';
import { cpuCrossEntropy, cpuMse, crossEntropy, mse } from '../src/ops/loss.js';
import { cpuLogSoftmax, cpuSoftmax, logSoftmax, softmax } from '../src/ops/softmax.js';
import { backward, requireGrad, scope, type Tensor, tensor } from '../src/tensor/index.js';
import { type CheckInput, checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

// Forward: f32 GPU against float64 within rtol 2e-5 / atol 2e-5 (exp and log on the GPU are a few ulp off).
// Backward: against central differences (h = 1e-4) of the float64 reference within rtol 1e-3 / atol 1e-4.
const FWD = { rtol: 2e-5, atol: 2e-5 };

/** Random values in [lo, hi), plus `shift` on every value. */
function values(seed: number, shape: number[], lo: number, hi: number, shift = 0): CheckInput {
  const x = randomData(seed, shape, lo, hi);
  return { ...x, data: Float64Array.from(x.data, (v) => v + shift) };
}

function labelsFor(seed: number, n: number, c: number): CheckInput {
  const rng = cpuRng(seed);
  return { data: Array.from({ length: n }, () => rng.int(0, c)), shape: [n], dtype: 'i32' };
}

describe('softmax and logSoftmax (last axis)', () => {
  const shapes = [[1, 1], [4], [3, 7], [5, 10], [2, 3, 5]];
  // [name, range, shift]: ±80 spreads a row over e^160; a shift of ±1000 overflows exp without the max.
  const ranges: [string, number, number, number][] = [
    ['moderate', -3, 3, 0],
    ['±80', -80, 80, 0],
    ['+1000', -5, 5, 1000],
    ['-1000', -5, 5, -1000],
  ];
  const ops = [
    ['softmax', softmax, cpuSoftmax],
    ['logSoftmax', logSoftmax, cpuLogSoftmax],
  ] as const;
  for (const [name, gpuOp, cpuOp] of ops) {
    for (const [label, lo, hi, shift] of ranges) {
      it(`${name}, ${label} values`, async () => {
        for (const [k, shape] of shapes.entries()) {
          const cols = shape[shape.length - 1]!;
          await checkOp({
            name: `${name} ${label} (${shape})`,
            inputs: [values(20 + k, shape, lo, hi, shift)],
            gpu: (x) => gpuOp(x),
            cpu: (x) => cpuOp(x, cols),
            ...FWD,
          });
        }
      });
    }
  }

  it('softmax rows sum to one; logSoftmax is its log', async () => {
    const x = tensor(values(3, [6, 9], -10, 10).data, [6, 9]);
    const p = Array.from(await softmax(x).data());
    const lp = Array.from(await logSoftmax(x).data());
    for (let r = 0; r < 6; r++) expect(p.slice(9 * r, 9 * r + 9).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expectClose(lp.map(Math.exp), p, 1e-5, 1e-7, 'exp(logSoftmax) vs softmax');
  });

  it('spreads many rows over workgroups in x and y', async () => {
    // 65,535 workgroups of 64 threads hold 4,194,240 rows: one more workgroup row needs the y dimension.
    const rows = 65535 * 64 + 200;
    const cols = 2;
    const rng = cpuRng(5);
    const xs = new Float32Array(rows * cols);
    const dys = new Float32Array(rows * cols);
    for (let i = 0; i < rows * cols; i++) {
      xs[i] = -4 + 8 * rng.next();
      dys[i] = -1 + 2 * rng.next();
    }
    const { y, dx } = scope(() => {
      const x = requireGrad(tensor(xs, [rows, cols]));
      const out = softmax(x);
      backward(out, tensor(dys, [rows, cols]));
      return { y: out.detach().keep(), dx: x.grad!.keep() };
    });
    // two columns: softmax = (1 / (1 + e^(x1 - x0)), 1 / (1 + e^(x0 - x1)))
    const want = new Float64Array(rows * cols);
    const wantDx = new Float64Array(rows * cols);
    for (let i = 0; i < rows * cols; i += 2) {
      want[i] = 1 / (1 + Math.exp(xs[i + 1]! - xs[i]!));
      want[i + 1] = 1 / (1 + Math.exp(xs[i]! - xs[i + 1]!));
      const d = dys[i]! * want[i]! + dys[i + 1]! * want[i + 1]!;
      wantDx[i] = want[i]! * (dys[i]! - d);
      wantDx[i + 1] = want[i + 1]! * (dys[i + 1]! - d);
    }
    expectClose(await y.data(), want, 1e-5, 1e-6, 'softmax forward, many rows');
    expectClose(await dx.data(), wantDx, 1e-4, 1e-6, 'softmax backward, many rows');
    y.dispose();
    dx.dispose();
  });

  it('rejects other axes, scalars and i32 with a clear message', () => {
    const x = tensor(new Float32Array(12), [3, 4]);
    expect(() => softmax(x, 0)).toThrow(/only the last axis is supported, got axis 0 of \(3, 4\); permute/);
    expect(() => logSoftmax(x, -2)).toThrow(/only the last axis is supported/);
    expect(() => softmax(x, 2)).toThrow(/axis 2 is out of range for \(3, 4\)/);
    expect(softmax(x, 1).shape).toEqual([3, 4]);
    expect(() => softmax(tensor([1], []))).toThrow(/at least one axis/);
    expect(() => softmax(tensor(new Int32Array([1, 2]), [2]))).toThrow(/expects an f32 tensor, got i32/);
  });
});

describe('crossEntropy (fused)', () => {
  const shapes: [number, number][] = [
    [1, 3],
    [7, 10],
    [33, 5],
  ];
  for (const reduction of ['mean', 'sum'] as const) {
    it(`${reduction} over rows, against the reference and finite differences`, async () => {
      for (const [k, [n, c]] of shapes.entries()) {
        for (const [lo, hi, shift] of [
          [-3, 3, 0],
          [-80, 80, 0],
          [-5, 5, 1000],
        ] as const) {
          // checkOp weighs the output by a random w: dy = w (not 1) must scale the gradient.
          await checkOp({
            name: `crossEntropy ${reduction} (${n}, ${c}) [${lo + shift}, ${hi + shift})`,
            inputs: [values(40 + k, [n, c], lo, hi, shift), labelsFor(50 + k, n, c)],
            gpu: (x, l) => crossEntropy(x, l, reduction),
            cpu: (x, l) => [cpuCrossEntropy(x, l, c, reduction)],
            ...FWD,
          });
        }
      }
    });
  }

  it('matches a hand computation, and dy scales the gradient', async () => {
    // Uniform logits: loss = log C, dlogits = (1/C - onehot) / N (mean) times dy.
    const run = (dy: number, reduction: 'mean' | 'sum') =>
      scope(() => {
        const x = requireGrad(tensor(new Float32Array(8), [2, 4]));
        const loss = crossEntropy(x, tensor(new Int32Array([1, 3])), reduction);
        backward(loss, tensor([dy], []));
        return { loss: loss.detach().keep(), dx: x.grad!.keep() };
      });
    const a = run(1, 'mean');
    const b = run(-2.5, 'sum');
    expect(await a.loss.item()).toBeCloseTo(Math.log(4), 6);
    expect(await b.loss.item()).toBeCloseTo(2 * Math.log(4), 6);
    const onehot = [0, 1, 0, 0, 0, 0, 0, 1];
    expectClose(
      await a.dx.data(),
      onehot.map((h) => (0.25 - h) / 2),
      1e-6,
      1e-7,
      'mean, dy = 1',
    );
    expectClose(
      await b.dx.data(),
      onehot.map((h) => (0.25 - h) * -2.5),
      1e-6,
      1e-7,
      'sum, dy = -2.5',
    );
    for (const t of [a.loss, a.dx, b.loss, b.dx]) t.dispose();
  });

  it('gives NaN for a label outside [0, C), and NaN gradients for that row only', async () => {
    const logits = [0.1, 0.2, 0.3, 1, 2, 3, -1, 0, 1];
    expect(cpuCrossEntropy(logits, [0, 3, -1], 3)).toBeNaN();
    const { loss, dx } = scope(() => {
      const x = requireGrad(tensor(logits, [3, 3]));
      const l = crossEntropy(x, tensor(new Int32Array([0, 3, 2])), 'sum');
      backward(l);
      return { loss: l.detach().keep(), dx: x.grad!.keep() };
    });
    expect(await loss.item()).toBeNaN();
    const g = Array.from(await dx.data());
    expect(g.slice(0, 3).every(Number.isFinite)).toBe(true);
    expect(g.slice(3, 6).every(Number.isNaN)).toBe(true);
    expect(g.slice(6, 9).every(Number.isFinite)).toBe(true);
    const neg = crossEntropy(tensor(logits, [3, 3]), tensor(new Int32Array([-1, 0, 0])));
    expect(await neg.item()).toBeNaN();
    for (const t of [loss, dx, neg]) t.dispose();
  });

  it('rejects wrong label dtype or shape, and wrong logits, with a clear message', () => {
    const x = tensor(new Float32Array(12), [4, 3]);
    const bad: [Tensor, Tensor, RegExp][] = [
      [x, tensor([0, 1, 2, 0], [4]), /labels must be i32 of shape \(4\).*got f32 \(4\)/],
      [x, tensor(new Int32Array([0, 1, 2])), /labels must be i32 of shape \(4\).*got i32 \(3\)/],
      [x, tensor(new Int32Array(4), [4, 1]), /labels must be i32 of shape \(4\).*got i32 \(4, 1\)/],
      [
        tensor(new Float32Array(12), [12]),
        tensor(new Int32Array(12)),
        /logits must be f32 of shape \(N, C\), got f32 \(12\)/,
      ],
      [tensor(new Int32Array(12), [4, 3]), tensor(new Int32Array(4)), /logits must be f32 of shape \(N, C\), got i32/],
    ];
    for (const [logits, labels, msg] of bad) expect(() => crossEntropy(logits, labels)).toThrow(msg);
    expect(() => crossEntropy(x, tensor(new Int32Array(4)), 'none' as any)).toThrow(
      /reduction must be 'mean' or 'sum'/,
    );
  });
});

describe('mse', () => {
  const shapes = [[], [1], [3, 4], [2, 3, 5]];
  for (const reduction of ['mean', 'sum'] as const) {
    it(reduction, async () => {
      for (const [k, shape] of shapes.entries()) {
        await checkOp({
          name: `mse ${reduction} (${shape})`,
          inputs: [randomData(60 + k, shape, -2, 2), randomData(70 + k, shape, -2, 2)],
          gpu: (a, b) => mse(a, b, reduction),
          cpu: (a, b) => [cpuMse(a, b, reduction)],
          ...FWD,
        });
      }
    });
  }

  it('rejects shapes that differ, even when they broadcast', () => {
    expect(() => mse(tensor(new Float32Array(12), [3, 4]), tensor(new Float32Array(4), [4]))).toThrow(
      /mse: shapes \(3, 4\) and \(4\) differ; they must match exactly/,
    );
  });
});
