// The fused linear backward (src/ops/linear.ts, shaders/linear.wgsl): fusedLinear's gradients against
// finite differences of a float64 forward, linearBackward against its float64 reference, and against the
// unfused rule of matmul.ts's linear(), for one layer, a population of layers and a population sharing x.

import { beforeAll, describe, expect, it } from 'vitest';
import { cpuLinearBackward, fusedLinear, linearBackward } from '../src/ops/linear.js';
import { type Activation, linear } from '../src/ops/matmul.js';
import { backward, requireGrad, scope, type Tensor, tensor } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const ACTS: Activation[] = ['none', 'relu', 'sigmoid'];

/** act(x W^T + b) in float64: G entries of x (rows, in) (or one x for all), W (out, in), b (out). */
function cpuForward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  s: { batch: number; rows: number; nIn: number; nOut: number; xShared?: boolean; act: Activation },
): Float64Array {
  const y = new Float64Array(s.batch * s.rows * s.nOut);
  for (let e = 0; e < s.batch; e++) {
    for (let r = 0; r < s.rows; r++) {
      for (let o = 0; o < s.nOut; o++) {
        let v = b ? b[e * s.nOut + o]! : 0;
        for (let i = 0; i < s.nIn; i++) {
          v += x[(s.xShared ? 0 : e * s.rows * s.nIn) + r * s.nIn + i]! * w[(e * s.nOut + o) * s.nIn + i]!;
        }
        y[(e * s.rows + r) * s.nOut + o] =
          s.act === 'relu' ? Math.max(v, 0) : s.act === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : v;
      }
    }
  }
  return y;
}

describe('fusedLinear: the backward pass of a layer in one dispatch', () => {
  // 33 rows, 66 inputs, 34 outputs: two tiles each way (32 x 64), ragged at every edge
  for (const act of ACTS) {
    it(`one layer, ${act}: values and gradients of x, W and b against finite differences`, async () => {
      const [rows, nIn, nOut] = [33, 66, 34];
      await checkOp({
        name: `fusedLinear ${act}`,
        inputs: [randomData(1, [rows, nIn]), randomData(2, [nOut, nIn], -0.3, 0.3), randomData(3, [nOut])],
        gpu: (x, w, b) => fusedLinear(x!, w!, b!, act),
        cpu: (x, w, b) => cpuForward(x!, w!, b!, { batch: 1, rows, nIn, nOut, act }),
      });
    });
  }

  it('x of rank 3 with one W, and no bias', async () => {
    await checkOp({
      name: 'fusedLinear rank 3',
      inputs: [randomData(4, [2, 3, 5]), randomData(5, [6, 5])],
      gpu: (x, w) => fusedLinear(x!, w!, null, 'relu'),
      cpu: (x, w) => cpuForward(x!, w!, null, { batch: 1, rows: 6, nIn: 5, nOut: 6, act: 'relu' }),
    });
  });

  it("a population of layers (linear()'s rule): x (G, B, in), W (G, out, in), b (G, 1, out)", async () => {
    const [G, rows, nIn, nOut] = [3, 4, 5, 6];
    await checkOp({
      name: 'fusedLinear population',
      inputs: [randomData(6, [G, rows, nIn]), randomData(7, [G, nOut, nIn]), randomData(8, [G, 1, nOut])],
      gpu: (x, w, b) => fusedLinear(x!, w!, b!, 'sigmoid'),
      cpu: (x, w, b) => cpuForward(x!, w!, b!, { batch: G, rows, nIn, nOut, act: 'sigmoid' }),
    });
  });

  it('a population with 70 outputs and rows (the forward kernel with 8 column groups, several tiles)', async () => {
    const [G, rows, nIn, nOut] = [2, 70, 6, 70];
    await checkOp({
      name: 'fusedLinear population, wide',
      inputs: [randomData(13, [G, rows, nIn]), randomData(14, [G, nOut, nIn]), randomData(15, [G, 1, nOut])],
      gpu: (x, w, b) => fusedLinear(x!, w!, b!, 'sigmoid'), // (no kink for the differences to cross)
      cpu: (x, w, b) => cpuForward(x!, w!, b!, { batch: G, rows, nIn, nOut, act: 'sigmoid' }),
    });
  });

  it('a population sharing one x that needs no gradient', async () => {
    const [G, rows, nIn, nOut] = [3, 7, 4, 5];
    await checkOp({
      name: 'fusedLinear shared x',
      inputs: [
        { ...randomData(9, [rows, nIn]), grad: false },
        randomData(10, [G, nOut, nIn]),
        randomData(11, [G, 1, nOut]),
      ],
      gpu: (x, w, b) => fusedLinear(x!, w!, b!, 'relu'),
      cpu: (x, w, b) => cpuForward(x!, w!, b!, { batch: G, rows, nIn, nOut, xShared: true, act: 'relu' }),
    });
  });
});

describe('linearBackward', () => {
  it('matches its float64 reference and the unfused rule of linear() (W, b and x of a batch-16 layer)', async () => {
    const [rows, nIn, nOut] = [16, 15, 128];
    const rng = cpuRng(12);
    const xs = rng.uniform(rows * nIn, -1, 1);
    const ws = rng.uniform(nOut * nIn, -0.3, 0.3);
    const bs = rng.uniform(nOut, -0.3, 0.3);
    const dys = rng.uniform(rows * nOut, -1, 1);
    for (const act of ACTS) {
      const got = scope(() => {
        const x = requireGrad(tensor(xs, [rows, nIn]));
        const w = requireGrad(tensor(ws, [nOut, nIn]));
        const b = requireGrad(tensor(bs, [nOut]));
        const dy = tensor(dys, [rows, nOut]);
        const y = linear(x, w, b, act); // unfused: the reference rule
        backward(y, dy);
        const g = linearBackward(x, w, y, dy, act, { dx: true, dw: true, db: true });
        return [y, g.dx!, g.dw!, g.db!, x.grad!, w.grad!, b.grad!].map((t) => t.keep());
      });
      const [y, dx, dw, db, rx, rw, rb] = (await Promise.all(got.map((t) => t.data()))) as Float32Array[];
      const ref = cpuLinearBackward(xs, ws, y!, dys, { batch: 1, rows, nIn, nOut, act });
      expectClose(dx!, ref.dx!, 1e-5, 1e-5, `${act} dx`);
      expectClose(dw!, ref.dw, 1e-5, 1e-5, `${act} dw`);
      expectClose(db!, ref.db, 1e-5, 1e-5, `${act} db`);
      expectClose(dx!, rx!, 1e-5, 1e-6, `${act} dx against linear()`);
      expectClose(dw!, rw!, 1e-5, 1e-6, `${act} dw against linear()`);
      expectClose(db!, rb!, 1e-5, 1e-6, `${act} db against linear()`);
      for (const t of got) t.dispose();
    }
  });

  it('matches its float64 reference for every tile width and for several tiles down each part', async () => {
    // n_in 3, 20, 40 and 70 take tiles 1, 4, 8 and 8 blocks wide (two tiles across for 70); 600 rows of dx
    // and 530 outputs of dw span several tiles down
    const cases: [number, number, number][] = [
      [600, 3, 9],
      [70, 20, 530],
      [9, 40, 17],
      [5, 70, 3],
    ];
    for (const [rows, nIn, nOut] of cases) {
      const rng = cpuRng(rows + nIn + nOut);
      const xs = rng.uniform(rows * nIn, -1, 1);
      const ws = rng.uniform(nOut * nIn, -0.3, 0.3);
      const ys = rng.uniform(rows * nOut, -1, 1).map((v) => (v < -0.5 ? 0 : Math.abs(v)));
      const dys = rng.uniform(rows * nOut, -1, 1);
      const got = scope(() => {
        const g = linearBackward(
          tensor(xs, [rows, nIn]),
          tensor(ws, [nOut, nIn]),
          tensor(ys, [rows, nOut]),
          tensor(dys, [rows, nOut]),
          'relu',
          { dx: true, dw: true, db: true },
        );
        return [g.dx!, g.dw!, g.db!].map((t) => t.keep());
      });
      const [dx, dw, db] = (await Promise.all(got.map((t) => t.data()))) as Float32Array[];
      const ref = cpuLinearBackward(xs, ws, ys, dys, { batch: 1, rows, nIn, nOut, act: 'relu' });
      const what = `rows ${rows}, in ${nIn}, out ${nOut}`;
      expectClose(dx!, ref.dx!, 1e-5, 1e-5, `${what}: dx`);
      expectClose(dw!, ref.dw, 1e-5, 1e-5, `${what}: dw`);
      expectClose(db!, ref.db, 1e-5, 1e-5, `${what}: db`);
      for (const t of got) t.dispose();
    }
  });

  it('makes only what is asked for, and refuses a population or a wrong shape', () => {
    const grads = scope(() => {
      const x = tensor(new Float32Array(8), [2, 4]);
      const w = tensor(new Float32Array(3 * 4), [3, 4]);
      const y = tensor(new Float32Array(2 * 3), [2, 3]);
      const g = linearBackward(x, w, y, y, 'none', { dx: false, dw: false, db: true });
      expect(g.dx).toBeNull();
      expect(g.dw).toBeNull();
      expect(g.db!.shape).toEqual([3]);
      g.db!.dispose();
      const pop = tensor(new Float32Array(3 * 3 * 4), [3, 3, 4]);
      expect(() => linearBackward(x, pop, y, y, 'none', { dx: false, dw: true, db: true })).toThrow(
        /w \(3, 3, 4\): expected f32 x \(\.\.\., in\) with w \(out, in\) \(a population of layers: use linear\(\)\)/,
      );
      expect(() => linearBackward(x, w, x, y, 'relu', { dx: false, dw: true, db: false })).toThrow(
        /y \(2, 4\) f32; expected f32 \(2, 3\)/,
      );
      return [] as Tensor[];
    });
    expect(grads).toEqual([]);
  });
});
