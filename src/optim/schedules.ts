// Learning-rate schedules: they only change `optimizer.lr` on the CPU. PyTorch's semantics.

import type { Optimizer } from './optimizers.js';

/** lr *= gamma at every step() (torch.optim.lr_scheduler.ExponentialLR). */
export class ExponentialLR {
  constructor(
    private opt: Optimizer,
    readonly gamma: number,
  ) {}

  step(): void {
    this.opt.lr *= this.gamma;
  }
}

export interface PlateauOptions {
  mode?: 'min' | 'max';
  factor?: number; // 0.1
  patience?: number; // 10
  threshold?: number; // 1e-4, relative
  cooldown?: number; // 0
  minLr?: number; // 0
  eps?: number; // 1e-8: smaller changes of lr are skipped
}

/** Cuts lr by `factor` when the metric has not improved for `patience` epochs (ReduceLROnPlateau). */
export class ReduceLROnPlateau {
  private best: number;
  private bad = 0;
  private cooldownLeft = 0;
  private o: Required<PlateauOptions>;

  constructor(
    private opt: Optimizer,
    o: PlateauOptions = {},
  ) {
    this.o = { mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, cooldown: 0, minLr: 0, eps: 1e-8, ...o };
    if (this.o.factor >= 1) throw new Error('ReduceLROnPlateau: factor must be < 1');
    this.best = this.o.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(x: number): boolean {
    const t = this.o.threshold;
    return this.o.mode === 'min' ? x < this.best * (1 - t) : x > this.best * (1 + t);
  }

  /** What step() remembers, for a checkpoint. */
  state(): { best: number; bad: number; cooldownLeft: number } {
    return { best: this.best, bad: this.bad, cooldownLeft: this.cooldownLeft };
  }

  loadState(s: { best: number; bad: number; cooldownLeft: number }): void {
    this.best = s.best;
    this.bad = s.bad;
    this.cooldownLeft = s.cooldownLeft;
  }

  /** Call once per epoch with the monitored value. */
  step(metric: number): void {
    if (this.isBetter(metric)) {
      this.best = metric;
      this.bad = 0;
    } else {
      this.bad++;
    }
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.bad = 0;
    }
    if (this.bad > this.o.patience) {
      const lr = Math.max(this.opt.lr * this.o.factor, this.o.minLr);
      if (this.opt.lr - lr > this.o.eps) this.opt.lr = lr;
      this.cooldownLeft = this.o.cooldown;
      this.bad = 0;
    }
  }
}
