// Losses: cross-entropy on logits (fused, shaders/softmax.wgsl) and mean squared error (fused, shaders/loss.wgsl), each
// reduced to one value by a sum or a mean, with float64 CPU references. Not here: the softmax itself
// (softmax.ts), per-sample losses (reduction 'none'), class weights, label smoothing.

import { gpu } from '../gpu/index.js';
import { SHADER_CONSTS } from '../gpu/shaders.gen.js';
import { fmtShape, groups1d, record, sameShape, Tensor } from '../tensor/index.js';
import { square, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { cpuRowLogSumExp } from './softmax.js';

const LOSS = SHADER_CONSTS.loss;

export type Reduction = 'mean' | 'sum';

function checkReduction(op: string, reduction: string): void {
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new Error(`${op}: reduction must be 'mean' or 'sum', got '${reduction}'`);
  }
}

/**
 * Cross-entropy of logits against integer class labels: per row, log sum exp(logits[r]) - logits[r, label],
 * then the mean (default) or sum over rows. Returns shape [].
 *
 * A label outside [0, C) is not checked on the CPU (that would need a readback): its row's loss is NaN, so
 * the result is NaN, and so is the gradient of that row's logits.
 *
 * The forward is two dispatches (every row's loss in parallel, then reduce.ts's sum); the backward one.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkReduction('crossEntropy', reduction);
  if (logits.dtype !== 'f32' || logits.rank !== 2) {
    throw new Error(`crossEntropy: logits must be f32 of shape (N, C), got ${logits.dtype} ${fmtShape(logits.shape)}`);
  }
  const [n, c] = logits.shape as [number, number];
  if (labels.dtype !== 'i32' || labels.rank !== 1 || labels.shape[0] !== n) {
    throw new Error(
      `crossEntropy: labels must be i32 of shape (${n}) (one class index per row of logits ${fmtShape(logits.shape)}), ` +
        `got ${labels.dtype} ${fmtShape(labels.shape)}`,
    );
  }
  if (n === 0 || c === 0) throw new Error(`crossEntropy: logits ${fmtShape(logits.shape)} are empty`);

  const losses = Tensor.empty([n]); // (N)
  const stats = Tensor.empty([n, 2]); // (N, 2): row max, log sum exp(row - max)
  gpu().dispatch(
    { shader: 'softmax', entry: 'cross_entropy_forward' },
    { x: logits.ref, labels: labels.ref, loss_rows: losses.ref, stats_out: stats.ref },
    { rows: n, cols: c, scale: 0 },
    groups1d(n),
    'cross_entropy',
  );
  const out = reduction === 'mean' ? mean(losses) : sum(losses); // losses need no grad: this records nothing
  losses.dispose();
  const scale = reduction === 'mean' ? 1 / n : 1;
  // dlogits = (softmax(logits) - onehot(labels)) * dy * scale, dy read on the GPU
  record(out, 'cross_entropy', [logits], (dy) => {
    const dx = Tensor.empty(logits.shape);
    gpu().dispatch(
      { shader: 'softmax', entry: 'cross_entropy_backward' },
      { x: logits.ref, labels: labels.ref, stats: stats.ref, dy: dy.ref, dx: dx.ref },
      { rows: n, cols: c, scale },
      groups1d(n * c),
      'cross_entropy_backward',
    );
    return [dx];
  });
  // the row statistics are needed by the backward rule only
  if (!out.requiresGrad) stats.dispose();
  return out;
}

/**
 * Mean (default) or sum of (a - b)^2 over every element; a and b must have the same shape. Returns shape [].
 * Up to FUSED_MAX elements one dispatch each way (shaders/loss.wgsl); above, composed of sub, square and
 * sum (whose sum spreads over many workgroups).
 */
export function mse(a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkReduction('mse', reduction);
  if (!sameShape(a.shape, b.shape)) {
    throw new Error(
      `mse: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ; they must match exactly ` +
        `(mse does not broadcast: reshape or expand one of them first)`,
    );
  }
  if (a.size === 0) throw new Error(`mse: inputs ${fmtShape(a.shape)} are empty`);
  for (const t of [a, b]) {
    if (t.dtype !== 'f32') throw new Error(`mse: expects f32 tensors, got ${t.dtype} ${fmtShape(t.shape)}`);
  }
  const n = a.size;
  const scale = reduction === 'mean' ? 1 / n : 1;
  if (n > LOSS.FUSED_MAX) {
    // d mse = 2 (a - b) dy (/ numel for a mean), -that for b: from sub, square and sum/mean
    const d = sub(a, b);
    const d2 = square(d);
    const out = reduction === 'mean' ? mean(d2) : sum(d2);
    for (const t of [d, d2]) if (!t.requiresGrad) t.dispose();
    return out;
  }
  const out = Tensor.empty([]);
  const unused = Tensor.empty([1]); // out2 is not written forward (and a stands in for dy, not read)
  gpu().dispatch(
    { shader: 'loss', entry: 'mse_forward' },
    { a: a.ref, b: b.ref, dy: a.ref, out: out.ref, out2: unused.ref },
    { n, scale },
    [1, 1, 1],
    'mse',
  );
  unused.dispose();
  // da = (dy scale) ((a - b) 2), db = -da: the composed rule's values, to the bit
  return record(out, 'mse', [a, b], (dy) => {
    const da = Tensor.empty(a.shape);
    const db = Tensor.empty(a.shape);
    gpu().dispatch(
      { shader: 'loss', entry: 'mse_backward' },
      { a: a.ref, b: b.ref, dy: dy.ref, out: da.ref, out2: db.ref },
      { n, scale },
      groups1d(n),
      'mse_backward',
    );
    if (!b.requiresGrad) db.dispose();
    if (!a.requiresGrad) da.dispose();
    return [a.requiresGrad ? da : null, b.requiresGrad ? db : null];
  });
}

// ---- float64 CPU references -------------------------------------------------------------------------

/** Cross-entropy of (n, c) logits (flat) against labels; NaN if a label is outside [0, c). */
export function cpuCrossEntropy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  c: number,
  reduction: Reduction = 'mean',
): number {
  const n = labels.length;
  let total = 0;
  for (let r = 0; r < n; r++) {
    const label = labels[r]!;
    const { max, logSum } = cpuRowLogSumExp(logits, r * c, c);
    total += Number.isInteger(label) && label >= 0 && label < c ? logSum + (max - logits[r * c + label]!) : Number.NaN;
  }
  return reduction === 'mean' ? total / n : total;
}

/** Mean or sum of (a - b)^2 over flat arrays of equal length. */
export function cpuMse(a: ArrayLike<number>, b: ArrayLike<number>, reduction: Reduction = 'mean'): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += (a[i]! - b[i]!) ** 2;
  return reduction === 'mean' ? total / a.length : total;
}
