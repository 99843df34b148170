// The probe kernels of bench/bounds.ts compute what they claim: each load probe's sums equal the same fma
// chains run on the CPU with the same operands (loaded ones from the buffer at the kernel's addresses), and
// the matmul-loop probe equals matmul_vec4's block products done by hand, with its operands loaded or
// rotating in registers. A probe whose loads, chains or products were dropped would time less work than
// it reports; each reference is also shown to move when a step is left out. Tiny shapes; the timing is the
// bench's. The GPU may fuse a multiply-add or order a sum differently: values compare to a relative 1e-5.

import { beforeAll, describe, expect, it } from 'vitest';
import { cpuLoadProbe, cpuMatmulLoop, dispatchProbe, loadProbe, matmulLoopProbe } from '../bench/bounds-probes.js';
import { fitLine } from '../bench/util.js';
import { Tensor, tensor } from '../src/tensor/index.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  });
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-5 * Math.max(1, Math.abs(want[i]!));
    expect(Math.abs(got[i]! - want[i]!), `${what}: value ${i} (${got[i]} against ${want[i]})`).toBeLessThanOrEqual(tol);
  }
}

describe('bounds probes', () => {
  const invocations = 128;

  it('the load probes: every chain, every operand, loaded at the kernel addresses or held in registers', async () => {
    const src = random(16384 * 4, 3);
    const srcT = tensor(src, [src.length]);
    const out = Tensor.empty([invocations]);
    for (const [loaded, uniform] of [
      [0, false],
      [1, false],
      [4, false],
      [4, true],
    ] as const) {
      const iters = 3;
      dispatchProbe(loadProbe(loaded, uniform), { src: srcT, out }, { iters, a: 0.75 }, invocations);
      const want = cpuLoadProbe(src, loaded, uniform, invocations, iters, 0.75);
      expectClose(await out.data(), want, `${loaded} loaded${uniform ? ', one address' : ''}`);
      // the reference moves with a step left out, and with the loaded operands
      const short = cpuLoadProbe(src, loaded, uniform, invocations, iters - 1, 0.75);
      expect(Math.abs(short[5]! - want[5]!)).toBeGreaterThan(1);
      if (loaded)
        expect(
          cpuLoadProbe(
            src.map((v) => v + 1),
            loaded,
            uniform,
            invocations,
            iters,
            0.75,
          )[5],
        ).not.toBe(want[5]);
    }
    srcT.dispose();
    out.dispose();
  });

  it("the matmul-loop probe: matmul_vec4's eight block products a k step, loaded or in registers", async () => {
    const a4 = random(4096 * 4, 5);
    const b4 = random(4096 * 4, 7);
    const a = tensor(a4, [a4.length]);
    const b = tensor(b4, [b4.length]);
    const out = Tensor.empty([invocations]);
    for (const loads of [true, false]) {
      const k4 = 5;
      dispatchProbe(matmulLoopProbe(loads), { a4: a, b4: b, out }, { k4 }, invocations);
      const want = Float32Array.from({ length: invocations }, (_, i) => cpuMatmulLoop(a4, b4, loads, i, k4));
      expectClose(await out.data(), want, loads ? 'loads' : 'registers');
      expect(Math.abs(cpuMatmulLoop(a4, b4, loads, 9, k4 - 1) - want[9]!)).toBeGreaterThan(0.1);
    }
    // loaded operands change with k, rotating ones cycle: the two probes differ
    expect(cpuMatmulLoop(a4, b4, true, 3, 5)).not.toBeCloseTo(cpuMatmulLoop(a4, b4, false, 3, 5), 3);
    for (const t of [a, b, out]) t.dispose();
  });

  it('the line through the load probes', () => {
    const line = fitLine([0.03, 0.06, 0.12], [0.1 + 0.03 * 0.8, 0.1 + 0.06 * 0.8, 0.1 + 0.12 * 0.8]);
    expect(line.intercept).toBeCloseTo(0.1, 12);
    expect(line.slope).toBeCloseTo(0.8, 12);
  });
});
