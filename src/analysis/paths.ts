// Paths in weight space (paper 2, "Paths in Weight Space"): for pairs (z1, z2), the accuracy of the networks
// along the interpolated path G(t z1 + (1 - t) z2) and along the direct path t G(z1) + (1 - t) G(z2), t from 0
// to 1, both with gauge-fixed weights (what the hypernetwork emits). The two paths meet at their ends: t = 0 is
// G(z2), t = 1 is G(z1). High accuracy along the direct path too would mean the diversity is noise around one
// network; a dip means the generated networks lie on a curved manifold. Every network of every path is made and
// run on the GPU, all of one path kind in one batch. Browser-safe.
// Not here: drawing (figures-hypernet.ts), files (src/cli).

import type { MnistPart } from '../data/mnist.js';
import type { Hypernet } from '../models/hypernet.js';
import { accuracies } from '../models/hypernet-train.js';
import type { GeneratedLayer } from '../models/target-net.js';
import { add, mul, reshape, rsub } from '../ops/index.js';
import { fmtShape, noGrad, scope, type Tensor, tensor } from '../tensor/index.js';
import { layerProbabilities } from './networks.js';

export type PathKind = 'interpolated' | 'direct';

export interface PathsResult {
  t: number[]; // (points) from 0 (G(z2)) to 1 (G(z1))
  images: number;
  /** accuracy[kind][pair][point] */
  accuracy: Record<PathKind, number[][]>;
}

/** points values of t, evenly from 0 to 1 (both included). */
export function pathTimes(points: number): number[] {
  if (!Number.isInteger(points) || points < 2)
    throw new Error(`pathTimes: points ${points} must be a whole number >= 2`);
  return Array.from({ length: points }, (_, i) => i / (points - 1));
}

/** t a (P, T, ...) + (1 - t) b over every point t, for a and b (P, ...): (P * T, ...). */
function lerp(a: Tensor, b: Tensor, t: readonly number[]): Tensor {
  const [P, ...rest] = a.shape;
  const inner = rest.reduce((n, d) => n * d, 1);
  const T = t.length;
  const tt = tensor(t, [1, T, 1]);
  const a3 = reshape(a, [P!, 1, inner]);
  const b3 = reshape(b, [P!, 1, inner]);
  return reshape(add(mul(a3, tt), mul(b3, rsub(1, tt))), [P! * T, ...rest]); // (P, T, inner)
}

/**
 * The layers of the networks along both paths for the pairs (z1[p], z2[p]) (P, noise each), batch norm in
 * evaluation mode, no graph: per kind, GeneratedLayers of P * T networks, pair-major (network p * T + i is pair
 * p at t[i]). The caller disposes them.
 */
export function pathNetworks(
  net: Hypernet,
  z1: Tensor,
  z2: Tensor,
  t: readonly number[],
): Record<PathKind, GeneratedLayer[]> {
  if (z1.rank !== 2 || z1.shape[0] !== z2.shape[0] || z1.shape[1] !== z2.shape[1]) {
    throw new Error(`pathNetworks: z1 ${fmtShape(z1.shape)} and z2 ${fmtShape(z2.shape)} must both be (pairs, noise)`);
  }
  const wasTraining = net.training;
  net.eval();
  try {
    return noGrad(() =>
      scope(() => {
        const keep = (ls: GeneratedLayer[]) => ls.map((l) => ({ kernel: l.kernel.keep(), bias: l.bias.keep() }));
        const interpolated = keep(net.networks(lerp(z1, z2, t)));
        const [a, b] = [net.networks(z1), net.networks(z2)];
        const direct = keep(
          a.map((l, i) => ({ kernel: lerp(l.kernel, b[i]!.kernel, t), bias: lerp(l.bias, b[i]!.bias, t) })),
        );
        return { interpolated, direct };
      }),
    );
  } finally {
    if (wasTraining) net.train();
  }
}

/** Test accuracy along both paths for the pairs (z1[p], z2[p]), at the points t, on the images of `part`. */
export async function pathAccuracies(
  net: Hypernet,
  z1: Tensor,
  z2: Tensor,
  t: readonly number[],
  part: MnistPart,
): Promise<PathsResult> {
  const P = z1.shape[0]!;
  const T = t.length;
  const paths = pathNetworks(net, z1, z2, t);
  const accuracy = {} as Record<PathKind, number[][]>;
  try {
    for (const kind of ['interpolated', 'direct'] as const) {
      const probs = await layerProbabilities(net.config.target, paths[kind], part);
      const acc = accuracies(probs, part.y, P * T);
      accuracy[kind] = Array.from({ length: P }, (_, p) => Array.from(acc.subarray(p * T, (p + 1) * T)));
    }
  } finally {
    for (const kind of ['interpolated', 'direct'] as const) {
      for (const l of paths[kind]) {
        l.kernel.dispose();
        l.bias.dispose();
      }
    }
  }
  return { t: [...t], images: part.y.length, accuracy };
}
