// Generated networks at work, for the hypernetwork's analyses (paper 2, "Evaluation"): class probabilities of
// networks given as layers (interpolated ones, which no z makes), of many networks from z a block at a time (so
// that 4,000 networks x 10,000 test images never sit in memory at once), and each network's predictions.
// The target networks run on the GPU, G of them in one grouped pass. Browser-safe.
// Not here: the analyses built on these (ensembles.ts, paths.ts, diversity.ts), drawing, files.

import type { MnistPart } from '../data/mnist.js';
import type { Hypernet } from '../models/hypernet.js';
import { networkProbabilities } from '../models/hypernet-train.js';
import { type GeneratedLayer, type TargetSpec, targetForward } from '../models/target-net.js';
import { expand, slice, softmax } from '../ops/index.js';
import { fmtShape, noGrad, scope, type Tensor, tensor } from '../tensor/index.js';

/**
 * Class probabilities (G, N, classes) of the G networks in `layers` (as GeneratedLayer: kernels (G, ...)), every
 * network on every image of `part`, images in chunks of about perDispatch / G (networkProbabilities' scheme).
 */
export async function layerProbabilities(
  target: TargetSpec,
  layers: readonly GeneratedLayer[],
  part: MnistPart,
  perDispatch = 1024,
): Promise<Float32Array> {
  const [H, W, C] = target.input;
  const G = layers[0]?.kernel.shape[0] ?? 0;
  const N = part.y.length;
  const K = target.classes;
  if (part.x.length !== N * H * W * C) {
    throw new Error(`layerProbabilities: ${part.x.length} pixels for ${N} images of ${fmtShape([H, W, C])}`);
  }
  const out = new Float32Array(G * N * K);
  const chunk = Math.max(1, Math.floor(perDispatch / Math.max(G, 1)));
  for (let at = 0; at < N; at += chunk) {
    const c = Math.min(chunk, N - at);
    const probs = noGrad(() =>
      scope(() => {
        const x = tensor(part.x.subarray(at * H * W * C, (at + c) * H * W * C), [1, c, H, W, C]);
        return softmax(targetForward(target, layers, expand(x, [G, c, H, W, C])));
      }),
    );
    const v = await probs.data(); // (G, c, K)
    probs.dispose();
    for (let g = 0; g < G; g++) out.set(v.subarray(g * c * K, (g + 1) * c * K), (g * N + at) * K);
  }
  return out;
}

/**
 * Calls fn with the probabilities (n, N, classes) of networks first .. first + n - 1 made from the rows of z
 * (G, noise), `block` networks at a time, in order. Each network's outputs are computed once.
 */
export async function forEachNetworkBlock(
  net: Hypernet,
  z: Tensor,
  part: MnistPart,
  block: number,
  fn: (probs: Float32Array, first: number, n: number) => void | Promise<void>,
): Promise<void> {
  const [G, D] = z.shape as [number, number];
  if (!Number.isInteger(block) || block < 1) throw new Error(`forEachNetworkBlock: block ${block} must be >= 1`);
  for (let first = 0; first < G; first += block) {
    const n = Math.min(block, G - first);
    const zb = slice(z, [first, 0], [n, D]);
    let probs: Float32Array;
    try {
      probs = await networkProbabilities(net, zb, part);
    } finally {
      zb.dispose();
    }
    await fn(probs, first, n);
  }
}

/** Networks per block so that one block's probabilities stay near `budget` values (64 MiB of f32 by default). */
export function networksPerBlock(images: number, classes: number, budget = 2 ** 24): number {
  return Math.max(1, Math.floor(budget / Math.max(1, images * classes)));
}

/** Each row's class (the first of the largest): probabilities (rows, K) -> (rows). */
export function predictions(probs: ArrayLike<number>, rows: number, K: number, at = 0): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const p = at + r * K;
    let best = 0;
    for (let j = 1; j < K; j++) if (probs[p + j]! > probs[p + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/** The fraction of `labels` that `pred` gets right. */
export function accuracyOf(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) right++;
  return right / labels.length;
}
