// The hypernetwork paper's adversarial experiment (docs/models.md; paper 2, "Evaluation"): the targeted fast
// gradient sign method against one generated network and against a majority-vote ensemble of others.
// Each test image the single network classifies right gets a target t = (y + r) mod K, r uniform in 1..K-1;
// its adversarial images are clip(x + eps sign(grad_x log p_t(x)), 0, 1) for eps over a grid (0 to 0.24 of
// the pixel range), and the eps needed is the FIRST of the grid at which the network (the ensemble's
// majority vote) says t (the decision: the paper's code took the second). The gradient is the single
// network's, and the ensemble sees the very same adversarial images: the paper's steps 4-6 make the
// examples with the attacked network theta and then "test for which values eps the adversarial examples
// generated in step 4 fool the ensemble", i.e. a transfer attack, which is what its figure compares
// (option `gradient: 'ensemble'` makes them with the ensemble's summed gradient instead, a white-box attack).
// log p_t has the gradient of p_t divided by p_t > 0, so the same signs, without p_t underflowing to 0.
// Not here: making the networks (models/hypernet.ts), the figure spec and the command.

import { fgsmPerturb } from '../ops/fgsm.js';
import { argmax, concat, crossEntropy, expand, gatherRows, reshape, slice } from '../ops/index.js';
import type { GeneratedLayer, TargetSpec } from '../models/target-net.js';
import { targetForward } from '../models/target-net.js';
import {
  backward,
  fmtShape,
  full,
  isGradEnabled,
  noGrad,
  requireGrad,
  type Rng,
  scope,
  type Tensor,
  tensor,
} from '../tensor/index.js';

/** The paper's step sizes: 0 to 0.24 of the pixel range, here in steps of 0.01. */
export const EPS_GRID: readonly number[] = Array.from({ length: 25 }, (_, i) => i / 100);

/** (y + r) mod classes with r uniform in 1..classes-1: a label other than y, each equally likely. */
export function fgsmTargets(labels: ArrayLike<number>, classes: number, rng: Rng): Int32Array {
  const u = rng.uniformCpu(labels.length);
  return Int32Array.from(labels, (y, i) => (y + 1 + Math.floor(u[i]! * (classes - 1))) % classes);
}

/** The networks' weights cut from any graph they came from: the attack differentiates the input only. */
const detached = (layers: readonly GeneratedLayer[]) =>
  layers.map((l) => ({ kernel: l.kernel.detach(), bias: l.bias.detach() }));

/**
 * d/dx sum_g sum_i log p_g(targets_i | x_i) for the images x (n, H, W, C) and the G networks of `layers`
 * (G = 1: the network's own gradient), through targetForward: (n, H, W, C). Needs grad mode (not inside
 * noGrad); the networks' weights get no gradient.
 */
export function inputGradient(
  spec: TargetSpec,
  layers: readonly GeneratedLayer[],
  x: Tensor,
  targets: ArrayLike<number>,
): Tensor {
  const [n, H, W, C] = x.shape as [number, number, number, number];
  if (x.rank !== 4 || targets.length !== n) {
    throw new Error(
      `inputGradient: images ${fmtShape(x.shape)} with ${targets.length} targets; expected (n, H, W, C) and n targets`,
    );
  }
  if (!isGradEnabled()) throw new Error('inputGradient: grad mode is off (called inside noGrad()); call it outside');
  const G = layers[0]!.kernel.shape[0]!;
  return scope(() => {
    const xv = requireGrad(x.detach());
    const logits = targetForward(spec, detached(layers), expand(reshape(xv, [1, n, H, W, C]), [G, n, H, W, C]));
    const labels = tensor(
      Int32Array.from({ length: G * n }, (_, i) => targets[i % n]!),
      [G * n],
      'i32',
    );
    const loss = crossEntropy(reshape(logits, [G * n, spec.classes]), labels, 'sum'); // -sum log p
    backward(loss, full([], -1)); // d(sum log p) = -d(cross-entropy)
    const g = xv.grad!; // kept by backward(): hand out a tracked view of it instead
    xv.grad = null;
    const out = g.view(g.shape);
    g.dispose();
    return out;
  });
}

/** Predicted classes (G, n) of the G networks on the images x (n, H, W, C), perDispatch images x networks a pass. */
export async function classify(
  spec: TargetSpec,
  layers: readonly GeneratedLayer[],
  x: Tensor,
  perDispatch = 1024,
): Promise<Int32Array> {
  const [n, H, W, C] = x.shape as [number, number, number, number];
  const G = layers[0]!.kernel.shape[0]!;
  const out = new Int32Array(G * n);
  const chunk = Math.max(1, Math.floor(perDispatch / G));
  for (let at = 0; at < n; at += chunk) {
    const c = Math.min(chunk, n - at);
    const pred = noGrad(() =>
      scope(() => {
        const part = slice(x, [at, 0, 0, 0], [c, H, W, C]);
        return argmax(targetForward(spec, layers, expand(reshape(part, [1, c, H, W, C]), [G, c, H, W, C])), -1);
      }),
    );
    const v = (await pred.data()) as Int32Array; // (G, c)
    pred.dispose();
    for (let g = 0; g < G; g++) out.set(v.subarray(g * c, (g + 1) * c), g * n + at);
  }
  return out;
}

/** The majority vote of G predictions (G, n) for image i (ties to the lowest class, as ensembleAccuracy). */
export function vote(pred: Int32Array, G: number, n: number, i: number, classes: number): number {
  const count = new Int32Array(classes);
  for (let g = 0; g < G; g++) count[pred[g * n + i]!]!++;
  let best = 0;
  for (let k = 1; k < classes; k++) if (count[k]! > count[best]!) best = k;
  return best;
}

export interface EpsOptions {
  grid?: readonly number[]; // ascending, >= 0 (default EPS_GRID)
  range?: readonly [number, number]; // the pixels' (default [0, 1])
  perDispatch?: number; // images x networks per forward pass (default 1024)
}

/**
 * For each image of x (n, H, W, C): the first eps of the grid at which the majority vote of the networks
 * (one network: its prediction) on clip(x + eps sign(grad)) is the image's target; Infinity when none is.
 * Images are dropped from later passes once fooled, so a network that is easy to fool costs little.
 */
export async function epsNeeded(
  spec: TargetSpec,
  layers: readonly GeneratedLayer[],
  x: Tensor,
  grad: Tensor,
  targets: ArrayLike<number>,
  o: EpsOptions = {},
): Promise<Float64Array> {
  const grid = checkGrid(o.grid ?? EPS_GRID);
  const [n, H, W, C] = x.shape as [number, number, number, number];
  const G = layers[0]!.kernel.shape[0]!;
  const chunk = Math.max(1, Math.floor((o.perDispatch ?? 1024) / G));
  const need = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  let active = Array.from({ length: n }, (_, i) => i);
  for (const eps of grid) {
    const still: number[] = [];
    for (let at = 0; at < active.length; at += chunk) {
      const ids = active.slice(at, at + chunk);
      const c = ids.length;
      const pred = noGrad(() =>
        scope(() => {
          const idx = tensor(Int32Array.from(ids), [c], 'i32');
          const xs = gatherRows(reshape(x, [n, H * W * C]), idx);
          const gs = gatherRows(reshape(grad, [n, H * W * C]), idx);
          const adv = reshape(fgsmPerturb(xs, gs, [eps], o.range), [1, c, H, W, C]);
          return argmax(targetForward(spec, layers, expand(adv, [G, c, H, W, C])), -1); // (G, c)
        }),
      );
      const v = (await pred.data()) as Int32Array;
      pred.dispose();
      ids.forEach((id, j) => {
        if (vote(v, G, c, j, spec.classes) === targets[id]) need[id] = eps;
        else still.push(id);
      });
    }
    active = still;
    if (!active.length) break;
  }
  return need;
}

function checkGrid(grid: readonly number[]): readonly number[] {
  if (!grid.length || grid.some((e, i) => !(e >= 0) || !Number.isFinite(e) || (i > 0 && e <= grid[i - 1]!))) {
    throw new Error(`fgsm: the eps grid must be finite, >= 0 and ascending, got [${grid}]`);
  }
  return grid;
}

export interface FgsmOptions extends EpsOptions {
  spec: TargetSpec;
  single: readonly GeneratedLayer[]; // one network (G = 1): the one attacked
  ensemble?: readonly GeneratedLayer[]; // G networks whose majority vote sees the same adversarial images
  images: Float32Array; // (N, H, W, C) in the pixel range
  labels: ArrayLike<number>; // (N)
  rng: Rng; // draws the targets
  /** Whose gradient makes the adversarial images: the single network's (default, the paper's) or the ensemble's sum. */
  gradient?: 'single' | 'ensemble';
}

export interface FgsmResult {
  grid: number[];
  attacked: Int32Array; // indices of the images the single network classifies right: the ones attacked
  targets: Int32Array; // the target of each attacked image
  single: Float64Array; // eps needed to fool the single network, per attacked image (Infinity: none of the grid)
  ensemble: Float64Array | null; // eps needed to fool the ensemble's majority vote, on the same images
}

/** The experiment: see the file's header. */
export async function fgsm(o: FgsmOptions): Promise<FgsmResult> {
  const [H, W, C] = o.spec.input;
  const N = o.labels.length;
  if (o.images.length !== N * H * W * C || o.single[0]?.kernel.shape[0] !== 1) {
    throw new Error(
      `fgsm: ${o.images.length} pixel values for ${N} labels of ${H}x${W}x${C} images (expected ${N * H * W * C}), ` +
        `and ${o.single[0]?.kernel.shape[0]} networks as 'single' (expected 1)`,
    );
  }
  const grid = [...checkGrid(o.grid ?? EPS_GRID)];
  const all = tensor(o.images, [N, H, W, C]);
  const pred = await classify(o.spec, o.single, all, o.perDispatch);
  all.dispose();
  const attacked = Int32Array.from({ length: N }, (_, i) => i).filter((i) => pred[i] === o.labels[i]);
  const targets = fgsmTargets(
    Array.from(attacked, (i) => o.labels[i]!),
    o.spec.classes,
    o.rng,
  );
  if (!attacked.length) {
    return { grid, attacked, targets, single: new Float64Array(0), ensemble: o.ensemble ? new Float64Array(0) : null };
  }
  const pixels = H * W * C;
  const x = tensor(
    Float32Array.from(
      { length: attacked.length * pixels },
      (_, e) => o.images[attacked[Math.floor(e / pixels)]! * pixels + (e % pixels)]!,
    ),
    [attacked.length, H, W, C],
  );
  const by = o.gradient === 'ensemble' && o.ensemble ? o.ensemble : o.single;
  const grad = gradients(o.spec, by, x, targets, o.perDispatch ?? 1024);
  try {
    const eo = { ...o, grid };
    const single = await epsNeeded(o.spec, o.single, x, grad, targets, eo);
    const ensemble = o.ensemble ? await epsNeeded(o.spec, o.ensemble, x, grad, targets, eo) : null;
    return { grid, attacked, targets, single, ensemble };
  } finally {
    x.dispose();
    grad.dispose();
  }
}

/** inputGradient over the images in chunks of perDispatch images x networks. */
function gradients(
  spec: TargetSpec,
  layers: readonly GeneratedLayer[],
  x: Tensor,
  targets: Int32Array,
  perDispatch: number,
): Tensor {
  const [n, H, W, C] = x.shape as [number, number, number, number];
  const chunk = Math.max(1, Math.floor(perDispatch / layers[0]!.kernel.shape[0]!));
  if (n <= chunk) return inputGradient(spec, layers, x, targets);
  return scope(() => {
    const parts: Tensor[] = [];
    for (let at = 0; at < n; at += chunk) {
      const c = Math.min(chunk, n - at);
      const xs = noGrad(() => slice(x, [at, 0, 0, 0], [c, H, W, C]));
      parts.push(inputGradient(spec, layers, xs, targets.subarray(at, at + c)));
    }
    return noGrad(() => concat(parts, 0)); // the parts are freed with the scope
  });
}

// ---- for the figure and the JSON ------------------------------------------------------------------------

/** The fraction of images fooled at each eps of the grid (eps needed <= eps): the CDF the figure draws. */
export function fooledFraction(need: ArrayLike<number>, grid: readonly number[]): number[] {
  return grid.map((eps) => {
    let k = 0;
    for (let i = 0; i < need.length; i++) if (need[i]! <= eps) k++;
    return need.length ? k / need.length : 0;
  });
}

/** Eps needed as JSON values: null for Infinity (no eps of the grid fooled it). */
export function epsToJson(need: ArrayLike<number>): (number | null)[] {
  return Array.from(need, (e) => (Number.isFinite(e) ? e : null));
}
