import { beforeAll, describe, expect, it } from 'vitest';
import { gpu, useStrideThreads } from '../src/gpu/index.js';
import {
  accumulate,
  fill,
  fillInPlace,
  philox4x32,
  referenceValue,
  Rng,
  scope,
  tensor,
  type Tensor,
  zeros,
} from '../src/tensor/index.js';
import { expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('tensor basics', () => {
  it('reports the adapter', () => {
    const a = gpu().adapter;
    expect(a.vendor.length + a.architecture.length + a.description.length).toBeGreaterThan(0);
  });

  it('round-trips values and fills', async () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from(await t.data())).toEqual([1, 2, 3, 4, 5, 6]);
    const f = fill([3, 5], -2.5);
    expect(Array.from(await f.data())).toEqual(new Array(15).fill(-2.5));
    const i = fill([4], 7, 'i32');
    expect(await i.data()).toBeInstanceOf(Int32Array);
    expect(Array.from(await i.data())).toEqual([7, 7, 7, 7]);
    for (const x of [t, f, i]) x.dispose();
  });

  it('rejects bad input with a clear message', () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \(2, 2\)/);
    const t = zeros([2]);
    t.dispose();
    expect(() => t.ref).toThrow(/used after dispose/);
  });

  it('scope disposes what it does not return', () => {
    const before = gpu().pool.getStats().liveBytes;
    let inner: Tensor | null = null;
    const kept = scope(() => {
      inner = zeros([100]);
      const out = zeros([50]);
      return { out };
    });
    expect(inner!.isDisposed).toBe(true);
    expect(kept.out.isDisposed).toBe(false);
    kept.out.dispose();
    expect(gpu().pool.getStats().liveBytes).toBe(before);
  });
});

describe('Philox RNG', () => {
  it('matches the Random123 known-answer vectors', () => {
    expect(philox4x32([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    const ff = 0xffffffff;
    expect(philox4x32([ff, ff, ff, ff], [ff, ff])).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    expect(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });

  it('GPU values equal the CPU reference for every distribution', async () => {
    const seed = 2 ** 33 + 12345;
    const rng = new Rng(seed);
    const n = 1000;
    for (const [kind, a, b] of [
      ['uniform', -1, 3],
      ['normal', 0.5, 2],
      ['truncated_normal', 0, 0.1],
    ] as const) {
      const stream = rng.next() + 1; // the call below takes the stream after this one
      const t =
        kind === 'uniform'
          ? rng.uniform([n], a, b)
          : kind === 'normal'
            ? rng.normal([n], a, b)
            : rng.truncatedNormal([n], a, b);
      const got = await t.data();
      const want = Array.from({ length: n }, (_, i) => referenceValue(kind, seed, stream, i, a, b));
      // Uniform values agree to rounding; normals go through the GPU's f32 log and cos (a few ulp).
      if (kind === 'uniform') expectClose(got, want, 1e-6, 1e-6, kind);
      else expectClose(got, want, 2e-4, 2e-4, kind);
      if (kind === 'truncated_normal') expect(Math.max(...Array.from(got, Math.abs))).toBeLessThanOrEqual(0.2 + 1e-6);
      t.dispose();
    }
  });

  it('has the right moments', async () => {
    const rng = new Rng(7);
    const t = rng.normal([20000], 1, 2);
    const v = Array.from(await t.data());
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean - 1)).toBeLessThan(0.05);
    expect(Math.abs(sd - 2)).toBeLessThan(0.05);
    t.dispose();
  });
});

// fill and accumulate step values i, i + threads, ... (fewer invocations on a CPU adapter: src/gpu/groups.ts)
describe('fill and accumulate: any number of invocations, every value once', () => {
  for (const threads of [1, 7, 64, 100, 1000]) {
    it(`${threads} invocations over 1,000 values`, async () => {
      useStrideThreads(threads);
      const a = tensor(
        Float32Array.from({ length: 1000 }, (_, i) => i),
        [1000],
      );
      const g = tensor(
        Float32Array.from({ length: 1000 }, (_, i) => 0.5 * i),
        [1000],
      );
      const f = tensor(new Float32Array(1003).fill(-1), [1003]);
      try {
        accumulate(a, g); // twice: a value stepped twice or missed would show
        accumulate(a, g);
        fillInPlace(f, 2.5);
        expect(Array.from(await a.data())).toEqual(Array.from({ length: 1000 }, (_, i) => 2 * i));
        expect(new Set(await f.data())).toEqual(new Set([2.5]));
      } finally {
        useStrideThreads(null);
        for (const t of [a, g, f]) t.dispose();
      }
    });
  }
});
