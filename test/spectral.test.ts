// Spectral norms of matrix differences (ops/spectral.ts) against numpy's SVD in float64 (fixture:
// test/fixtures/make_tsne.py): wide, square and tall matrices, all singular values repeated, equal matrices;
// the float64 CPU reference against the same; and the network distances built on them
// (analysis/spectral.ts): [W | b] layers from the zoo's vectors, M2's sum over layers, and its indifference
// to the order of hidden units.
import { beforeAll, describe, expect, it } from 'vitest';
import { layerMatrices, spectralDistances } from '../src/analysis/spectral.js';
import { canonicalizeM2 } from '../src/models/zoo.js';
import { cpuPairwiseSpectralNorms, cpuSpectralNorm, pairwiseSpectralNorms, SPECTRAL_MAX } from '../src/ops/spectral.js';
import { tensor } from '../src/tensor/index.js';
import fx from './fixtures/tsne_sklearn.json';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

async function gpuNorms(mats: ArrayLike<number>, n: number, rows: number, cols: number): Promise<Float32Array> {
  const t = tensor(Float32Array.from(mats), [n, rows, cols]);
  const out = pairwiseSpectralNorms(t);
  const d = (await out.data()) as Float32Array;
  t.dispose();
  out.dispose();
  return d;
}

describe('pairwiseSpectralNorms', () => {
  for (const c of fx.spectral.cases) {
    it(`matches numpy's SVD: ${c.name} (${c.n} matrices of ${c.rows} x ${c.cols})`, async () => {
      const got = await gpuNorms(c.mats, c.n, c.rows, c.cols);
      expectClose(got, c.norms, 2e-6, 1e-6, `${c.name} norms`);
      for (let i = 0; i < c.n; i++) {
        expect(got[i * c.n + i], `${c.name} diagonal ${i}`).toBe(0);
        for (let j = 0; j < c.n; j++) expect(got[i * c.n + j]).toBe(got[j * c.n + i]);
      }
    });
  }

  it('the float64 CPU reference matches numpy to 1e-8', () => {
    for (const c of fx.spectral.cases) {
      const mats = Float32Array.from(c.mats); // the f32 values numpy saw (printed to 9 digits)
      expectClose(cpuPairwiseSpectralNorms(mats, c.n, c.rows, c.cols), c.norms, 1e-8, 1e-12, `${c.name} cpu`);
    }
  });

  it('equal matrices are at distance 0, and a near-repeated top singular value converges', async () => {
    const r = cpuRng(3);
    const a = r.uniform(4 * 4 * 6); // (4, 4, 6)
    const mats = Float32Array.from(a);
    mats.set(mats.subarray(0, 24), 24); // matrix 1 = matrix 0
    // matrix 3 - matrix 2 = diag(1, 1 - 1e-4, 0.5, 0.1) padded: a gap of 1e-4 needs 2^14 power steps
    const diag = [1, 1 - 1e-4, 0.5, 0.1];
    for (let k = 0; k < 24; k++) mats[72 + k] = mats[48 + k]!;
    diag.forEach((v, k) => {
      mats[72 + k * 6 + k] = mats[48 + k * 6 + k]! + v;
    });
    const got = await gpuNorms(mats, 4, 4, 6);
    expect(got[1]).toBe(0);
    expectClose([got[2 * 4 + 3]!], [1], 2e-6, 1e-6, 'near-repeated');
    expectClose(got, cpuPairwiseSpectralNorms(mats, 4, 4, 6), 2e-6, 1e-6, 'random 4 x 6');
  });

  it('rejects a wrong shape or a short side over the limit, saying what it takes', () => {
    const flat = tensor(new Float32Array(6), [2, 3]);
    expect(() => pairwiseSpectralNorms(flat)).toThrow(/expects f32 matrices \(N, R, C\), got f32 \(2, 3\)/);
    const big = tensor(new Float32Array(2 * (SPECTRAL_MAX + 1) ** 2), [2, SPECTRAL_MAX + 1, SPECTRAL_MAX + 1]);
    expect(() => pairwiseSpectralNorms(big)).toThrow(/short side of 1 to 16/);
    flat.dispose();
    big.dispose();
  });
});

describe('spectralDistances between networks', () => {
  it('M1: the 3 x 5 [W | b] of the zoo layout, as the fixture', async () => {
    const c = fx.spectral.cases[0]!; // the "sets" case is 3 x 5
    const vectors = Float32Array.from(c.mats);
    expect(layerMatrices(vectors, 'M1')[0]!.data).toEqual(vectors);
    expectClose(await spectralDistances(vectors, 'M1'), c.norms, 2e-6, 1e-6, 'M1 distances');
  });

  it('M2: [W1 | b1] and [W2 | b2] from the vector layout, norms summed; blind to hidden-unit order', async () => {
    const G = 5;
    const v = Float32Array.from(cpuRng(7).uniform(G * 43));
    const [l1, l2] = layerMatrices(v, 'M2');
    expect([l1!.rows, l1!.cols, l2!.rows, l2!.cols]).toEqual([5, 5, 3, 6]);
    // network 0: W1 row 2 is v[8..12), b1[2] is v[22]; W2 row 1 is v[25 + 5..+10), b2[1] is v[41]
    expect(Array.from(l1!.data.subarray(10, 15))).toEqual([...v.subarray(8, 12), v[22]]);
    expect(Array.from(l2!.data.subarray(6, 12))).toEqual([...v.subarray(30, 35), v[41]]);

    const c = canonicalizeM2(v);
    const lc = layerMatrices(c, 'M2');
    const want = new Float64Array(G * G);
    for (const l of lc) {
      const d = cpuPairwiseSpectralNorms(l.data, G, l.rows, l.cols);
      d.forEach((x, e) => {
        want[e] = want[e]! + x;
      });
    }
    expectClose(await spectralDistances(v, 'M2'), want, 2e-6, 1e-6, 'M2 distances');

    // network 4 = network 0 with its hidden units permuted: the same function, distance 0 after ordering
    const p = v.slice();
    const perm = [3, 0, 4, 1, 2];
    perm.forEach((h, k) => {
      for (let i = 0; i < 4; i++) p[4 * 43 + k * 4 + i] = v[h * 4 + i]!;
      p[4 * 43 + 20 + k] = v[20 + h]!;
      for (let o = 0; o < 3; o++) p[4 * 43 + 25 + o * 5 + k] = v[25 + o * 5 + h]!;
    });
    p.set(v.subarray(40, 43), 4 * 43 + 40);
    const d = await spectralDistances(p, 'M2');
    expect(d[4]).toBe(0);
    expect((await spectralDistances(p, 'M2', { canonical: false }))[4]).toBeGreaterThan(0.1);
    expect(cpuSpectralNorm([3, 0, 0, 4], 2, 2)).toBeCloseTo(4, 12);
  });
});
