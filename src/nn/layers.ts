// Layers without convolution or normalisation: Linear, activations, Sequential.

import { add, leakyRelu, relu, sigmoid, tanh } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { defaultRng, type Rng, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
}

/** y = x W^T + b, W (out, in). PyTorch's default init: W and b ~ U(-1/sqrt(in), 1/sqrt(in)). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: LinearOptions = {},
  ) {
    super();
    const rng = o.rng ?? defaultRng();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', rng.uniform([outFeatures, inFeatures], -bound, bound));
    this.bias = o.bias === false ? null : this.param('bias', rng.uniform([outFeatures], -bound, bound));
  }

  // x: (..., in) -> (..., out)
  forward(x: Tensor): Tensor {
    const y = matmul(x, this.weight, false, true);
    return this.bias ? add(y, this.bias) : y;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly alpha = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.alpha);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** Runs modules in order; their parameters are named "0.weight", "1.bias", ... as in torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.child(String(i), m));
  }
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.forward(h), x);
  }
}
