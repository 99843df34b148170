// The target networks a hypernetwork generates, described by data (docs/models.md; paper 2): an input shape,
// conv layers (k x k SAME, bias, ReLU, max-pool) and dense layers, the last giving the logits. G networks
// are evaluated in one pass with the grouped kernels, each on its own images, never in a loop over networks.
// Not here: the hypernetwork that makes their weights (hypernet.ts), gauge fixing (gauge.ts).

import { add, conv2dGrouped, linear, matmul, maxPool2d, relu, reshape, transpose } from '../ops/index.js';
import { fmtShape, type Tensor } from '../tensor/index.js';

export interface ConvLayer {
  kind: 'conv';
  filters: number;
  kernel: number; // k x k, SAME padding, stride 1
  pool: number; // max-pool window and stride after the ReLU (SAME padding)
  hidden: number; // width of the hidden layers of this layer's weight generator
}

export interface DenseLayer {
  kind: 'dense';
  units: number;
  hidden: number;
}

export type TargetLayer = ConvLayer | DenseLayer;

export interface TargetSpec {
  name: string;
  input: readonly [number, number, number]; // H, W, C
  classes: number;
  layers: readonly TargetLayer[]; // the last is dense with `classes` units
}

/** The paper's MNIST net: 20,018 weights. */
export const MNIST_TARGET: TargetSpec = {
  name: 'mnist',
  input: [28, 28, 1],
  classes: 10,
  layers: [
    { kind: 'conv', filters: 32, kernel: 5, pool: 2, hidden: 40 },
    { kind: 'conv', filters: 16, kernel: 5, pool: 2, hidden: 100 },
    { kind: 'dense', units: 8, hidden: 100 },
    { kind: 'dense', units: 10, hidden: 60 },
  ],
};

/**
 * A LeNet on 32x32x3 images (CIFAR-10's shape), after the paper's second version: conv 6 and 16 filters,
 * dense 120, 84, 10. The paper's table gives only its parameter counts, not every width, so this is the
 * classic LeNet-5 with SAME padding; CIFAR-10 itself cannot be had here.
 */
export const LENET_TARGET: TargetSpec = {
  name: 'lenet-cifar',
  input: [32, 32, 3],
  classes: 10,
  layers: [
    { kind: 'conv', filters: 6, kernel: 5, pool: 2, hidden: 100 },
    { kind: 'conv', filters: 16, kernel: 5, pool: 2, hidden: 100 },
    { kind: 'dense', units: 120, hidden: 100 },
    { kind: 'dense', units: 84, hidden: 100 },
    { kind: 'dense', units: 10, hidden: 100 },
  ],
};

/** One layer's geometry: what its generator emits per code, and how the layer reads its input. */
export interface LayerShape {
  layer: TargetLayer;
  units: number; // filters or units (outputs)
  fanIn: number; // inputs per unit: k*k*Cin for conv, the flattened input for dense
  inChannels: number; // channels (or units) of the previous layer: input feature i belongs to channel i % inChannels
  perUnit: boolean; // one code per unit (a row: fanIn weights, then the bias), or one for the whole layer (last)
  rowLength: number; // what the generator emits per code
  codes: number; // codes this layer takes from the extractor
  weights: number; // of this layer in the target network
}

/** Every layer's shape, checking the description. */
export function layerShapes(spec: TargetSpec): LayerShape[] {
  let [h, w, c] = spec.input;
  const last = spec.layers.length - 1;
  const out: LayerShape[] = [];
  let flat = false;
  spec.layers.forEach((layer, i) => {
    const what = `target '${spec.name}' layer ${i + 1}`;
    let fanIn: number;
    let units: number;
    if (layer.kind === 'conv') {
      if (flat) throw new Error(`${what}: a conv layer cannot follow a dense one`);
      fanIn = layer.kernel * layer.kernel * c;
      units = layer.filters;
    } else {
      fanIn = flat ? c : h * w * c;
      units = layer.units;
    }
    const perUnit = i < last;
    const rowLength = perUnit ? fanIn + 1 : fanIn * units + units;
    out.push({
      layer,
      units,
      fanIn,
      inChannels: c,
      perUnit,
      rowLength,
      codes: perUnit ? units : 1,
      weights: fanIn * units + units,
    });
    if (layer.kind === 'conv') {
      h = Math.ceil(h / layer.pool);
      w = Math.ceil(w / layer.pool);
      c = layer.filters;
    } else {
      flat = true;
      c = layer.units;
    }
  });
  const end = spec.layers[last];
  if (end?.kind !== 'dense' || end.units !== spec.classes) {
    throw new Error(`target '${spec.name}': the last layer must be dense with ${spec.classes} units (the logits)`);
  }
  return out;
}

/** Weights of one target network. */
export function targetWeights(spec: TargetSpec): number {
  return layerShapes(spec).reduce((s, l) => s + l.weights, 0);
}

/**
 * One layer of G generated networks: per-unit layers as kernel (G, units, fanIn) and bias (G, units); the
 * last as matrix (G, fanIn, units) (inputs x classes) and bias (G, units).
 */
export interface GeneratedLayer {
  kernel: Tensor;
  bias: Tensor;
}

/**
 * Logits (G, n, classes) of G networks, network g on its own images x[g]: x (G, n, H, W, C) NHWC.
 * Conv kernels are rows in (kh, kw, cin) order, so the HWIO weight is the row block transposed.
 */
export function targetForward(spec: TargetSpec, layers: readonly GeneratedLayer[], x: Tensor): Tensor {
  const shapes = layerShapes(spec);
  const [H, W, C] = spec.input;
  if (x.rank !== 5 || x.shape[2] !== H || x.shape[3] !== W || x.shape[4] !== C) {
    throw new Error(`target '${spec.name}': images ${fmtShape(x.shape)}, expected (G, n, ${H}, ${W}, ${C})`);
  }
  const [G, n] = x.shape as [number, number];
  const made = layers[0]?.kernel.shape[0];
  if (layers.length !== shapes.length || made !== G) {
    throw new Error(
      `target '${spec.name}': ${layers.length} layers of ${made} networks for images ${fmtShape(x.shape)}; ` +
        `expected ${shapes.length} layers of ${G} networks (one per image set)`,
    );
  }
  let h = x;
  shapes.forEach((s, i) => {
    const { kernel, bias } = layers[i]!;
    if (s.layer.kind === 'conv') {
      const k = s.layer.kernel;
      // (G, F, k*k*Cin) -> (G, k*k*Cin, F) -> HWIO (G, k, k, Cin, F)
      const w = reshape(transpose(kernel, 1, 2), [G, k, k, s.inChannels, s.units]);
      // conv -> ReLU -> max-pool, computed as pool then ReLU: ReLU is monotone, so the two orders give the
      // same outputs and gradients to the bit, and this one runs ReLU and its gradient on a quarter of the values
      const y = conv2dGrouped(h, w, bias, { padding: 'SAME' });
      h = relu(maxPool2d(y, { size: s.layer.pool, padding: 'SAME' }));
    } else {
      if (h.rank !== 3) h = reshape(h, [G, n, s.fanIn]); // flatten (h, w, c)
      h = s.perUnit
        ? linear(h, kernel, reshape(bias, [G, 1, s.units]), 'relu') // kernel (G, units, fanIn)
        : add(matmul(h, kernel), reshape(bias, [G, 1, s.units])); // kernel (G, fanIn, classes)
    }
  });
  return h;
}
