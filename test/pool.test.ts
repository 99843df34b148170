import { beforeAll, describe, expect, it } from 'vitest';
import type { Padding } from '../src/ops/conv.js';
import {
  avgPool2d,
  cpuAvgPool2d,
  cpuAvgPool2dBackward,
  cpuMaxPool2d,
  cpuMaxPool2dBackward,
  maxPool2d,
  type Pool2dOptions,
  poolGeometry,
  poolWindowsTile,
  usePoolRun,
} from '../src/ops/pool.js';
import { backward, requireGrad, scope, tensor } from '../src/tensor/index.js';
import fx from './fixtures/conv_torch.json';
import { checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

// Tolerances. Forward: exact for max (a copy), rtol 1e-6 / atol 1e-6 for the average; backward against
// central differences (h = 1e-4) within rtol 1e-3 / atol 1e-4, and against the float64 backward
// references within 1e-6. PyTorch parity: 1e-6 (max) and rtol 1e-5 / atol 1e-6 (average).

const cases: { shape: number[]; opts: Pool2dOptions }[] = [
  { shape: [2, 5, 5, 2], opts: { size: 2, stride: 2, padding: 'SAME' } },
  { shape: [2, 5, 5, 2], opts: { size: 2, stride: 2, padding: 'VALID' } },
  { shape: [1, 7, 6, 3], opts: { size: 2, stride: 2, padding: 'SAME' } },
  { shape: [1, 7, 6, 3], opts: { size: 2, stride: 2, padding: 'VALID' } },
  { shape: [1, 7, 6, 2], opts: { size: 3, stride: 2, padding: 'SAME' } }, // overlapping windows
  { shape: [1, 6, 5, 2], opts: { size: [2, 3], stride: 1, padding: 'SAME' } },
  { shape: [2, 3, 5, 5, 1], opts: { padding: 'SAME' } }, // (G, N, H, W, C): leading dims fold into N
  // windows that tile the input exactly: the tiled kernels (the window size a pipeline constant)
  { shape: [2, 6, 4, 3], opts: { size: 2, stride: 2, padding: 'SAME' } },
  { shape: [1, 9, 6, 2], opts: { size: 3, padding: 'VALID' } },
  { shape: [1, 4, 9, 2], opts: { size: [2, 3], padding: 'SAME' } },
  { shape: [2, 2, 4, 6, 1], opts: { padding: 'VALID' } },
];
const TILED = 4; // the last cases

function label(c: (typeof cases)[number]): string {
  return `${c.shape} size ${c.opts.size ?? 2} stride ${c.opts.stride ?? 'size'} ${c.opts.padding}`;
}

/** Distinct values in [-1, 1): no ties, so no finite-difference step moves an argmax. */
function distinct(seed: number, shape: number[]) {
  const n = shape.reduce((p, d) => p * d, 1);
  const rng = cpuRng(seed);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return { data: perm.map((v) => (2 * v) / n - 1), shape };
}

describe('maxPool2d', () => {
  it('forward against the CPU reference, backward against finite differences', async () => {
    for (const [k, c] of cases.entries()) {
      const g = poolGeometry(c.shape, c.opts);
      await checkOp({
        name: `maxPool2d ${label(c)}`,
        inputs: [distinct(k + 1, c.shape)],
        gpu: (x) => maxPool2d(x, c.opts),
        cpu: (x) => cpuMaxPool2d(x, g).y,
        rtol: 0,
        atol: 0,
      });
    }
  });

  it('takes the tiled kernels exactly where windows tile the input', () => {
    const tiled = cases.map((c) => poolWindowsTile(poolGeometry(c.shape, c.opts)));
    expect(tiled).toEqual(cases.map((_, k) => k >= cases.length - TILED));
  });

  it('the tiled kernels give the same for any channels a thread takes (all on a CPU adapter, one on a GPU)', async () => {
    const shape = [2, 4, 6, 5];
    for (const opts of [
      { size: 2, padding: 'VALID' },
      { size: [2, 3], padding: 'VALID' },
    ] as Pool2dOptions[]) {
      const g = poolGeometry(shape, opts);
      const x = Float64Array.from(Float32Array.from(distinct(7, shape).data)); // f32 values, as the GPU sees them
      const dy = Float64Array.from(Float32Array.from(cpuRng(8).uniform(g.n * g.outH * g.outW * g.c)));
      for (const run of [1, 2, 5]) {
        usePoolRun(run);
        try {
          const [y, dx] = scope(() => {
            const xt = requireGrad(tensor(x, shape));
            const yt = maxPool2d(xt, opts);
            backward(yt, tensor(dy, yt.shape));
            return [yt.keep(), xt.grad!.keep()];
          });
          const what = `${opts.size} windows, ${run} channels a thread`;
          expect(Array.from(await y!.data()), what).toEqual(Array.from(cpuMaxPool2d(x, g).y));
          expectClose(await dx!.data(), cpuMaxPool2dBackward(x, dy, g), 0, 0, `${what}: dx`);
          y!.dispose();
          dx!.dispose();
        } finally {
          usePoolRun(null);
        }
      }
    }
  });

  it('output shapes follow TensorFlow', () => {
    scope(() => {
      const x = tensor(new Float32Array(2 * 3 * 7 * 6 * 1), [2, 3, 7, 6, 1]);
      expect(maxPool2d(x, { padding: 'SAME' }).shape).toEqual([2, 3, 4, 3, 1]);
      expect(maxPool2d(x, { padding: 'VALID' }).shape).toEqual([2, 3, 3, 3, 1]);
      expect(maxPool2d(x, { size: 3, stride: 2, padding: 'SAME' }).shape).toEqual([2, 3, 4, 3, 1]);
      expect(maxPool2d(x, { size: 3, stride: 2, padding: 'VALID' }).shape).toEqual([2, 3, 3, 2, 1]);
      expect(() => maxPool2d(x, { size: 8, padding: 'VALID' })).toThrow(/empty output/);
      expect(() => maxPool2d(tensor([1, 2, 3], [3]), { padding: 'SAME' })).toThrow(/expected \(N, H, W, C\)/);
    });
  });

  it('padding never wins the max, and ties go to the first cell', async () => {
    // all negative: a zero-padded max would give 0 on the bottom row and right column
    const neg = new Float32Array(25).map((_, i) => -1 - i);
    const x = requireGrad(tensor(neg, [1, 5, 5, 1]));
    const y = maxPool2d(x, { padding: 'SAME' });
    expect(Array.from(await y.data())).toEqual([-1, -3, -5, -11, -13, -15, -21, -23, -25]);
    // ties: every window's gradient goes to its top-left cell
    const t = requireGrad(tensor(new Float32Array(16).fill(2), [1, 4, 4, 1]));
    const yt = maxPool2d(t, { padding: 'VALID' });
    backward(yt, tensor([1, 2, 3, 4], yt.shape));
    expect(Array.from(await t.grad!.data())).toEqual([1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0]);
    for (const v of [x, y, t, yt, t.grad!]) v.dispose();
  });

  it.each([
    {
      shape: [2, 7, 6, 3],
      opts: { size: 3, stride: 1, padding: 'SAME' } as Pool2dOptions,
      what: 'overlapping windows summing',
    },
    { shape: [2, 6, 8, 3], opts: { size: 2, padding: 'VALID' } as Pool2dOptions, what: 'tiled windows' },
  ])('backward against the float64 reference, $what', async ({ shape, opts }) => {
    const g = poolGeometry(shape, opts);
    const x = Float64Array.from(Float32Array.from(cpuRng(5).uniform(shape.reduce((p, d) => p * d))));
    const dy = Float64Array.from(Float32Array.from(cpuRng(6).uniform(g.n * g.outH * g.outW * g.c)));
    const dx = scope(() => {
      const xt = requireGrad(tensor(x, shape));
      backward(maxPool2d(xt, opts), tensor(dy, [g.n, g.outH, g.outW, g.c]));
      return xt.grad!.keep();
    });
    expectClose(await dx.data(), cpuMaxPool2dBackward(x, dy, g), 1e-6, 1e-6, 'max pool dx');
    dx.dispose();
  });
});

describe('avgPool2d', () => {
  it('forward against the CPU reference, backward against finite differences', async () => {
    for (const [k, c] of cases.entries()) {
      const g = poolGeometry(c.shape, c.opts);
      await checkOp({
        name: `avgPool2d ${label(c)}`,
        inputs: [randomData(k + 11, c.shape)],
        gpu: (x) => avgPool2d(x, c.opts),
        cpu: (x) => cpuAvgPool2d(x, g),
        rtol: 1e-6,
        atol: 1e-6,
      });
    }
  });

  it('SAME divides by the real cells only', async () => {
    const x = tensor(new Float32Array(25).fill(3), [1, 5, 5, 1]);
    const y = avgPool2d(x, { padding: 'SAME' });
    expect(Array.from(await y.data())).toEqual(new Array(9).fill(3));
    x.dispose();
    y.dispose();
  });

  it('backward against the float64 reference', async () => {
    const shape = [2, 7, 6, 3];
    const opts: Pool2dOptions = { size: 3, stride: 2, padding: 'SAME' };
    const g = poolGeometry(shape, opts);
    const dy = Float64Array.from(Float32Array.from(cpuRng(7).uniform(g.n * g.outH * g.outW * g.c)));
    const dx = scope(() => {
      const xt = requireGrad(tensor(new Float32Array(shape.reduce((p, d) => p * d)), shape));
      backward(avgPool2d(xt, opts), tensor(dy, [g.n, g.outH, g.outW, g.c]));
      return xt.grad!.keep();
    });
    expectClose(await dx.data(), cpuAvgPool2dBackward(dy, g), 1e-6, 1e-6, 'avg pool dx');
    dx.dispose();
  });
});

describe('pooling PyTorch 1.13 parity', () => {
  for (const c of fx.pool) {
    it(c.name, async () => {
      const opts: Pool2dOptions = {
        size: c.size as [number, number],
        stride: c.stride as [number, number],
        padding: c.padding as Padding,
      };
      const f = c.kind === 'max' ? maxPool2d : avgPool2d;
      const got = scope(() => {
        const x = requireGrad(tensor(c.x, c.x_shape));
        const y = f(x, opts);
        backward(y, tensor(c.dy, y.shape));
        return [y.keep(), x.grad!.keep()];
      });
      expect(got[0]!.shape).toEqual(c.y_shape);
      const [y, dx] = await Promise.all(got.map((t) => t.data()));
      for (const t of got) t.dispose();
      const rtol = c.kind === 'max' ? 0 : 1e-5;
      expectClose(y!, c.y, rtol, 1e-6, `${c.name} y`);
      expectClose(dx!, c.dx, rtol, 1e-6, `${c.name} dx`);
    });
  }
});
