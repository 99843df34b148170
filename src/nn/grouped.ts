// Populations of small networks: G independent Linear layers evaluated in one batched matmul. Group g has
// its own weights, initialised from its own generator, and sees its own slice of the batch, so training a
// population equals training its members one by one (the zoo of Iris classifiers uses this).

import { fusedLinear } from '../ops/linear.js';
import type { Activation } from '../ops/matmul.js';
import { concat } from '../ops/shape.js';
import { fmtShape, noGrad, type Rng, scope, type Tensor, zeros } from '../tensor/index.js';
import { Module } from './module.js';

/** G linear layers: x (G, B, in) or (B, in) shared by all -> (G, B, out). Weight (G, out, in), bias (G, 1, out). */
export class GroupedLinear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  /**
   * rngs: one generator per group; each draws PyTorch's default init U(-1/sqrt(in), 1/sqrt(in)), W then b.
   * null: zeros (for weights loaded afterwards).
   */
  constructor(
    readonly groups: number,
    readonly inFeatures: number,
    readonly outFeatures: number,
    rngs: readonly Rng[] | null,
  ) {
    super();
    if (!rngs) {
      this.weight = this.param('weight', zeros([groups, outFeatures, inFeatures]));
      this.bias = this.param('bias', zeros([groups, 1, outFeatures]));
      return;
    }
    if (rngs.length !== groups)
      throw new Error(`GroupedLinear: ${groups} groups need ${groups} generators, got ${rngs.length}`);
    const bound = 1 / Math.sqrt(inFeatures);
    const [w, b] = noGrad(() =>
      scope(() => {
        const ws: Tensor[] = [];
        const bs: Tensor[] = [];
        for (const rng of rngs) {
          ws.push(rng.uniform([1, outFeatures, inFeatures], -bound, bound));
          bs.push(rng.uniform([1, 1, outFeatures], -bound, bound));
        }
        return [concat(ws, 0), concat(bs, 0)];
      }),
    );
    this.weight = this.param('weight', w!);
    this.bias = this.param('bias', b!);
  }

  /** `act` fuses the activation that follows into the same dispatch. */
  forward(x: Tensor, act: Activation = 'none'): Tensor {
    const ok = (x.rank === 3 && x.shape[0] === this.groups) || x.rank === 2;
    if (!ok || x.shape.at(-1) !== this.inFeatures) {
      throw new Error(
        `GroupedLinear(${this.groups}, ${this.inFeatures} -> ${this.outFeatures}): input ${fmtShape(x.shape)}; expected (${this.groups}, B, ${this.inFeatures}) or (B, ${this.inFeatures})`,
      );
    }
    // (G, B, in) @ (G, out, in)^T + (G, 1, out); the backward pass in one dispatch (ops/linear.ts)
    return fusedLinear(x, this.weight, this.bias, act);
  }
}
