// How different the generated networks are (paper 2, "Diversity"; the pairwise numbers are what a reader asks
// next): L1 distances between the gauge-fixed weight vectors of every pair of networks, the fraction of test
// images on which two networks disagree, and samples of one filter across z (the paper's filter figures).
// Distances run on the GPU (src/ops/distance.ts); disagreement too, as half the L1 distance between one-hot
// predictions. Browser-safe. Not here: drawing (figures-hypernet.ts), files (src/cli).

import type { Hypernet } from '../models/hypernet.js';
import { layerShapes } from '../models/target-net.js';
import { pairwiseDistances, slice } from '../ops/index.js';
import { noGrad, scope, type Tensor, tensor } from '../tensor/index.js';

/** The values above the diagonal of a (G, G) matrix, row by row: (i, j) for i < j. */
export function upperTriangle(m: ArrayLike<number>, G: number): number[] {
  if (m.length !== G * G) throw new Error(`upperTriangle: ${m.length} values for a ${G} x ${G} matrix`);
  const out: number[] = [];
  for (let i = 0; i < G; i++) for (let j = i + 1; j < G; j++) out.push(m[i * G + j]!);
  return out;
}

/** Runs fn with batch norm in evaluation mode and no graph, then restores the mode. */
function evaluating<T>(net: Hypernet, fn: () => T): T {
  const wasTraining = net.training;
  net.eval();
  try {
    return noGrad(fn);
  } finally {
    if (wasTraining) net.train();
  }
}

/** L1 distances (G, G) between the gauge-fixed, flattened weights of the networks made from z (G, noise). */
export async function weightDistances(net: Hypernet, z: Tensor): Promise<Float32Array> {
  const d = evaluating(net, () =>
    scope(() => {
      const w = net.forward(z); // (G, weights)
      return pairwiseDistances(w, w, 'l1');
    }),
  );
  try {
    return (await d.data()) as Float32Array;
  } finally {
    d.dispose();
  }
}

/**
 * The fraction of images on which each pair of networks predicts differently, (G, G), from predictions
 * (G, N) in [0, K): sum |onehot_a - onehot_b| / 2N, on the GPU.
 */
export async function disagreements(pred: Int32Array, G: number, K: number): Promise<Float32Array> {
  const N = pred.length / G;
  if (!Number.isInteger(N)) throw new Error(`disagreements: ${pred.length} predictions are not ${G} rows`);
  const onehot = new Float32Array(G * N * K); // (G, N * K)
  for (let r = 0; r < G * N; r++) {
    const k = pred[r]!;
    if (!(k >= 0 && k < K)) throw new Error(`disagreements: prediction ${r} is ${k}, outside [0, ${K})`);
    onehot[r * K + k] = 1;
  }
  const d = scope(() => {
    const x = tensor(onehot, [G, N * K]);
    return pairwiseDistances(x, x, 'l1');
  });
  try {
    const v = (await d.data()) as Float32Array;
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / (2 * N);
    return v;
  } finally {
    d.dispose();
  }
}

/**
 * One filter of one per-unit layer (0: the first) across the networks made from z (G, noise), gauge-fixed:
 * kernels (G, fanIn) in the layer's row order (kh, kw, cin for a conv), and biases (G).
 */
export async function filterSamples(
  net: Hypernet,
  z: Tensor,
  filter: number,
  layer = 0,
): Promise<{ kernels: Float32Array; biases: Float32Array; fanIn: number }> {
  const s = layerShapes(net.config.target)[layer];
  if (!s?.perUnit) throw new Error(`filterSamples: layer ${layer} has no filters (a layer of one code per unit)`);
  if (!Number.isInteger(filter) || filter < 0 || filter >= s.units) {
    throw new Error(
      `filterSamples: filter ${filter} of layer ${layer + 1}, which has ${s.units} (0 .. ${s.units - 1})`,
    );
  }
  const G = z.shape[0]!;
  const [k, b] = evaluating(net, () =>
    scope(() => {
      const l = net.networks(z)[layer]!; // kernel (G, units, fanIn), bias (G, units)
      return [slice(l.kernel, [0, filter, 0], [G, 1, s.fanIn]), slice(l.bias, [0, filter], [G, 1])];
    }),
  );
  try {
    const kernels = (await k!.data()) as Float32Array; // (G, 1, fanIn)
    const biases = (await b!.data()) as Float32Array; // (G, 1)
    return { kernels, biases, fanIn: s.fanIn };
  } finally {
    k!.dispose();
    b!.dispose();
  }
}
