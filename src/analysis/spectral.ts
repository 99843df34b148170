// Distances between the Iris zoos' networks in weight space, as the weight-VAE paper's t-SNE figure measures
// them: the spectral norm (largest singular value) of the difference of two networks' [W | b] matrices,
// computed on the GPU for every pair at once (src/ops/spectral.ts).
//
//   M1 (Linear(4, 3)): ||[W | b]_i - [W | b]_j||_2, the 3 x 5 matrices of the paper's code.
//   M2 (4-5-3): the paper has no two-layer distance; ours is the sum over the two layers of the same norm,
//       ||[W1 | b1]_i - [W1 | b1]_j||_2 + ||[W2 | b2]_i - [W2 | b2]_j||_2 (5 x 5 and 3 x 6), after putting
//       each network's hidden units in canonical order (canonicalizeM2). Permuting hidden units changes the
//       matrices but not the function, so without the ordering two copies of one network could be far
//       apart. A sum of norms of differences is a metric between the canonically ordered networks.
//
// Not here: the kernel (src/ops/spectral.ts), the embedding (tsne.ts), which networks (src/cli/iris-tsne.ts).

import { pairwiseSpectralNorms } from '../ops/spectral.js';
import { ARCHS, type Arch, canonicalizeM2, vectorLength } from '../models/zoo.js';
import { tensor } from '../tensor/index.js';

/** One layer of every network as a matrix [W | b]: data (G, rows, cols), rows = outputs, cols = inputs + 1. */
export interface LayerMatrices {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** The layers of G networks of `arch` as [W | b] matrices, from the zoo's vectors (G, P) (zoo.ts's layout). */
export function layerMatrices(vectors: Float32Array, arch: Arch): LayerMatrices[] {
  const P = vectorLength(arch);
  const G = vectors.length / P;
  if (!Number.isInteger(G)) {
    throw new Error(`layerMatrices: ${vectors.length} values are not a whole number of ${arch} vectors of ${P}`);
  }
  if (arch === 'M1') return [{ rows: ARCHS.M1[1], cols: ARCHS.M1[0] + 1, data: vectors.slice() }]; // [W | b] already
  const widths = ARCHS[arch];
  const out: LayerMatrices[] = [];
  let at = 0;
  for (let l = 1; l < widths.length; l++) {
    const [i, o] = [widths[l - 1]!, widths[l]!];
    const data = new Float32Array(G * o * (i + 1));
    for (let g = 0; g < G; g++) {
      const v = g * P + at; // W (o, i) row-major, then b (o)
      for (let r = 0; r < o; r++) {
        for (let c = 0; c < i; c++) data[(g * o + r) * (i + 1) + c] = vectors[v + r * i + c]!;
        data[(g * o + r) * (i + 1) + i] = vectors[v + o * i + r]!;
      }
    }
    out.push({ rows: o, cols: i + 1, data });
    at += o * (i + 1);
  }
  return out;
}

/**
 * The (G, G) matrix of distances between G networks (vectors (G, P) of `arch`): per layer the spectral norm of
 * the difference of [W | b], summed over layers. M2's hidden units are put in canonical order first unless
 * `canonical` is false.
 */
export async function spectralDistances(
  vectors: Float32Array,
  arch: Arch,
  o: { canonical?: boolean } = {},
): Promise<Float32Array> {
  const ordered = arch === 'M2' && o.canonical !== false ? canonicalizeM2(vectors) : vectors;
  const layers = layerMatrices(ordered, arch);
  const G = ordered.length / vectorLength(arch);
  const total = new Float32Array(G * G);
  for (const l of layers) {
    const mats = tensor(l.data, [G, l.rows, l.cols]);
    const norms = pairwiseSpectralNorms(mats);
    const d = await norms.data();
    mats.dispose();
    norms.dispose();
    for (let e = 0; e < total.length; e++) total[e] = total[e]! + d[e]!;
  }
  return total;
}
