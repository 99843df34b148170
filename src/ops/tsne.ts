// The kernels of exact t-SNE (shaders/tsne.wgsl), each the GPU form of a step of scikit-learn 1.2's
// method='exact': the joint probabilities P from squared distances (a per-point binary search for the
// perplexity), the Student-t kernel's row sums, the gradient and the KL divergence of the embedding, and the
// gradient-descent update with momentum and gains; and their float64 CPU references. Records no backward
// rule (the gradient is written out by hand, as scikit-learn's). Not here: the optimisation schedule (early
// exaggeration, momentum switch, stopping), which src/analysis/tsne.ts runs with these.

import { gpu } from '../gpu/index.js';
import { fmtShape, groups1d, Tensor } from '../tensor/index.js';

/** scikit-learn's floor of P and Q (float64's machine epsilon; an f32 holds it). */
export const TSNE_EPS = Number.EPSILON;

type Field =
  | 'n'
  | 'dims'
  | 'steps'
  | 'log_perplexity'
  | 'tol'
  | 'dof'
  | 'exaggeration'
  | 'eps'
  | 'momentum'
  | 'lr'
  | 'min_gain';

/** The uniform of shaders/tsne.wgsl with every field named (the ones a kernel does not read: 0). */
function uniforms(u: Partial<Record<Field, number>>): Record<Field, number> {
  const zero = { dims: 0, steps: 0, log_perplexity: 0, tol: 0, dof: 0, exaggeration: 0, momentum: 0, lr: 0 };
  return { n: 0, ...zero, eps: TSNE_EPS, min_gain: 0, ...u };
}

function square(op: string, t: Tensor, what: string): number {
  const n = t.shape[0]!;
  if (t.dtype !== 'f32' || t.rank !== 2 || t.shape[1] !== n) {
    throw new Error(`${op}: ${what} must be an f32 square matrix (N, N), got ${t.dtype} ${fmtShape(t.shape)}`);
  }
  return n;
}

/** The embedding y (N, dims), 1 <= dims <= 4, of N points. */
function points(op: string, y: Tensor, n?: number): { n: number; dims: number } {
  const [rows, dims] = y.shape as [number, number];
  if (y.dtype !== 'f32' || y.rank !== 2 || dims < 1 || dims > 4 || (n !== undefined && rows !== n)) {
    throw new Error(
      `${op}: the embedding must be f32 (N, dims) with 1 <= dims <= 4${n === undefined ? '' : ` and N = ${n}`}, ` +
        `got ${y.dtype} ${fmtShape(y.shape)}`,
    );
  }
  return { n: rows, dims };
}

export interface PerplexityOptions {
  /** The binary search stops when |H - log(perplexity)| <= tol (default 1e-5, scikit-learn's). */
  tol?: number;
  /** ... or after this many steps (default 100, scikit-learn's). */
  steps?: number;
}

/**
 * The joint probabilities of t-SNE, P (N, N), from squared distances sq (N, N): each point's Gaussian
 * conditional p(j | i) with the beta_i that gives it the perplexity, then P = (p(j | i) + p(i | j)) / sum,
 * floored at TSNE_EPS, with a zero diagonal. Also returns beta (N) (sigma_i = sqrt(1 / (2 beta_i))).
 */
export function jointProbabilities(
  sq: Tensor,
  perplexity: number,
  o: PerplexityOptions = {},
): { p: Tensor; beta: Tensor } {
  const n = square('jointProbabilities', sq, 'the squared distances');
  if (!(perplexity > 0 && perplexity < n)) {
    throw new Error(`jointProbabilities: perplexity ${perplexity} must be > 0 and less than the ${n} points`);
  }
  const u = uniforms({ n, steps: o.steps ?? 100, log_perplexity: Math.log(perplexity), tol: o.tol ?? 1e-5 });
  const cond = Tensor.empty([n, n]);
  const beta = Tensor.empty([n]);
  const rowsum = Tensor.empty([n]);
  const p = Tensor.empty([n, n]);
  gpu().dispatch(
    { shader: 'tsne', entry: 'conditional' },
    { sqdist: sq.ref, cond_out: cond.ref, beta_out: beta.ref, rowsum_out: rowsum.ref },
    u,
    groups1d(n),
    'tsne_conditional',
  );
  gpu().dispatch(
    { shader: 'tsne', entry: 'joint' },
    { cond_in: cond.ref, rowsum_in: rowsum.ref, joint_out: p.ref },
    u,
    groups1d(n),
    'tsne_joint',
  );
  cond.dispose();
  rowsum.dispose();
  return { p, beta };
}

/** z (N): z_i = sum_{j != i} of the Student-t kernel w_ij of the embedding y (N, dims); dof its degrees of freedom. */
export function tsneKernelRows(y: Tensor, dof: number): Tensor {
  const { n, dims } = points('tsneKernelRows', y);
  const z = Tensor.empty([n]);
  gpu().dispatch(
    { shader: 'tsne', entry: 'kernel_rows' },
    { emb: y.ref, z_out: z.ref },
    uniforms({ n, dims, dof }),
    groups1d(n),
    'tsne_kernel_rows',
  );
  return z;
}

export interface ObjectiveOptions {
  dof: number;
  /** P's factor (early exaggeration; 1 after it). */
  exaggeration: number;
}

/** dC/dy (N, dims) of C = KL(a P || Q) for the embedding y, with z = tsneKernelRows(y) (scikit-learn's form). */
export function tsneGradient(p: Tensor, y: Tensor, z: Tensor, o: ObjectiveOptions): Tensor {
  const n = square('tsneGradient', p, 'P');
  const { dims } = points('tsneGradient', y, n);
  const grad = Tensor.empty([n, dims]);
  gpu().dispatch(
    { shader: 'tsne', entry: 'gradient' },
    { pj: p.ref, emb: y.ref, z_in: z.ref, grad: grad.ref },
    uniforms({ n, dims, dof: o.dof, exaggeration: o.exaggeration }),
    groups1d(n),
    'tsne_gradient',
  );
  return grad;
}

/** kl (N): row i's terms of KL(a P || Q); the divergence is their sum. */
export function tsneKlRows(p: Tensor, y: Tensor, z: Tensor, o: ObjectiveOptions): Tensor {
  const n = square('tsneKlRows', p, 'P');
  const { dims } = points('tsneKlRows', y, n);
  const kl = Tensor.empty([n]);
  gpu().dispatch(
    { shader: 'tsne', entry: 'kl_rows' },
    { pj: p.ref, emb: y.ref, z_in: z.ref, kl_out: kl.ref },
    uniforms({ n, dims, dof: o.dof, exaggeration: o.exaggeration }),
    groups1d(n),
    'tsne_kl_rows',
  );
  return kl;
}

export interface UpdateOptions {
  momentum: number;
  lr: number;
  minGain: number;
}

/**
 * One step of scikit-learn's gradient descent, in place: gains (N, dims) grow by 0.2 where update * grad < 0
 * and shrink by 0.8 elsewhere (at least minGain); grad <- grad * gains; update <- momentum * update - lr * grad;
 * y <- y + update.
 */
export function tsneUpdate(y: Tensor, grad: Tensor, update: Tensor, gains: Tensor, o: UpdateOptions): void {
  const { n, dims } = points('tsneUpdate', y);
  for (const [name, t] of [
    ['grad', grad],
    ['update', update],
    ['gains', gains],
  ] as const) {
    if (t.size !== n * dims) {
      throw new Error(`tsneUpdate: ${name} ${fmtShape(t.shape)} must match the embedding ${fmtShape(y.shape)}`);
    }
  }
  gpu().dispatch(
    { shader: 'tsne', entry: 'update' },
    { grad: grad.ref, upd: update.ref, gains: gains.ref, emb_io: y.ref },
    uniforms({ n, dims, momentum: o.momentum, lr: o.lr, min_gain: o.minGain }),
    groups1d(n * dims),
    'tsne_update',
  );
}

// ---- float64 CPU references ---------------------------------------------------------------------------

/** P (n, n) from squared distances sq (n, n): scikit-learn's _binary_search_perplexity and _joint_probabilities. */
export function cpuJointProbabilities(sq: ArrayLike<number>, n: number, perplexity: number): Float64Array {
  const cond = new Float64Array(n * n);
  const target = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    let [beta, lo, hi] = [1, -Infinity, Infinity];
    const row = cond.subarray(i * n, (i + 1) * n);
    for (let step = 0; step < 100; step++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += row[j] = j === i ? 0 : Math.exp(-sq[i * n + j]! * beta);
      if (sum === 0) sum = 1e-8;
      let sd = 0;
      for (let j = 0; j < n; j++) {
        row[j]! /= sum;
        sd += sq[i * n + j]! * row[j]!;
      }
      const d = Math.log(sum) + beta * sd - target;
      if (Math.abs(d) <= 1e-5) break;
      if (d > 0) [lo, beta] = [beta, hi === Infinity ? beta * 2 : (beta + hi) / 2];
      else [hi, beta] = [beta, lo === -Infinity ? beta / 2 : (beta + lo) / 2];
    }
  }
  let total = 0;
  for (let e = 0; e < n * n; e++) total += cond[e]!;
  const s = Math.max(2 * total, TSNE_EPS);
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if (i !== j) p[i * n + j] = Math.max((cond[i * n + j]! + cond[j * n + i]!) / s, TSNE_EPS);
  return p;
}

/** KL(a P || Q) and its gradient (n, dims) at the embedding y (n, dims): scikit-learn's _kl_divergence. */
export function cpuTsneObjective(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  n: number,
  dims: number,
  o: ObjectiveOptions,
): { kl: number; grad: Float64Array } {
  const w = new Float64Array(n * n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      let d2 = 0;
      for (let d = 0; d < dims; d++) d2 += (y[i * dims + d]! - y[j * dims + d]!) ** 2;
      w[i * n + j] = (1 + d2 / o.dof) ** (-(o.dof + 1) / 2);
      z += w[i * n + j]!;
    }
  }
  let kl = 0;
  const grad = new Float64Array(n * dims);
  const c = (2 * (o.dof + 1)) / o.dof;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const q = Math.max(w[i * n + j]! / z, TSNE_EPS);
      const a = o.exaggeration * p[i * n + j]!;
      kl += a * Math.log(Math.max(a, TSNE_EPS) / q);
      for (let d = 0; d < dims; d++)
        grad[i * dims + d]! += c * (a - q) * w[i * n + j]! * (y[i * dims + d]! - y[j * dims + d]!);
    }
  }
  return { kl, grad };
}
