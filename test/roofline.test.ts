// The roofline microkernels of bench/roofline.ts compute what they claim: the FMA kernel's written sums
// equal the same chains run on the CPU (so a kernel whose chains were dropped, shortened or merged cannot
// report a roof), the streaming sum equals the CPU's sum in the kernel's order, and the copy copies.
// Tiny shapes; the timing itself is the bench's.
//
// Exactness: the multiplier a is 1 (from a uniform, so the compiler cannot know it) and the addend a power
// of two, so each product is exact and fma(x, a, b) rounds as x * a + b does; every chain then ends at its
// seed + 4 * iters * b, which moves with every step skipped. Stream data are small integers, whose f32 sums
// are exact in any order.

import { beforeAll, describe, expect, it } from 'vitest';
import {
  cpuFmaChains,
  cpuStreamSum,
  dispatchFma,
  dispatchStream,
  type FmaConfig,
  fmaName,
  type StreamConfig,
  streamName,
} from '../bench/roofline.js';
import { Tensor, tensor } from '../src/tensor/index.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('roofline FMA microkernel', () => {
  const configs: FmaConfig[] = [
    { wg: 64, width: 1, chains: 1, op: 'fma' },
    { wg: 64, width: 2, chains: 3, op: 'fma' },
    { wg: 128, width: 4, chains: 8, op: 'fma' },
    { wg: 64, width: 4, chains: 4, op: 'muladd' },
  ];
  for (const c of configs) {
    it(`${fmaName(c)}: each invocation's sum of chains equals the CPU's`, async () => {
      const invocations = 2 * c.wg;
      const out = Tensor.empty([invocations]);
      for (const iters of [0, 3, 7]) {
        dispatchFma(c, out, invocations, iters, 1, 2 ** -8);
        const want = cpuFmaChains(c, invocations, iters, 1, 2 ** -8);
        expect(Array.from(await out.data()), `${fmaName(c)} iters ${iters}`).toEqual(Array.from(want));
      }
      // a multiplier other than 1 is applied (a power of two keeps the products exact)
      dispatchFma(c, out, invocations, 2, 0.5, 2 ** -8);
      expect(Array.from(await out.data())).toEqual(Array.from(cpuFmaChains(c, invocations, 2, 0.5, 2 ** -8)));
      out.dispose();
    });
  }

  it('the CPU reference moves with the iteration count (a skipped step would show)', () => {
    const c: FmaConfig = { wg: 64, width: 4, chains: 2, op: 'fma' };
    const a = cpuFmaChains(c, 4, 3, 1, 2 ** -8);
    const b = cpuFmaChains(c, 4, 4, 1, 2 ** -8);
    // 8 lanes a invocation, each 4 steps of 2^-8 further
    for (let i = 0; i < 4; i++) expect(b[i]! - a[i]!).toBeCloseTo((8 * 4) / 256, 6);
  });
});

describe('roofline streaming microkernels', () => {
  // 1000 vec4s over 64 or 128 invocations: the blocked runs end short of the last invocation
  const n4 = 1000;
  const data = Float32Array.from({ length: 4 * n4 }, (_, i) => ((i * 37) % 19) - 9);
  for (const layout of ['stride', 'blocked'] as const) {
    for (const invocations of [64, 128]) {
      const sum: StreamConfig = { kind: 'sum', layout, invocations };
      it(`${streamName(sum)}: each invocation's sum equals the CPU's`, async () => {
        const src = tensor(data, [4 * n4]);
        const out = Tensor.empty([invocations]);
        dispatchStream(sum, src, out);
        const want = cpuStreamSum(sum, data);
        expect(want.some((v) => v !== 0)).toBe(true);
        expect(Array.from(await out.data())).toEqual(Array.from(want));
        // every element is read once: the sums add up to the total
        expect(want.reduce((s, v) => s + v, 0)).toBe(data.reduce((s, v) => s + v, 0));
        src.dispose();
        out.dispose();
      });
      const copy: StreamConfig = { kind: 'copy', layout, invocations };
      it(`${streamName(copy)}: copies every element`, async () => {
        const src = tensor(data, [4 * n4]);
        const dst = tensor(new Float32Array(4 * n4).fill(-100), [4 * n4]);
        dispatchStream(copy, src, dst);
        expect(Array.from(await dst.data())).toEqual(Array.from(data));
        src.dispose();
        dst.dispose();
      });
    }
  }
});
