// Batch-norm modules: BatchNorm1d for (B, F), BatchNorm2d for NHWC images, and BatchNorm for any layout
// (the hypernetwork's (B, filters, F) with moments over the z-batch and the filter axis). Parameters are
// `weight` and `bias` (PyTorch's names, ones and zeros at the start); the running statistics
// `running_mean` (zeros) and `running_var` (ones) are buffers: kept tensors, not parameters, registered
// with Module.buffer (so the module's state carries them; namedBuffers() lists them), and so is
// `num_batches_tracked`, a scalar counting the forward passes in training as PyTorch's does, so that
// PyTorch loads our state dicts with strict=True. It is optional on loading: state dicts saved before it
// existed still load (the count then starts from what the module holds). Training or evaluation follows
// Module.training. The op itself is src/ops/batchnorm.ts. Not here: momentum=None (PyTorch's cumulative
// average, the one use of the count).

import { type BatchNormConvention, batchNorm } from '../ops/batchnorm.js';
import { accumulate, fill, fmtShape, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

export interface BatchNormModuleOptions {
  /** Reduced axes of the input; default: every axis but the trailing featureShape.length ones. */
  axes?: readonly number[];
  eps?: number; // default 1e-5
  /** torch: the weight of the new batch (default 0.1); tf: the decay (default 0.99). */
  momentum?: number;
  convention?: BatchNormConvention; // default 'torch'
  affine?: boolean; // learnable weight and bias (default true)
}

export class BatchNorm extends Module {
  readonly featureShape: number[];
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  /** (): training forward passes so far (f32: exact up to 2^24). */
  readonly numBatchesTracked: Tensor;
  private readonly one: Tensor;
  readonly eps: number;
  readonly momentum: number;
  readonly convention: BatchNormConvention;
  readonly axes: readonly number[] | undefined;
  /** While true, a training forward pass sets the running statistics to its batch's (see recalibrate). */
  private calibrating = false;

  constructor(featureShape: readonly number[], o: BatchNormModuleOptions = {}) {
    super();
    this.featureShape = [...featureShape];
    this.convention = o.convention ?? 'torch';
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? (this.convention === 'torch' ? 0.1 : 0.99);
    this.axes = o.axes;
    const affine = o.affine ?? true;
    this.weight = affine ? this.param('weight', fill(this.featureShape, 1)) : null;
    this.bias = affine ? this.param('bias', fill(this.featureShape, 0)) : null;
    this.runningMean = this.buffer('running_mean', fill(this.featureShape, 0));
    this.runningVar = this.buffer('running_var', fill(this.featureShape, 1));
    this.numBatchesTracked = this.buffer('num_batches_tracked', fill([], 0), { optional: true });
    this.one = fill([], 1).keep();
  }

  /** The reduced axes for an input of rank `rank`. */
  protected axesFor(rank: number): number[] {
    if (this.axes) return [...this.axes];
    const lead = rank - this.featureShape.length;
    if (lead < 1) {
      throw new Error(
        `${this.constructor.name}: an input of rank ${rank} has no batch axis in front of the features ` +
          `${fmtShape(this.featureShape)}`,
      );
    }
    return [...Array(lead).keys()];
  }

  forward(x: Tensor): Tensor {
    const y = batchNorm(x, {
      axes: this.axesFor(x.rank),
      scale: this.weight,
      offset: this.bias,
      eps: this.eps,
      training: this.training,
      running: { mean: this.runningMean, var: this.runningVar },
      // calibrating: the new batch's statistics replace the running ones (torch weighs the new batch by
      // momentum, tf the old one)
      momentum: this.calibrating ? (this.convention === 'torch' ? 1 : 0) : this.momentum,
      convention: this.convention,
    });
    if (this.training && !this.calibrating) accumulate(this.numBatchesTracked, this.one); // num_batches_tracked += 1
    return y;
  }

  override dispose(): void {
    super.dispose();
    this.one.dispose();
  }

  /**
   * Runs `pass` (a forward pass of a model holding batch norms) in training mode without a graph, with every
   * batch norm of `model` setting its running statistics to the statistics of the batch it sees, then
   * restores the mode: the running statistics become those of one large batch (the hypernetwork paper's
   * second version recomputes them with one extra pass before evaluating, for the same reason).
   */
  static recalibrate<T>(model: Module, pass: () => T): T {
    const norms = model.modules().filter((m): m is BatchNorm => m instanceof BatchNorm);
    const was = model.training;
    model.train();
    for (const n of norms) n.calibrating = true;
    try {
      return pass();
    } finally {
      for (const n of norms) n.calibrating = false;
      model.train(was);
    }
  }
}

export interface BatchNormTorchOptions {
  eps?: number; // default 1e-5
  momentum?: number; // default 0.1
  affine?: boolean;
}

/** torch.nn.BatchNorm1d for (B, F) inputs (and those only), PyTorch's conventions. */
export class BatchNorm1d extends BatchNorm {
  constructor(features: number, o: BatchNormTorchOptions = {}) {
    super([features], { ...o, axes: [0], convention: 'torch' });
  }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.featureShape[0]) {
      throw new Error(
        `BatchNorm1d(${this.featureShape[0]}): expects (B, ${this.featureShape[0]}), got ${fmtShape(x.shape)}; ` +
          'use BatchNorm with explicit axes for other layouts',
      );
    }
    return super.forward(x);
  }
}

/** torch.nn.BatchNorm2d's arithmetic for NHWC inputs (B, H, W, C): statistics over B, H and W. */
export class BatchNorm2d extends BatchNorm {
  constructor(channels: number, o: BatchNormTorchOptions = {}) {
    super([channels], { ...o, axes: [0, 1, 2], convention: 'torch' });
  }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.featureShape[0]) {
      throw new Error(
        `BatchNorm2d(${this.featureShape[0]}): expects NHWC (B, H, W, ${this.featureShape[0]}), got ` +
          `${fmtShape(x.shape)}; permute an NCHW tensor with permute(x, [0, 2, 3, 1])`,
      );
    }
    return super.forward(x);
  }
}
