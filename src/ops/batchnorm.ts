// Batch normalisation over any set of reduced axes (shaders/batchnorm.wgsl): the fused forward (statistics
// kernel, running-statistics update, normalise kernel; in training with short reductions all three in one
// dispatch), the fused backward through the batch statistics,
// and the float64 CPU reference. Not here: the module with its parameters and running buffers
// (src/nn/batchnorm.ts), or any other normalisation (layer, group, instance).
//
// Conventions for the running statistics, updated in place on the GPU in training:
//   torch: running = (1 - momentum) * running + momentum * batch; running_var takes the UNBIASED batch
//          variance (PyTorch's BatchNorm; momentum 0.1 by default).
//   tf:    running = momentum * running + (1 - momentum) * batch; momentum is the decay (0.99 by default, as
//          Keras's BatchNormalization; the hypernetwork paper's 0.98). The moving variance takes the BIASED
//          batch variance: what tf.nn.moments returns, what the non-fused tf.layers / Keras path uses, and
//          what the hypernetwork code's own batch norm (tf.nn.moments + assign_sub) uses. (TF's fused kernel,
//          taken for 4-D inputs, may leave Bessel's correction in the moving variance, depending on version.)
//          Note that the hypernetwork code updates ema -= decay * (ema - batch) with decay 0.98, i.e. the
//          NEW batch weighs 0.98: that is this convention with momentum 0.02 (and its ema starts at zeros,
//          the variance's too).
// Either way the output is normalised by the biased batch variance in training, and by the running
// statistics in evaluation: y = (x - mean) / sqrt(var + eps) * scale + offset.

import { type BufferRef, gpu } from '../gpu/index.js';
import {
  copyOf,
  fmtShape,
  groups1d,
  isGradEnabled,
  normAxes,
  record,
  type Shape,
  sameShape,
  stridesOf,
  Tensor,
} from '../tensor/index.js';
import { type ReductionPlan, rankConstants, reductionPlan, workgroupPerOutput } from './reduce.js';

export type BatchNormConvention = 'torch' | 'tf';

export interface BatchNormOptions {
  /** The reduced axes: [0] for (B, F), [0, 1] for (B, filters, F), [0, 1, 2] for NHWC. */
  axes: readonly number[];
  /** Shape of the kept dims (e.g. (F) or (C)), or null for none. */
  scale?: Tensor | null;
  offset?: Tensor | null;
  eps?: number; // default 1e-5
  /** Batch statistics (and running-statistics updates) when true; running statistics when false. */
  training: boolean;
  /** Running mean and variance (kept-dims shape), updated in place in training. Required for evaluation. */
  running?: { mean: Tensor; var: Tensor };
  /** torch: the weight of the new batch (default 0.1); tf: the decay, the weight of the old value (0.99). */
  momentum?: number;
  convention?: BatchNormConvention; // default 'torch'
}

// nOut: the number of features (kept positions); nRed: values per feature
interface Plan extends ReductionPlan {
  featShape: number[]; // the kept dims, in order: the shape of scale, offset and the statistics
}

function plan(shape: Shape, axes: number[]): Plan {
  return { ...reductionPlan(shape, axes, 'batchNorm'), featShape: shape.filter((_, i) => !axes.includes(i)) };
}

function uniforms(
  pl: Plan,
  o: { eps: number; affine: boolean; training: boolean; keep?: number; unbias?: number; running?: boolean },
) {
  const v4 = (v: number[]) => [...v, 0, 0, 0, 0].slice(0, 4);
  return {
    n_feat: pl.nOut,
    n_red: pl.nRed,
    n: pl.nOut * pl.nRed,
    affine: o.affine ? 1 : 0,
    training: o.training ? 1 : 0,
    eps: o.eps,
    keep: o.keep ?? 0,
    unbias: o.unbias ?? 1,
    running: o.running ? 1 : 0,
    kept_shape: v4(pl.kept.shape),
    kept_stride: v4(pl.kept.stride),
    red_shape: v4(pl.red.shape),
    red_stride: v4(pl.red.stride),
  };
}

function checkFeatureTensor(t: Tensor | null | undefined, pl: Plan, what: string, xShape: Shape): void {
  if (!t) return;
  if (t.dtype !== 'f32' || t.size !== pl.nOut || !sameShape(t.shape, pl.featShape)) {
    throw new Error(
      `batchNorm: ${what} is ${t.dtype} ${fmtShape(t.shape)}; for x ${fmtShape(xShape)} it must be f32 ` +
        `${fmtShape(pl.featShape)} (the dims that are not reduced)`,
    );
  }
}

/** One call's plan: the options checked against x, defaults filled in, and the kernels' uniforms. */
interface Setup {
  pl: Plan;
  scale: Tensor | null;
  offset: Tensor | null;
  training: boolean;
  running: { mean: Tensor; var: Tensor } | undefined;
  uniforms: ReturnType<typeof uniforms>;
  wide: boolean; // a workgroup per feature (long reductions, reduce.ts workgroupPerOutput) instead of a thread
}

function setup(x: Tensor, o: BatchNormOptions): Setup {
  if (x.dtype !== 'f32') throw new Error(`batchNorm: expects an f32 tensor, got ${x.dtype} ${fmtShape(x.shape)}`);
  const axes = normAxes(x.rank, o.axes);
  const pl = plan(x.shape, axes);
  const convention = o.convention ?? 'torch';
  const momentum = o.momentum ?? (convention === 'torch' ? 0.1 : 0.99);
  const scale = o.scale ?? null;
  const offset = o.offset ?? null;
  checkFeatureTensor(scale, pl, 'scale', x.shape);
  checkFeatureTensor(offset, pl, 'offset', x.shape);
  checkFeatureTensor(o.running?.mean, pl, 'running.mean', x.shape);
  checkFeatureTensor(o.running?.var, pl, 'running.var', x.shape);
  if ((scale === null) !== (offset === null)) {
    throw new Error('batchNorm: give both scale and offset, or neither (pass ones / zeros for a missing one)');
  }
  if (!o.training && !o.running) {
    throw new Error('batchNorm: evaluation (training: false) normalises by running statistics; pass `running`');
  }
  if (o.training && convention === 'torch' && pl.nRed < 2) {
    throw new Error(
      `batchNorm: training needs more than 1 value per feature (x ${fmtShape(x.shape)} over axes [${axes}]), ` +
        'as in PyTorch',
    );
  }
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`batchNorm: momentum ${momentum} is outside [0, 1]`);
  const u = uniforms(pl, {
    eps: o.eps ?? 1e-5,
    affine: scale !== null,
    training: o.training,
    keep: convention === 'torch' ? 1 - momentum : momentum,
    unbias: convention === 'torch' && pl.nRed > 1 ? pl.nRed / (pl.nRed - 1) : 1,
    running: o.running !== undefined,
  });
  return {
    pl,
    scale,
    offset,
    training: o.training,
    running: o.running,
    uniforms: u,
    wide: workgroupPerOutput(pl.nOut, pl.nRed),
  };
}

/**
 * The statistics a call normalises by: the batch's (training, which also updates the running ones), or in
 * evaluation the running ones, copied when the backward pass will need them (a later training step updates
 * the running buffers in place).
 */
function statistics(x: Tensor, s: Setup, needGrad: boolean): { mean: Tensor; vari: Tensor } {
  if (!s.training) {
    const r = s.running!;
    return needGrad ? { mean: copyOf(r.mean), vari: copyOf(r.var) } : { mean: r.mean, vari: r.var };
  }
  const { pl, uniforms: u } = s;
  const mean = Tensor.empty(pl.featShape);
  const vari = Tensor.empty(pl.featShape);
  gpu().dispatch(
    { shader: 'batchnorm', entry: s.wide ? 'stats_wide' : 'stats_rows', constants: rankConstants(s.pl) },
    { x: x.ref, mean_out: mean.ref, var_out: vari.ref },
    u,
    s.wide ? groups1d(pl.nOut, 1) : groups1d(pl.nOut),
    'batchnorm_stats',
  );
  if (s.running) {
    gpu().dispatch(
      { shader: 'batchnorm', entry: 'update_running' },
      { mean_in: mean.ref, var_in: vari.ref, run_mean: s.running.mean.ref, run_var: s.running.var.ref },
      u,
      groups1d(pl.nOut),
      'batchnorm_running',
    );
  }
  return { mean, vari };
}

function statisticsAndNormalize(x: Tensor, s: Setup, needGrad: boolean) {
  const { mean, vari } = statistics(x, s, needGrad);
  return { y: normalize(x, s, mean, vari), mean, vari };
}

/**
 * Training with short reductions: statistics, running update and normalisation in one dispatch (train_rows,
 * the same values as the three kernels). Without scale and offset, x stands in for them (never read);
 * without running statistics, a placeholder for each (never written).
 */
function trainRows(x: Tensor, s: Setup): { y: Tensor; mean: Tensor; vari: Tensor } {
  const { pl } = s;
  const y = Tensor.empty(x.shape);
  const mean = Tensor.empty(pl.featShape);
  const vari = Tensor.empty(pl.featShape);
  const unused = s.running ? [] : [Tensor.empty([1]), Tensor.empty([1])];
  gpu().dispatch(
    { shader: 'batchnorm', entry: 'train_rows', constants: rankConstants(s.pl) },
    {
      x: x.ref,
      mean_out: mean.ref,
      var_out: vari.ref,
      run_mean: (s.running?.mean ?? unused[0]!).ref,
      run_var: (s.running?.var ?? unused[1]!).ref,
      scale: (s.scale ?? x).ref,
      offset: (s.offset ?? x).ref,
      y: y.ref,
    },
    s.uniforms,
    groups1d(pl.nOut),
    'batchnorm_train',
  );
  for (const t of unused) t.dispose();
  return { y, mean, vari };
}

// y = (x - mean) / sqrt(var + eps) * scale + offset. Without scale and offset, their bindings hold the mean
// (never read: affine = 0).
function normalize(x: Tensor, s: Setup, mean: Tensor, vari: Tensor): Tensor {
  const y = Tensor.empty(x.shape);
  const buffers = {
    x: x.ref,
    mean_in: mean.ref,
    var_in: vari.ref,
    scale: (s.scale ?? mean).ref,
    offset: (s.offset ?? mean).ref,
    y: y.ref,
  };
  gpu().dispatch(
    { shader: 'batchnorm', entry: 'normalize', constants: rankConstants(s.pl) },
    buffers,
    s.uniforms,
    groups1d(x.size),
    'batchnorm',
  );
  return y;
}

// doffset = sum dy, dscale = sum dy xhat, dx = scale rstd (dy - (doffset + xhat dscale) / n) in training
// (dx = scale rstd dy in evaluation, where the statistics are constants).
function normalizeBackward(x: Tensor, dy: Tensor, s: Setup, mean: Tensor, vari: Tensor): Tensor[] {
  const { pl } = s;
  const dx = Tensor.empty(x.shape);
  const dscale = Tensor.empty(pl.featShape);
  const doffset = Tensor.empty(pl.featShape);
  const buffers: Record<string, BufferRef> = {
    x: x.ref,
    dy: dy.ref,
    mean_in: mean.ref,
    var_in: vari.ref,
    scale: (s.scale ?? mean).ref,
    dx: dx.ref,
    dscale: dscale.ref,
    doffset: doffset.ref,
  };
  gpu().dispatch(
    { shader: 'batchnorm', entry: s.wide ? 'backward_wide' : 'backward_rows', constants: rankConstants(s.pl) },
    buffers,
    s.uniforms,
    s.wide ? groups1d(pl.nOut, 1) : groups1d(pl.nOut),
    'batchnorm_backward',
  );
  return s.scale ? [dx, dscale, doffset] : [dx];
}

/**
 * Batch normalisation of x over `axes`; see the file header for the two conventions. Gradients flow to x,
 * scale and offset (in training through the batch mean and variance); the running statistics are buffers,
 * never differentiated.
 */
export function batchNorm(x: Tensor, o: BatchNormOptions): Tensor {
  const s = setup(x, o);
  const parents = s.scale ? [x, s.scale, s.offset!] : [x];
  const needGrad = isGradEnabled() && parents.some((t) => t.requiresGrad);
  const { y, mean, vari } = s.training && !s.wide ? trainRows(x, s) : statisticsAndNormalize(x, s, needGrad);
  if (needGrad) return record(y, 'batch_norm', parents, (dy) => normalizeBackward(x, dy, s, mean, vari));
  if (s.training) {
    mean.dispose();
    vari.dispose();
  }
  return y;
}

// ---- float64 CPU reference --------------------------------------------------------------------------

export interface CpuBatchNormResult {
  y: Float64Array;
  mean: Float64Array; // the statistics used (batch or running)
  var: Float64Array; // biased batch variance, or the running variance
  runningMean?: Float64Array; // after the update (training with running statistics)
  runningVar?: Float64Array;
}

/** batchNorm in float64 over flat row-major data; scale/offset/running flat over the kept dims. */
export function cpuBatchNorm(
  data: ArrayLike<number>,
  shape: Shape,
  o: {
    axes: readonly number[];
    scale?: ArrayLike<number> | null;
    offset?: ArrayLike<number> | null;
    eps?: number;
    training: boolean;
    running?: { mean: ArrayLike<number>; var: ArrayLike<number> };
    momentum?: number;
    convention?: BatchNormConvention;
  },
): CpuBatchNormResult {
  const axes = normAxes(shape.length, o.axes);
  const strides = stridesOf(shape);
  const convention = o.convention ?? 'torch';
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? (convention === 'torch' ? 0.1 : 0.99);
  const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const nFeat = keptAxes.reduce((q, a) => q * shape[a]!, 1);
  const nRed = axes.reduce((q, a) => q * shape[a]!, 1);
  const n = nFeat * nRed;
  // feature of every flat position
  const feat = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let f = 0;
    for (const a of keptAxes) f = f * shape[a]! + (Math.floor(i / strides[a]!) % shape[a]!);
    feat[i] = f;
  }
  const mean = new Float64Array(nFeat);
  const vari = new Float64Array(nFeat);
  const out: CpuBatchNormResult = { y: new Float64Array(n), mean, var: vari };
  if (o.training) {
    for (let i = 0; i < n; i++) mean[feat[i]!] += data[i]! / nRed;
    for (let i = 0; i < n; i++) vari[feat[i]!] += (data[i]! - mean[feat[i]!]!) ** 2 / nRed;
    if (o.running) {
      const keep = convention === 'torch' ? 1 - momentum : momentum;
      const unbias = convention === 'torch' && nRed > 1 ? nRed / (nRed - 1) : 1;
      out.runningMean = Float64Array.from(o.running.mean, (r, f) => keep * r + (1 - keep) * mean[f]!);
      out.runningVar = Float64Array.from(o.running.var, (r, f) => keep * r + (1 - keep) * vari[f]! * unbias);
    }
  } else {
    if (!o.running) throw new Error('cpuBatchNorm: evaluation needs running statistics');
    mean.set(o.running.mean);
    vari.set(o.running.var);
  }
  for (let i = 0; i < n; i++) {
    const f = feat[i]!;
    const xhat = (data[i]! - mean[f]!) / Math.sqrt(vari[f]! + eps);
    out.y[i] = o.scale ? xhat * o.scale[f]! + o.offset![f]! : xhat;
  }
  return out;
}
