// Layers without convolution or normalisation: Linear, activations, Sequential.

import { leakyRelu, relu, sigmoid, tanh } from '../ops/elementwise.js';
import { fusedLinear } from '../ops/linear.js';
import type { Activation } from '../ops/matmul.js';
import { defaultRng, type Rng, type Tensor } from '../tensor/index.js';
import { type Init, torchUniform } from './init.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
  /** The weight's initialiser (default PyTorch's, as the bias's). */
  init?: Init;
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
    this.weight = this.param('weight', (o.init ?? torchUniform)([outFeatures, inFeatures], inFeatures, rng));
    this.bias = o.bias === false ? null : this.param('bias', torchUniform([outFeatures], inFeatures, rng));
  }

  // x: (..., in) -> (..., out); `act` fuses the activation that follows into the same dispatch (and the
  // backward pass is one dispatch: ops/linear.ts)
  forward(x: Tensor, act: Activation = 'none'): Tensor {
    return fusedLinear(x, this.weight, this.bias, act);
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
  /** A Linear followed by a ReLU or a Sigmoid runs as one fused dispatch (the same values and gradients). */
  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const m = this.layers[i]!;
      const act = m instanceof Linear ? fusable(this.layers[i + 1]) : null;
      if (act) {
        h = (m as Linear).forward(h, act);
        i++; // the activation is done
      } else {
        h = m.forward(h);
      }
    }
    return h;
  }
}

function fusable(next: Module | undefined): Activation | null {
  if (next instanceof ReLU) return 'relu';
  if (next instanceof Sigmoid) return 'sigmoid';
  return null;
}
