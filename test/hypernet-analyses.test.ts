// The hypernetwork analyses' GPU pieces (src/analysis: networks.ts, ensembles.ts, paths.ts, diversity.ts) on a
// micro hypernetwork and random images, each against an independent computation:
// - ensembles grown one member at a time equal ensembleAccuracy over the same members, for every size, rule
//   and ensemble (probabilities with ties included);
// - the networks along both paths equal, read back, G of the CPU-interpolated z and the CPU interpolation of
//   G(z1), G(z2); their ends are G(z2) and G(z1); path accuracies equal those of networkProbabilities;
// - layerProbabilities of G(z) equals networkProbabilities of z;
// - L1 distances and disagreements against a float64 CPU computation on the read-back weights and predictions;
// - filterSamples equals the read-back first layer.
// Runs in Node and in Chromium. The command line on a trained run: hypernet-analyze.node.test.ts.

import { beforeAll, describe, expect, it } from 'vitest';
import { disagreements, filterSamples, upperTriangle, weightDistances } from '../src/analysis/diversity.js';
import { EnsembleCurves, ENSEMBLE_RULES, spread } from '../src/analysis/ensembles.js';
import { forEachNetworkBlock, layerProbabilities, predictions } from '../src/analysis/networks.js';
import { pathAccuracies, pathNetworks, pathTimes } from '../src/analysis/paths.js';
import type { MnistPart } from '../src/data/mnist.js';
import { Hypernet } from '../src/models/hypernet.js';
import { accuracies, ensembleAccuracy, networkProbabilities } from '../src/models/hypernet-train.js';
import type { GeneratedLayer, TargetSpec } from '../src/models/target-net.js';
import { cpuPairwiseDistances } from '../src/ops/index.js';
import { noGrad, Rng, scope, type Tensor, tensor } from '../src/tensor/index.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

// input 6x6x1 -> conv 3 (k3, pool 2) -> 3x3x3 -> dense 4 -> dense 3 (the logits)
const MICRO_TARGET: TargetSpec = {
  name: 'micro',
  input: [6, 6, 1],
  classes: 3,
  layers: [
    { kind: 'conv', filters: 3, kernel: 3, pool: 2, hidden: 4 },
    { kind: 'dense', units: 4, hidden: 5 },
    { kind: 'dense', units: 3, hidden: 5 },
  ],
};
const NOISE = 6;

function microNet(seed: number): Hypernet {
  const net = new Hypernet(
    { target: MICRO_TARGET, noise: NOISE, code: 3, extractorHidden: 5, faithful: false },
    new Rng(seed),
  );
  net.eval();
  return net;
}

function images(n: number, seed: number): MnistPart {
  const r = cpuRng(seed);
  return { x: Float32Array.from(r.uniform(n * 36, 0, 1)), y: Int32Array.from({ length: n }, () => r.int(0, 3)) };
}

/** Rows of noise in U[-1, 1], on the CPU (so the test can interpolate them itself). */
function noise(rows: number, seed: number): Float64Array {
  return cpuRng(seed).uniform(rows * NOISE, -1, 1);
}

async function readLayers(layers: GeneratedLayer[]): Promise<{ kernel: Float32Array; bias: Float32Array }[]> {
  return Promise.all(
    layers.map(async (l) => ({
      kernel: (await l.kernel.data()) as Float32Array,
      bias: (await l.bias.data()) as Float32Array,
    })),
  );
}

async function networksOf(net: Hypernet, z: Float64Array | Float32Array, rows: number) {
  const zt = tensor(z, [rows, NOISE]);
  const layers = noGrad(() =>
    scope(() => net.networks(zt).map((l) => ({ kernel: l.kernel.keep(), bias: l.bias.keep() }))),
  );
  zt.dispose();
  const out = await readLayers(layers);
  for (const l of layers) {
    l.kernel.dispose();
    l.bias.dispose();
  }
  return out;
}

describe('ensembles grown a member at a time', () => {
  it('equal ensembleAccuracy over the same members, every size, rule and ensemble', () => {
    const r = cpuRng(5);
    const [count, maxSize, N, K] = [3, 4, 41, 4];
    const G = count * maxSize;
    // probabilities in steps of 1/8, so that votes, sums and confidences tie often
    const probs = new Float32Array(G * N * K);
    for (let row = 0; row < G * N; row++) {
      const w = Array.from({ length: K }, () => r.int(0, 4));
      const s = w.reduce((a, b) => a + b, 0) || 1;
      w.forEach((v, j) => {
        probs[row * K + j] = v / s;
      });
    }
    const labels = Int32Array.from({ length: N }, () => r.int(0, K));
    const curves = new EnsembleCurves(labels, K, count, maxSize);
    // members arrive ensemble-interleaved, each ensemble's in order
    for (let k = 0; k < maxSize; k++)
      for (let e = 0; e < count; e++) curves.add(e * maxSize + k, probs, (e * maxSize + k) * N * K);
    const res = curves.result();
    for (const rule of ENSEMBLE_RULES) {
      for (let k = 1; k <= maxSize; k++) {
        for (let e = 0; e < count; e++) {
          const members = Array.from({ length: k }, (_, i) => e * maxSize + i);
          expect(res.accuracy[rule][k - 1]![e], `${rule} size ${k} ensemble ${e}`).toBe(
            ensembleAccuracy(probs, labels, G, members, rule),
          );
        }
      }
    }
    // size 1 is each ensemble's first network alone
    const single = accuracies(probs, labels, G);
    expect(spread(res.accuracy.vote[0]!).mean).toBeCloseTo(spread([0, 1, 2].map((e) => single[e * maxSize]!)).mean, 12);
  });

  it('refuses members out of order, outside the pool, and a result before every ensemble is full', () => {
    const curves = new EnsembleCurves(new Int32Array(2), 2, 2, 2);
    const p = new Float32Array(4).fill(0.5);
    expect(() => curves.add(1, p)).toThrow(/member 1 of ensemble 0, which holds 0/);
    expect(() => curves.add(4, p)).toThrow(/outside the pool of 2 x 2/);
    curves.add(0, p);
    expect(() => curves.result()).toThrow(/ensemble 0 holds 1 of 2/);
  });
});

describe('paths in weight space', () => {
  it('the networks along both paths are G(t z1 + (1-t) z2) and t G(z1) + (1-t) G(z2)', async () => {
    const net = microNet(11);
    const P = 2;
    const t = pathTimes(5);
    const [a, b] = [noise(P, 1), noise(P, 2)];
    const [z1, z2] = [tensor(a, [P, NOISE]), tensor(b, [P, NOISE])];
    const paths = pathNetworks(net, z1, z2, t);
    const got = { interpolated: await readLayers(paths.interpolated), direct: await readLayers(paths.direct) };
    const [g1, g2] = [await networksOf(net, a, P), await networksOf(net, b, P)];
    // the CPU's interpolated z, pair-major, and its networks
    const zt = new Float64Array(P * t.length * NOISE);
    for (let p = 0; p < P; p++)
      t.forEach((ti, i) => {
        for (let d = 0; d < NOISE; d++)
          zt[(p * t.length + i) * NOISE + d] = ti * a[p * NOISE + d]! + (1 - ti) * b[p * NOISE + d]!;
      });
    const want = await networksOf(net, zt, P * t.length);
    got.interpolated.forEach((l, i) => {
      expectClose(l.kernel, want[i]!.kernel, 1e-4, 1e-5, `interpolated layer ${i} kernel`);
      expectClose(l.bias, want[i]!.bias, 1e-4, 1e-5, `interpolated layer ${i} bias`);
    });
    got.direct.forEach((l, i) => {
      for (const part of ['kernel', 'bias'] as const) {
        const n = g1[i]![part].length / P;
        const lerp = new Float64Array(P * t.length * n);
        for (let p = 0; p < P; p++)
          t.forEach((ti, k) => {
            for (let j = 0; j < n; j++)
              lerp[(p * t.length + k) * n + j] = ti * g1[i]![part][p * n + j]! + (1 - ti) * g2[i]![part][p * n + j]!;
          });
        expectClose(l[part], lerp, 1e-5, 1e-6, `direct layer ${i} ${part}`);
        // the ends: t = 0 is G(z2), t = 1 is G(z1), on both paths
        for (let p = 0; p < P; p++) {
          const at = (k: number) => l[part].subarray((p * t.length + k) * n, (p * t.length + k + 1) * n);
          expectClose(at(0), g2[i]![part].subarray(p * n, (p + 1) * n), 1e-5, 1e-6, `pair ${p} t=0`);
          expectClose(at(t.length - 1), g1[i]![part].subarray(p * n, (p + 1) * n), 1e-5, 1e-6, `pair ${p} t=1`);
        }
      }
    });
    for (const l of [...paths.interpolated, ...paths.direct]) {
      l.kernel.dispose();
      l.bias.dispose();
    }
    // accuracies along the interpolated path: those of networkProbabilities on the CPU's z
    const part = images(30, 3);
    const res = await pathAccuracies(net, z1, z2, t, part);
    const ztT = tensor(zt, [P * t.length, NOISE]);
    const acc = accuracies(await networkProbabilities(net, ztT, part), part.y, P * t.length);
    // z interpolated on the GPU and on the CPU may differ in the last bit: allow one image's flip per network
    expectClose(res.accuracy.interpolated.flat(), acc, 0, 1 / part.y.length + 1e-9, 'interpolated path');
    for (let p = 0; p < P; p++) {
      expect(res.accuracy.direct[p]![0]).toBe(res.accuracy.interpolated[p]![0]);
      expect(res.accuracy.direct[p]![t.length - 1]).toBe(res.accuracy.interpolated[p]![t.length - 1]);
    }
    for (const x of [z1, z2, ztT]) x.dispose();
    net.dispose();
  });
});

describe('generated networks', () => {
  it('layerProbabilities of G(z) equals networkProbabilities of z; blocks cover every network once', async () => {
    const net = microNet(12);
    const G = 5;
    const part = images(23, 4);
    const z = tensor(noise(G, 5), [G, NOISE]);
    const want = await networkProbabilities(net, z, part);
    const layers = noGrad(() =>
      scope(() => net.networks(z).map((l) => ({ kernel: l.kernel.keep(), bias: l.bias.keep() }))),
    );
    expectClose(await layerProbabilities(MICRO_TARGET, layers, part, 7), want, 1e-5, 1e-6, 'probabilities');
    for (const l of layers) {
      l.kernel.dispose();
      l.bias.dispose();
    }
    const seen: number[] = [];
    const blocks = new Float32Array(want.length);
    await forEachNetworkBlock(net, z, part, 2, (probs, first, n) => {
      for (let g = first; g < first + n; g++) seen.push(g);
      blocks.set(probs, first * part.y.length * 3);
    });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expectClose(blocks, want, 1e-5, 1e-6, 'block probabilities');
    z.dispose();
    net.dispose();
  });

  it('L1 distances between gauge-fixed networks, and disagreements, against the CPU', async () => {
    const net = microNet(13);
    const G = 6;
    const zv = noise(G, 6);
    const z = tensor(zv, [G, NOISE]);
    const w = noGrad(() => net.forward(z));
    const flat = (await w.data()) as Float32Array;
    w.dispose();
    const D = flat.length / G;
    const got = await weightDistances(net, z);
    expectClose(got, cpuPairwiseDistances(flat, flat, G, G, D, 'l1'), 1e-4, 1e-4, 'L1 distances');
    expect(upperTriangle(got, G)).toHaveLength((G * (G - 1)) / 2);
    // predictions with deliberate agreement: rows copy row 0 in part
    const N = 50;
    const K = 3;
    const r = cpuRng(7);
    const pred = Int32Array.from({ length: G * N }, (_, i) => (i >= N && r.next() < 0.5 ? -1 : r.int(0, K)));
    for (let i = N; i < G * N; i++) if (pred[i] === -1) pred[i] = pred[i % N]!;
    const dis = await disagreements(pred, G, K);
    for (let a = 0; a < G; a++) {
      for (let b = 0; b < G; b++) {
        let differ = 0;
        for (let i = 0; i < N; i++) if (pred[a * N + i] !== pred[b * N + i]) differ++;
        expect(dis[a * G + b], `pair (${a}, ${b})`).toBeCloseTo(differ / N, 6);
      }
    }
    expect(predictions(Float32Array.from([0.2, 0.5, 0.3, 0.4, 0.4, 0.2]), 2, 3)).toEqual(Int32Array.from([1, 0]));
    z.dispose();
    net.dispose();
  });

  it('filterSamples is one filter of the first layer across z, and refuses a filter that is not there', async () => {
    const net = microNet(14);
    const G = 4;
    const zv = noise(G, 8);
    const z: Tensor = tensor(zv, [G, NOISE]);
    const layers = await networksOf(net, zv, G);
    const got = await filterSamples(net, z, 2);
    expect(got.fanIn).toBe(9);
    for (let g = 0; g < G; g++) {
      expectClose(
        got.kernels.subarray(g * 9, (g + 1) * 9),
        layers[0]!.kernel.subarray((g * 3 + 2) * 9, (g * 3 + 3) * 9),
        0,
        0,
        `network ${g}`,
      );
      expect(got.biases[g]).toBe(layers[0]!.bias[g * 3 + 2]);
    }
    await expect(filterSamples(net, z, 3)).rejects.toThrow(/filter 3 of layer 1, which has 3/);
    await expect(filterSamples(net, z, 0, 2)).rejects.toThrow(/layer 2 has no filters/);
    z.dispose();
    net.dispose();
  });
});
