// The fused f32 Adam against torch.optim.Adam in float64 (test/fixtures/make_adam.py): 20 steps on a fixed
// gradient sequence, three settings. Compared: the moments m and v and the parameters' displacement from
// their start (the parameters themselves are dominated by their starting values, which hides an error in the
// update), each to 1e-6 relative, elementwise. f32 arithmetic of the constants on the GPU made v 6.4e-6
// relatively too large at beta2 = 0.999 and 1.7e-5 at 0.9999.
// And: the updates' invocations each step values i, i + threads, ... (fewer on a CPU adapter); every
// thread count gives the bits of one invocation a value, for Adam and SGD (fill and
// accumulate: test/tensor.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, SGD } from '../src/optim/index.js';
import { useStrideThreads } from '../src/gpu/index.js';
import { assign, requireGrad, tensor } from '../src/tensor/index.js';
import fx from './fixtures/adam_torch.json';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

const RTOL = 1e-6;

/** max over i of |got - want| / |want|: for values of one sign (v), where no sum cancels. */
function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / Math.abs(want[i]!);
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}

/**
 * max |got - want| / max |want|: for signed values (m, the displacement), where a sum of terms of both signs
 * can come out near zero and an elementwise ratio would measure that cancellation, not the arithmetic.
 */
function normRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

type Setting = (typeof fx.settings)[keyof typeof fx.settings];

/** Runs the fixture's 20 steps; returns the worst relative error of m, v and the displacement over the recorded steps. */
async function replay(s: Setting): Promise<{ m: number; v: number; displacement: number }> {
  const params = fx.init.map((data, i) => requireGrad(tensor(data, fx.shapes[i]!)));
  const opt = new Adam(params, {
    lr: s.lr,
    betas: s.betas as [number, number],
    eps: s.eps,
    weightDecay: s.weight_decay,
  });
  const err = { m: 0, v: 0, displacement: 0 };
  let r = 0;
  try {
    for (let k = 0; k < fx.grads.length; k++) {
      for (let i = 0; i < params.length; i++) assign(params[i]!.grad!, fx.grads[k]![i]!);
      opt.step();
      const rec = s.steps[r];
      if (rec?.step !== k + 1) continue;
      r++;
      const st = await opt.state();
      const offsets = opt.arena.offsets;
      for (let i = 0; i < params.length; i++) {
        const n = params[i]!.size;
        const at = offsets[i]!;
        err.m = Math.max(err.m, normRelError(st.m.subarray(at, at + n), rec.m[i]!));
        err.v = Math.max(err.v, maxRelError(st.v.subarray(at, at + n), rec.v[i]!));
        const p = await params[i]!.data();
        const got = Float64Array.from(p, (x, j) => x - fx.init[i]![j]!);
        const want = rec.params[i]!.map((x, j) => x - fx.init[i]![j]!);
        err.displacement = Math.max(err.displacement, normRelError(got, want));
      }
    }
    expect(r, 'every recorded step was compared').toBe(s.steps.length);
    return err;
  } finally {
    opt.dispose();
    for (const p of params) p.dispose();
  }
}

describe('fused Adam against float64 PyTorch', () => {
  for (const name of Object.keys(fx.settings) as (keyof typeof fx.settings)[]) {
    it(`${name}: m, v and the displacement to ${RTOL} relative over 20 steps`, async () => {
      const err = await replay(fx.settings[name]);
      const line = `m ${err.m.toExponential(2)}, v ${err.v.toExponential(2)}, displacement ${err.displacement.toExponential(2)}`;
      if ((globalThis as any).process?.env?.WEIGHTGEN_SHOW_ERRORS) console.log(`adam ${name}: ${line}`);
      expect(err.m, line).toBeLessThan(RTOL);
      expect(err.v, line).toBeLessThan(RTOL);
      expect(err.displacement, line).toBeLessThan(RTOL);
    });
  }
});

describe('optimizer updates: any number of invocations, the same bits', () => {
  const n = 1000; // 2 parameters of 600 and 400 values: the arena pads each, so its size is not a multiple of 64
  const optimizers: [string, (p: ReturnType<typeof tensor>[]) => Adam | SGD][] = [
    ['Adam', (p) => new Adam(p, { lr: 0.01, weightDecay: 1e-3 })],
    ['SGD with Nesterov momentum', (p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ];
  async function run(make: (p: ReturnType<typeof tensor>[]) => Adam | SGD, threads: number): Promise<Float32Array[]> {
    useStrideThreads(threads);
    const params = [600, 400].map((size, k) => {
      const t = tensor(
        Float32Array.from({ length: size }, (_, i) => Math.sin(i + k)),
        [size],
      );
      requireGrad(t);
      return t;
    });
    const opt = make(params);
    try {
      const arena = opt.arena;
      for (let step = 0; step < 3; step++) {
        assign(
          arena.grads,
          Float32Array.from({ length: arena.size }, (_, i) => Math.cos(i * (step + 1))),
        );
        opt.step();
      }
      return (await Promise.all(params.map((p) => p.data()))) as Float32Array[];
    } finally {
      useStrideThreads(null);
      opt.dispose();
      for (const p of params) p.dispose();
    }
  }
  for (const [name, make] of optimizers) {
    it(`${name}: 1, 7, 64 and 100 invocations give the bits of one a value`, async () => {
      const want = await run(make, n * 2); // capped at the arena's size: one invocation a value
      for (const threads of [1, 7, 64, 100]) {
        const got = await run(make, threads);
        for (let k = 0; k < want.length; k++) {
          const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
          expect(bits(got[k]!), `${threads} invocations, parameter ${k}`).toEqual(bits(want[k]!));
        }
        expect(got[0]![0], 'the parameters moved').not.toBe(Math.fround(Math.sin(0)));
      }
    });
  }
});
