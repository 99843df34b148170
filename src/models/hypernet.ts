// The Deutsch hypernetwork (docs/models.md; paper 2): noise z ~ U[-1,1]^300 -> an extractor MLP -> one code of 15
// values per filter (per unit; one for the whole last layer) -> a weight generator per layer, shared across
// that layer's filters -> the weights of a target network (target-net.ts). Trained for accuracy and diversity:
// loss = lambda * mean cross-entropy - H, with H the Kozachenko-Leonenko entropy of the gauge-fixed weights.
//
// Every Linear has no bias and the variance-scaling init (0.01, fan-in, truncated normal); hidden layers are
// leaky-ReLU(0.05) FOLLOWED by batch norm (eps 1e-7), whose moments for a generator run over the z-batch AND
// the filter index (its rows are B * filters). Batch norm's running statistics, decided in docs/models.md:
// default keeps 0.98 of the old value (running mean 0, variance 1 at the start); faithful does what the code
// did, weighing the new batch 0.98, both statistics starting at 0. Not here: training (hypernet-train.ts).

import { klEntropy } from '../analysis/entropy.js';
import { BatchNorm, LeakyReLU, Linear, Module, Sequential, varianceScaling } from '../nn/index.js';
import { crossEntropy, mul, reshape, slice, sub } from '../ops/index.js';
import { fillInPlace, fmtShape, type Rng, type Tensor } from '../tensor/index.js';
import { flattenLayers, generatedLayers, type LogitBias } from './gauge.js';
import { type GeneratedLayer, layerShapes, type TargetSpec, targetForward } from './target-net.js';

export interface HypernetConfig {
  target: TargetSpec;
  noise: number; // 300
  code: number; // 15
  extractorHidden: number; // 300
  faithful: boolean; // the code's batch-norm update and logits' bias instead of the decisions
}

export const MNIST_HYPERNET = { noise: 300, code: 15, extractorHidden: 300 } as const;

/** Linear(i, h) -> LeakyReLU -> BN(h) -> Linear(h, h) -> LeakyReLU -> BN(h) -> Linear(h, o), no biases. */
function subnet(i: number, h: number, o: number, rng: Rng, faithful: boolean): Sequential {
  const init = varianceScaling(0.01);
  const bn = () => {
    const b = new BatchNorm([h], { eps: 1e-7, convention: 'tf', momentum: faithful ? 0.02 : 0.98 });
    if (faithful) fillInPlace(b.runningVar, 0);
    return b;
  };
  const lin = (a: number, b: number) => new Linear(a, b, { bias: false, init, rng });
  return new Sequential(lin(i, h), new LeakyReLU(0.05), bn(), lin(h, h), new LeakyReLU(0.05), bn(), lin(h, o));
}

export class Hypernet extends Module {
  readonly extractor: Sequential;
  readonly generators: Sequential[];

  constructor(
    readonly config: HypernetConfig,
    rng: Rng,
  ) {
    super();
    const { target, noise, code, extractorHidden, faithful } = config;
    const shapes = layerShapes(target);
    const codes = shapes.reduce((n, s) => n + s.codes, 0);
    this.extractor = this.child('extractor', subnet(noise, extractorHidden, codes * code, rng, faithful));
    this.generators = shapes.map((s, i) =>
      this.child(`gen${i + 1}`, subnet(code, s.layer.hidden, s.rowLength, rng, faithful)),
    );
  }

  /** The generators' raw outputs for noise z (B, noise): per layer (B, codes, rowLength). */
  generate(z: Tensor): Tensor[] {
    const { noise, code, target } = this.config;
    if (z.rank !== 2 || z.shape[1] !== noise)
      throw new Error(`Hypernet: z is ${fmtShape(z.shape)}, expected (B, ${noise})`);
    const B = z.shape[0]!;
    const shapes = layerShapes(target);
    const total = shapes.reduce((n, s) => n + s.codes, 0);
    const codes = reshape(this.extractor.forward(z), [B, total, code]);
    let at = 0;
    return shapes.map((s, i) => {
      const c = reshape(slice(codes, [0, at, 0], [B, s.codes, code]), [B * s.codes, code]);
      at += s.codes;
      return reshape(this.generators[i]!.forward(c), [B, s.codes, s.rowLength]);
    });
  }

  /** The gauge-fixed weights of the B networks made from z, flattened: (B, target weights). */
  forward(z: Tensor): Tensor {
    return flattenLayers(this.config.target, this.networks(z));
  }

  /** The gauge-fixed layers of the B networks made from z. */
  networks(z: Tensor): GeneratedLayer[] {
    const bias: LogitBias = this.config.faithful ? 'sum' : 'mean';
    return generatedLayers(this.config.target, this.generate(z), true, bias);
  }
}

export interface HypernetLossOptions {
  lambda: number; // 1e3
  entropyDim: number; // d in H: the noise dimension (300)
  metric: 'l1' | 'l2'; // l1 in the paper's main experiment
}

export interface HypernetLoss {
  loss: Tensor; // lambda * ce - entropy
  ce: Tensor;
  entropy: Tensor;
  logits: Tensor; // (B, n, classes)
}

/**
 * The loss for noise z (B, noise), network b classifying its own images x[b] (B, n, H, W, C) with labels
 * y (B * n) i32.
 */
export function hypernetLoss(net: Hypernet, z: Tensor, x: Tensor, y: Tensor, o: HypernetLossOptions): HypernetLoss {
  const target = net.config.target;
  const layers = net.networks(z);
  const logits = targetForward(target, layers, x);
  const [B, n] = logits.shape as [number, number];
  const ce = crossEntropy(reshape(logits, [B * n, target.classes]), y);
  const entropy = klEntropy(flattenLayers(target, layers), o.entropyDim, o.metric);
  const loss = sub(mul(ce, o.lambda), entropy);
  return { loss, ce, entropy, logits };
}
