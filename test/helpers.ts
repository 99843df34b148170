// Shared test helpers: GPU start-up, seeded CPU randomness, and closeness checks with a useful message.

import { expect } from 'vitest';
import { initGpu } from '../src/gpu/index.js';

export async function setupGpu() {
  return initGpu();
}

/** A small seeded CPU generator for test inputs (mulberry32). */
export function cpuRng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (n: number, lo = -1, hi = 1) => Float64Array.from({ length: n }, () => lo + (hi - lo) * next()),
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo)),
  };
}

/** Asserts |a - b| <= atol + rtol * |b| elementwise, naming the worst index when it fails. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol = 1e-5,
  atol = 1e-6,
  what = '',
) {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const excess = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (Number.isNaN(a) !== Number.isNaN(b) || excess > worstExcess) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what} index ${worst}: got ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol}; ` +
        `${expected.length} values)`,
    );
  }
}
