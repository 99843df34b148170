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
// Another dataset's networks (src/models/task.ts) are measured the same way on their widths.
//
// Not here: the kernel (src/ops/spectral.ts), the embedding (tsne.ts), which networks (src/cli/iris-tsne.ts).

import { pairwiseSpectralNorms } from '../ops/spectral.js';
import { canonicalOrder, type Net, vectorLayers, vectorLength } from '../models/zoo.js';
import { tensor } from '../tensor/index.js';

/** One layer of every network as a matrix [W | b]: data (G, rows, cols), rows = outputs, cols = inputs + 1. */
export type LayerMatrices = ReturnType<typeof vectorLayers>[number];

/** The layers of G networks of `net` as [W | b] matrices, from the zoo's vectors (G, P) (zoo.ts's layout). */
export function layerMatrices(vectors: Float32Array, net: Net): LayerMatrices[] {
  return vectorLayers(net, vectors);
}

/**
 * The (G, G) matrix of distances between G networks (vectors (G, P) of `net`: Iris's M1 or M2, or another
 * dataset's widths): per layer the spectral norm of the difference of [W | b], summed over layers. Hidden
 * units are put in canonical order first unless `canonical` is false.
 */
export async function spectralDistances(
  vectors: Float32Array,
  net: Net,
  o: { canonical?: boolean } = {},
): Promise<Float32Array> {
  const ordered = o.canonical !== false ? canonicalOrder(net, vectors) : vectors;
  const layers = layerMatrices(ordered, net);
  const G = ordered.length / vectorLength(net);
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
