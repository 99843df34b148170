// t-SNE on the GPU from a precomputed distance matrix, as scikit-learn 1.2's
// TSNE(metric='precomputed', method='exact') runs it: the distances are squared, P comes from a per-point
// binary search for the perplexity, and the embedding follows scikit-learn's schedule of exact-gradient
// descent: 250 iterations with P multiplied by the early exaggeration (12) and momentum 0.5, then momentum
// 0.8 without it up to `iterations`, gains and momentum reset between the two; learning rate 'auto' =
// max(N / exaggeration / 4, 50); every 50 iterations the KL divergence and the gradient's norm are read
// back, and a phase stops when the norm falls below 1e-7 or (after the exaggeration) when 300 iterations
// passed without a lower KL. The kernels are src/ops/tsne.ts's. Also here: trustworthiness (CPU), the
// measure of how well an embedding keeps each point's nearest neighbours, as sklearn.manifold.trustworthiness.
//
// Not here: distances (spectral.ts, or any other), figures, which networks (src/cli/iris-tsne.ts).

import { mul, square } from '../ops/index.js';
import {
  jointProbabilities,
  type ObjectiveOptions,
  tsneGradient,
  tsneKernelRows,
  tsneKlRows,
  tsneUpdate,
} from '../ops/tsne.js';
import { fill, noGrad, Rng, scope, type Tensor, tensor } from '../tensor/index.js';

export interface TsneOptions {
  /** Effective number of neighbours, 0 < perplexity < N (default 30, scikit-learn's). */
  perplexity?: number;
  /** Iterations in all, >= 250 (default 1000, scikit-learn's n_iter). */
  iterations?: number;
  /** Dimensions of the embedding, 1 to 4 (default 2). */
  dims?: number;
  /** The factor on P for the first 250 iterations (default 12). */
  earlyExaggeration?: number;
  /** A step size, or 'auto' (default): max(N / earlyExaggeration / 4, 50). */
  learningRate?: number | 'auto';
  /** The initial embedding (N, dims); by default 1e-4 N(0, 1) from `seed` (scikit-learn's init='random'). */
  init?: ArrayLike<number>;
  /** Seed of the random initial embedding (default 0). */
  seed?: number;
  /** A phase stops when the gradient's norm is at most this (default 1e-7). */
  minGradNorm?: number;
  /** ... or, after the exaggeration, when this many iterations gave no lower KL (default 300). */
  iterationsWithoutProgress?: number;
}

export interface TsneResult {
  embedding: Float32Array; // (N, dims)
  /** The KL divergence at the last iteration's evaluation (scikit-learn's kl_divergence_). */
  kl: number;
  /** The index of the last iteration run (scikit-learn's n_iter_). */
  lastIteration: number;
  learningRate: number;
  /** Every 50th iteration: the KL divergence (with exaggerated P in the first phase) and the gradient's norm. */
  history: { iteration: number; kl: number; gradNorm: number }[];
}

const EXPLORATION = 250; // scikit-learn's _EXPLORATION_N_ITER
const CHECK_EVERY = 50; // scikit-learn's _N_ITER_CHECK
const MIN_GAIN = 0.01;

interface State {
  p: Tensor; // (N, N) joint probabilities
  y: Tensor; // (N, dims)
  update: Tensor;
  gains: Tensor;
  objective: ObjectiveOptions;
  lr: number;
  history: TsneResult['history'];
}

interface Phase {
  from: number;
  to: number; // exclusive
  momentum: number;
  withoutProgress: number;
  minGradNorm: number;
}

/** The sum in float64, in index order. */
function sumOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/**
 * scikit-learn's _gradient_descent: returns the last error computed and the last iteration. Gains and the
 * update start afresh.
 */
async function descend(s: State, ph: Phase): Promise<{ error: number; last: number; ran: boolean }> {
  s.update.dispose();
  s.gains.dispose();
  s.update = fill(s.y.shape, 0);
  s.gains = fill(s.y.shape, 1);
  let [error, best, bestAt, last] = [Number.NaN, Infinity, ph.from, ph.from];
  for (let i = ph.from; i < ph.to; i++) {
    last = i;
    const check = (i + 1) % CHECK_EVERY === 0;
    const { grad, kl } = scope(() => {
      const z = tsneKernelRows(s.y, s.objective.dof);
      const kl = check || i === ph.to - 1 ? tsneKlRows(s.p, s.y, z, s.objective) : null;
      const grad = tsneGradient(s.p, s.y, z, s.objective);
      tsneUpdate(s.y, grad, s.update, s.gains, { momentum: ph.momentum, lr: s.lr, minGain: MIN_GAIN });
      return { grad, kl };
    });
    if (kl) error = sumOf(await kl.data());
    const gradNorm = check ? Math.sqrt(sumOf((await grad.data()).map((g) => g * g))) : 0;
    grad.dispose();
    kl?.dispose();
    if (!check) continue;
    s.history.push({ iteration: i + 1, kl: error, gradNorm });
    if (error < best) [best, bestAt] = [error, i];
    else if (i - bestAt > ph.withoutProgress) break;
    if (gradNorm <= ph.minGradNorm) break;
  }
  return { error, last, ran: ph.to > ph.from };
}

function checkDistances(distances: ArrayLike<number>, n: number): void {
  if (!Number.isInteger(n) || n < 2 || distances.length !== n * n) {
    throw new Error(`tsne: ${distances.length} distances are not a square matrix of 2 or more points (n = ${n})`);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = distances[i * n + j]!;
      if (!Number.isFinite(d) || d < 0 || d !== distances[j * n + i] || (i === j && d !== 0)) {
        throw new Error(
          `tsne: distance [${i}, ${j}] = ${d} (and [${j}, ${i}] = ${distances[j * n + i]}): distances must be ` +
            'finite, >= 0, symmetric and 0 on the diagonal',
        );
      }
    }
  }
}

/** The embedding to start from: o.init, checked, or 1e-4 N(0, 1) drawn with o.seed. */
function initialEmbedding(n: number, dims: number, o: TsneOptions): Tensor {
  if (o.init === undefined) return noGrad(() => scope(() => mul(new Rng(o.seed ?? 0).normal([n, dims]), 1e-4)));
  if (o.init.length !== n * dims || !Array.prototype.every.call(o.init, Number.isFinite)) {
    throw new Error(`tsne: init holds ${o.init.length} values; it must be ${n} x ${dims} finite numbers`);
  }
  return tensor(Float32Array.from(o.init), [n, dims]);
}

/**
 * Embeds N points given their distances (N, N), row-major (symmetric, zero diagonal; squared inside, as
 * scikit-learn squares precomputed distances), by exact t-SNE on the GPU.
 */
export async function tsne(distances: ArrayLike<number>, n: number, o: TsneOptions = {}): Promise<TsneResult> {
  checkDistances(distances, n);
  const perplexity = o.perplexity ?? 30;
  const iterations = o.iterations ?? 1000;
  const dims = o.dims ?? 2;
  const exaggeration = o.earlyExaggeration ?? 12;
  if (!Number.isInteger(iterations) || iterations < EXPLORATION) {
    throw new Error(`tsne: iterations ${iterations} must be an integer >= ${EXPLORATION} (scikit-learn's minimum)`);
  }
  if (!Number.isInteger(dims) || dims < 1 || dims > 4) throw new Error(`tsne: dims ${dims} must be 1, 2, 3 or 4`);
  if (!(exaggeration >= 1)) throw new Error(`tsne: earlyExaggeration ${exaggeration} must be >= 1`);
  const lr =
    o.learningRate === undefined || o.learningRate === 'auto' ? Math.max(n / exaggeration / 4, 50) : o.learningRate;
  if (!(lr > 0)) throw new Error(`tsne: learningRate ${lr} must be > 0 or 'auto'`);
  const p = noGrad(() =>
    scope(() => {
      const { p, beta } = jointProbabilities(square(tensor(Float32Array.from(distances), [n, n])), perplexity);
      beta.dispose();
      return p;
    }),
  );
  const dof = Math.max(dims - 1, 1);
  const s: State = {
    p,
    y: initialEmbedding(n, dims, o),
    update: fill([1], 0),
    gains: fill([1], 1),
    objective: { dof, exaggeration },
    lr,
    history: [],
  };
  try {
    const stop = { minGradNorm: o.minGradNorm ?? 1e-7 };
    const first = await descend(s, { from: 0, to: EXPLORATION, momentum: 0.5, withoutProgress: EXPLORATION, ...stop });
    s.objective = { dof, exaggeration: 1 };
    const withoutProgress = o.iterationsWithoutProgress ?? 300;
    const second = await descend(s, { from: first.last + 1, to: iterations, momentum: 0.8, withoutProgress, ...stop });
    const kl = second.ran ? second.error : await klAt(s); // iterations = 250: no second phase ran
    return {
      embedding: (await s.y.data()) as Float32Array,
      kl,
      lastIteration: second.last,
      learningRate: lr,
      history: s.history,
    };
  } finally {
    for (const t of [s.p, s.y, s.update, s.gains]) t.dispose();
  }
}

/** The KL divergence of the embedding as it is (P not exaggerated). */
async function klAt(s: State): Promise<number> {
  const kl = scope(() => tsneKlRows(s.p, s.y, tsneKernelRows(s.y, s.objective.dof), s.objective));
  const v = sumOf(await kl.data());
  kl.dispose();
  return v;
}

/**
 * sklearn.manifold.trustworthiness with precomputed input distances (n, n) and the embedding (n, dims):
 * 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in the k nearest of i in the embedding} max(0, r(i, j) - k),
 * r(i, j) the rank of j among i's neighbours by input distance (1 = nearest). Ties go to the lower index.
 * 1 when the embedding keeps every point's k nearest neighbours; k < n / 2.
 */
export function trustworthiness(
  distances: ArrayLike<number>,
  embedding: ArrayLike<number>,
  n: number,
  dims: number,
  k = 5,
): number {
  if (!Number.isInteger(k) || k < 1 || k >= n / 2) {
    throw new Error(
      `trustworthiness: k = ${k} neighbours must be an integer in 1..${Math.ceil(n / 2) - 1} for ${n} points`,
    );
  }
  if (distances.length !== n * n || embedding.length !== n * dims) {
    throw new Error(
      `trustworthiness: ${distances.length} distances and ${embedding.length} coordinates for ${n} points of ${dims} dims`,
    );
  }
  const others = (i: number, key: (j: number) => number) =>
    Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== i)
      .sort((a, b) => key(a) - key(b) || a - b);
  let t = 0;
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    others(i, (j) => distances[i * n + j]!).forEach((j, r) => {
      rank[j] = r + 1;
    });
    const near = others(i, (j) => {
      let d2 = 0;
      for (let d = 0; d < dims; d++) d2 += (embedding[i * dims + d]! - embedding[j * dims + d]!) ** 2;
      return d2;
    }).slice(0, k);
    for (const j of near) t += Math.max(0, rank[j]! - k);
  }
  return 1 - (t * 2) / (n * k * (2 * n - 3 * k - 1));
}
