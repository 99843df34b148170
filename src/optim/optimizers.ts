// Adam and SGD with momentum, each one fused dispatch per step over a ParamArena (shaders/optim.wgsl).
// Hyper-parameters may change between steps (a schedule sets `lr`). PyTorch's defaults and formulas.
// Unlike PyTorch, a parameter that got no gradient this step still steps, with a zero gradient.

import { gpu, strideThreads } from '../gpu/index.js';
import { assign, groups1d, type Tensor } from '../tensor/index.js';
import { ParamArena } from './arena.js';

export interface Optimizer {
  lr: number;
  step(): void;
  zeroGrad(): void;
  dispose(): void;
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number; // L2, added to the gradient (torch.optim.Adam, not AdamW)
}

export class Adam implements Optimizer {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  t = 0;
  readonly arena: ParamArena;
  private m: Tensor;
  private v: Tensor;

  constructor(params: readonly Tensor[], o: AdamOptions = {}) {
    this.lr = o.lr ?? 1e-3;
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    this.arena = new ParamArena(params);
    this.m = this.arena.state();
    this.v = this.arena.state();
  }

  step(): void {
    this.arena.check();
    this.t++;
    const [b1, b2] = this.betas;
    const n = this.arena.size;
    const threads = strideThreads(n, gpu().adapter.fallback);
    gpu().dispatch(
      { shader: 'optim', entry: 'adam' },
      { param: this.arena.params.ref, grad: this.arena.grads.ref, m: this.m.ref, v: this.v.ref },
      // every derived constant in double here, rounded once to f32 (shaders/optim.wgsl)
      {
        n,
        beta1: b1,
        beta2: b2,
        one_minus_beta1: 1 - b1,
        one_minus_beta2: 1 - b2,
        eps: this.eps,
        weight_decay: this.weightDecay,
        step_size: this.lr / (1 - b1 ** this.t),
        bc2_sqrt: Math.sqrt(1 - b2 ** this.t),
        threads,
      },
      groups1d(threads),
      'adam',
    );
  }

  zeroGrad(): void {
    this.arena.zeroGrad();
  }

  /** The step count and moment estimates, for a checkpoint. */
  async state(): Promise<AdamState> {
    return {
      t: this.t,
      lr: this.lr,
      m: (await this.m.data()) as Float32Array,
      v: (await this.v.data()) as Float32Array,
    };
  }

  /**
   * Restores what state() returned. `source` names where it was read from (a checkpoint file) in errors;
   * nothing is changed unless all of it fits.
   */
  loadState(s: AdamState, source?: string): void {
    const where = source ? `${source}: ` : '';
    const n = this.arena.size;
    if (s.m?.length !== n || s.v?.length !== n) {
      const sizes =
        s.m?.length === s.v?.length ? `${s.m?.length} values per moment` : `m ${s.m?.length}, v ${s.v?.length} values`;
      throw new Error(
        `${where}the Adam state has ${sizes}; these parameters need ${n} (${this.arena.list.length} tensors, ` +
          'padded): it was saved for a model with other sizes' +
          (source ? ': delete it to start over, or use the settings it was saved with' : ''),
      );
    }
    if (!Number.isSafeInteger(s.t) || s.t < 0 || !(typeof s.lr === 'number' && Number.isFinite(s.lr) && s.lr >= 0)) {
      throw new Error(
        `${where}the Adam state's step count (${s.t}) or learning rate (${s.lr}) is not valid: ` +
          (source
            ? 'the file is damaged or from another version; delete it to start over'
            : 'expected t an integer >= 0, lr >= 0'),
      );
    }
    this.t = s.t;
    this.lr = s.lr;
    assign(this.m, s.m);
    assign(this.v, s.v);
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
    this.arena.dispose();
  }
}

export interface AdamState {
  t: number;
  lr: number;
  m: Float32Array;
  v: Float32Array;
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD implements Optimizer {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  t = 0;
  readonly arena: ParamArena;
  private buf: Tensor;

  constructor(params: readonly Tensor[], o: SgdOptions) {
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.weightDecay = o.weightDecay ?? 0;
    this.nesterov = o.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('Nesterov momentum needs momentum > 0 and dampening 0');
    }
    this.arena = new ParamArena(params);
    this.buf = this.arena.state();
  }

  step(): void {
    this.arena.check();
    const n = this.arena.size;
    const threads = strideThreads(n, gpu().adapter.fallback);
    gpu().dispatch(
      { shader: 'optim', entry: 'sgd' },
      { param: this.arena.params.ref, grad: this.arena.grads.ref, buf: this.buf.ref },
      {
        n,
        lr: this.lr,
        momentum: this.momentum,
        one_minus_dampening: 1 - this.dampening,
        weight_decay: this.weightDecay,
        first: this.t === 0 ? 1 : 0,
        nesterov: this.nesterov ? 1 : 0,
        threads,
      },
      groups1d(threads),
      'sgd',
    );
    this.t++;
  }

  zeroGrad(): void {
    this.arena.zeroGrad();
  }

  dispose(): void {
    this.buf.dispose();
    this.arena.dispose();
  }
}
