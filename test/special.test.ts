// digamma against known values (to 1e-12) and its identities: the recurrence, the reflection formula, and
// psi(n) = H(n-1) - gamma at the integers.
import { describe, expect, it } from 'vitest';
import { digamma, EULER_GAMMA } from '../src/analysis/special.js';

describe('digamma', () => {
  it('known values', () => {
    const known: [number, number][] = [
      [1, -0.5772156649015329],
      [0.5, -1.9635100260214235],
      [10, 2.251752589066721],
      // H(31) - gamma (exact harmonic sum); ln(31.5) = 3.4499875... is only an approximation of psi(32)
      [32, 3.4500295305349873],
      [2.5, 0.7031566406452432],
      [-0.5, 0.03648997397857652],
      [1e-8, -100000000.57721566],
    ];
    for (const [x, v] of known)
      expect(Math.abs(digamma(x) - v), `psi(${x})`).toBeLessThan(1e-12 * Math.max(1, Math.abs(v)));
  });

  it('psi(n) = 1 + 1/2 + ... + 1/(n-1) - gamma', () => {
    let h = 0;
    for (let n = 1; n <= 200; n++) {
      expect(Math.abs(digamma(n) - (h - EULER_GAMMA)), `psi(${n})`).toBeLessThan(1e-13 * Math.max(1, h));
      h += 1 / n;
    }
  });

  it('recurrence psi(x + 1) = psi(x) + 1/x and reflection psi(1 - x) - psi(x) = pi cot(pi x)', () => {
    for (const x of [0.1, 0.37, 1.3, 4.99, 5.5, 7.25, 33.3, 1e3]) {
      expect(Math.abs(digamma(x + 1) - digamma(x) - 1 / x), `recurrence at ${x}`).toBeLessThan(1e-12);
    }
    for (const x of [-3.7, -1.5, -0.25, 0.2, 0.45]) {
      const d = digamma(1 - x) - digamma(x) - Math.PI / Math.tan(Math.PI * x);
      expect(Math.abs(d), `reflection at ${x}`).toBeLessThan(1e-11);
    }
  });

  it('poles are NaN; large x follows ln x - 1/(2x)', () => {
    for (const x of [0, -1, -7, Number.NaN]) expect(digamma(x)).toBeNaN();
    expect(Math.abs(digamma(1e12) - (Math.log(1e12) - 0.5e-12))).toBeLessThan(1e-12);
  });
});
