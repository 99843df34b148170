// The memorisation check (src/analysis/memorisation.ts) against a brute-force CPU reference (float64
// forward passes and distances written here), with planted copies of zoo networks: an exact copy, one with
// its hidden units permuted (the same function; only canonical ordering sees it as the same weights) and one
// with a little noise must show as copies; fresh random networks must not.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  canonical,
  euclidean,
  isCopy,
  MEASURES,
  median,
  memorisation,
  memorisationSpec,
  summarise,
  ZOO_REFERENCE,
} from '../src/analysis/memorisation.js';
import { irisSplit } from '../src/data/iris.js';
import { canonicalizeM2 } from '../src/models/zoo.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const xTest = irisSplit().xTest;
const P = 43;
const [I, H, O] = [4, 5, 3];

/** Predicted classes of M2 networks (G, 43) on xTest, float64. */
function predict(v: ArrayLike<number>): number[][] {
  return Array.from({ length: v.length / P }, (_, g) => {
    const w = (k: number) => v[g * P + k]!;
    return Array.from({ length: xTest.length / I }, (_, i) => {
      const h = Array.from({ length: H }, (_, u) => {
        let s = w(H * I + u);
        for (let k = 0; k < I; k++) s += w(u * I + k) * xTest[i * I + k]!;
        return Math.max(0, s);
      });
      const out = Array.from({ length: O }, (_, o) => {
        let s = w(H * (I + 1) + O * H + o);
        for (let u = 0; u < H; u++) s += w(H * (I + 1) + o * H + u) * h[u]!;
        return s;
      });
      return out.indexOf(Math.max(...out));
    });
  });
}

/** Network g of v with its hidden units in the order `perm` (the same function). */
function permuteHidden(v: Float32Array, g: number, perm: number[]): Float32Array {
  const src = v.subarray(g * P, (g + 1) * P);
  const out = Float32Array.from(src);
  perm.forEach((u, k) => {
    for (let i = 0; i < I; i++) out[k * I + i] = src[u * I + i]!;
    out[H * I + k] = src[H * I + u]!;
    for (let o = 0; o < O; o++) out[H * (I + 1) + o * H + k] = src[H * (I + 1) + o * H + u]!;
  });
  return out;
}

describe('memorisation check', () => {
  const r = cpuRng(5);
  const G = 12;
  const zoo = Float32Array.from(r.uniform(G * P, -1, 1));
  const fresh = Float32Array.from(r.uniform(6 * P, -1, 1));
  const exact = zoo.slice(3 * P, 4 * P);
  const permuted = permuteHidden(zoo, 5, [2, 4, 0, 1, 3]);
  const noisy = zoo.slice(7 * P, 8 * P).map((w) => w + 1e-4 * r.uniform(1)[0]!);
  const gen = new Float32Array([...fresh, ...exact, ...permuted, ...noisy]);

  it('nearest zoo networks match a brute-force reference; planted copies show as copies', async () => {
    const res = await memorisation('M2', { gen }, zoo, xTest);
    const nz = res.sets.gen!;
    const cz = canonicalizeM2(zoo);
    const cg = canonicalizeM2(gen);
    const zp = predict(zoo);
    const gp = predict(gen);
    const n = gen.length / P;
    const refW = Array.from({ length: n }, (_, i) =>
      Math.min(...Array.from({ length: G }, (_, j) => euclidean(cg, i, cz, j, P))),
    );
    const refD = gp.map((p) => Math.min(...zp.map((q) => p.filter((c, k) => c !== q[k]).length / p.length)));
    expectClose(nz.weight, refW, 1e-9, 1e-9, 'weight distance');
    expectClose(nz.disagreement, refD, 0, 1e-12, 'disagreement');
    // the zoo against itself leaves each member's own distance out
    const selfW = Array.from({ length: G }, (_, i) =>
      Math.min(...Array.from({ length: G }, (_, j) => (i === j ? Infinity : euclidean(cz, i, cz, j, P)))),
    );
    expectClose(res.zoo.weight, selfW, 1e-9, 1e-9, 'zoo to zoo');
    // relative: over the nearest zoo network's own distance to its nearest other member
    expectClose(
      nz.relative,
      Array.from(nz.weight, (d, i) => d / selfW[nz.weightIndex[i]!]!),
      1e-12,
      0,
      'relative',
    );
    expect(Array.from(res.zoo.relative).every((v) => v >= 1)).toBe(true);
    // the planted copies: at 0 (exact, permuted) or nearly (noise), by the zoo member they copy
    expect(Array.from(nz.weight.subarray(6, 8))).toEqual([0, 0]);
    expect(nz.weight[8]).toBeLessThan(1e-3);
    expect(Array.from(nz.weightIndex.subarray(6))).toEqual([3, 5, 7]);
    expect(Array.from(nz.disagreement.subarray(6))).toEqual([0, 0, 0]);
    const copies = Array.from(nz.relative, (v) => isCopy(v));
    expect(copies).toEqual([false, false, false, false, false, false, true, true, true]);
    expect(summarise(nz).copies).toBeCloseTo(3 / 9, 12);
    expect(summarise(res.zoo).copies).toBe(0);
    // the zoo's average is closer to most members than any two members are to each other, and copies none
    const mean = Float32Array.from({ length: P }, (_, k) => zoo.reduce((s, w, i) => (i % P === k ? s + w / G : s), 0));
    const avg = (await memorisation('M2', { mean }, zoo, xTest)).sets.mean!;
    expect(avg.weight[0]).toBeLessThan(Math.min(...selfW));
    expect(isCopy(avg.relative[0]!)).toBe(false);
    // without canonical ordering the permuted copy would look like another network
    expect(euclidean(permuted, 0, zoo, 5, P)).toBeGreaterThan(0.5);
    expect(euclidean(canonical('M2', permuted), 0, canonical('M2', zoo), 5, P)).toBe(0);
  });

  it('the figure holds every network and the zoo reference; medians', async () => {
    const res = await memorisation('M2', { fresh, copies: gen.subarray(6 * P) }, zoo, xTest);
    const spec = memorisationSpec(res, 'M2') as { data: { values: { set: string; measure: string; value: number }[] } };
    const rows = spec.data.values;
    const of = (set: string, m: string) => rows.filter((p) => p.set === set && p.measure === m).map((p) => p.value);
    expect(rows.length).toBe(2 * (G + 6 + 3));
    expect(of(ZOO_REFERENCE, MEASURES.weight)).toEqual(Array.from(res.zoo.weight));
    expect(of('copies', MEASURES.weight).map((v) => v <= 1e-3)).toEqual([true, true, true]);
    expect(of('fresh', MEASURES.disagreement)).toEqual(Array.from(res.sets.fresh!.disagreement, (d) => 100 * d));
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no values/);
  });
});
