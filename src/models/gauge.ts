// Gauge fixing S(theta) of generated networks (docs/models.md; paper 2), inside the graph: a ReLU network is
// unchanged when a unit's incoming weights and bias are divided by s > 0 and its outgoing weights multiplied
// by s. Layer by layer, each unit (filter) of every layer but the last is scaled to unit RMS,
// s = sqrt((sum w^2 + b^2) / (fanIn + 1) + 1e-8), and the next layer's weights from that unit's channel are
// multiplied by s before the next layer's own s is computed. The logits' bias loses its mean (a shift that
// softmax ignores; the code subtracted the sum, kept as 'sum'). The result is what the classifier and the
// entropy term see. Not here: the layouts (target-net.ts).

import { div, mean, mul, reshape, slice, sqrt, square, sub, sum, add, concat } from '../ops/index.js';
import { fmtShape, sameShape, type Tensor } from '../tensor/index.js';
import { type GeneratedLayer, layerShapes, type TargetSpec } from './target-net.js';

export type LogitBias = 'mean' | 'sum';

/**
 * The layers of B networks from their generators' raw outputs (B, codes, rowLength) per layer, gauge-fixed
 * (or, with gauge false, only split into kernels and biases).
 */
export function generatedLayers(
  spec: TargetSpec,
  raws: readonly Tensor[],
  gauge: boolean,
  logitBias: LogitBias = 'mean',
): GeneratedLayer[] {
  const shapes = layerShapes(spec);
  const B = raws[0]?.shape[0] ?? 0;
  if (raws.length !== shapes.length) {
    throw new Error(
      `generatedLayers: ${raws.length} generator outputs for the ${shapes.length} layers of '${spec.name}'`,
    );
  }
  shapes.forEach((s, i) => {
    const want = [B, s.codes, s.rowLength];
    if (!sameShape(raws[i]!.shape, want)) {
      throw new Error(
        `generatedLayers: layer ${i + 1} of '${spec.name}' is ${fmtShape(raws[i]!.shape)}, expected ${fmtShape(want)} (networks, codes, row)`,
      );
    }
  });
  let sPrev: Tensor | null = null; // (B, units of the previous layer)
  return shapes.map((s, i) => {
    const raw = raws[i]!;
    const cp = s.inChannels;
    // multiplies every input weight by the scale of the channel it reads: feature f belongs to channel f % cp
    const rescale = (w: Tensor, rows: number, inAxisFirst: boolean): Tensor => {
      if (!gauge || !sPrev) return w;
      return inAxisFirst
        ? reshape(mul(reshape(w, [B, s.fanIn / cp, cp, rows]), reshape(sPrev, [B, 1, cp, 1])), [B, s.fanIn, rows])
        : reshape(mul(reshape(w, [B, rows, s.fanIn / cp, cp]), reshape(sPrev, [B, 1, 1, cp])), [B, rows, s.fanIn]);
    };
    if (s.perUnit) {
      let kernel = rescale(slice(raw, [0, 0, 0], [B, s.units, s.fanIn]), s.units, false); // (B, F, fanIn)
      let bias = reshape(slice(raw, [0, 0, s.fanIn], [B, s.units, 1]), [B, s.units]); // (B, F)
      if (gauge) {
        // s = sqrt((sum w^2 + b^2) / (fanIn + 1) + 1e-8), per unit: (B, F)
        const scale = sqrt(add(div(add(sum(square(kernel), -1), square(bias)), s.fanIn + 1), 1e-8));
        kernel = div(kernel, reshape(scale, [B, s.units, 1]));
        bias = div(bias, scale);
        sPrev = scale;
      }
      return { kernel, bias };
    }
    // the last layer: a matrix (fanIn x units) row-major, then the biases
    const matrix = rescale(
      reshape(slice(raw, [0, 0, 0], [B, 1, s.fanIn * s.units]), [B, s.fanIn, s.units]),
      s.units,
      true,
    );
    let bias = reshape(slice(raw, [0, 0, s.fanIn * s.units], [B, 1, s.units]), [B, s.units]);
    if (gauge) bias = sub(bias, logitBias === 'mean' ? mean(bias, -1, true) : sum(bias, -1, true));
    return { kernel: matrix, bias };
  });
}

/** Each network's weights flattened (B, weights): per layer, unit by unit its weights then its bias; the last layer's matrix then its biases. */
export function flattenLayers(spec: TargetSpec, layers: readonly GeneratedLayer[]): Tensor {
  const shapes = layerShapes(spec);
  const B = layers[0]!.kernel.shape[0]!;
  const parts = shapes.map((s, i) => {
    const { kernel, bias } = layers[i]!;
    return s.perUnit
      ? reshape(concat([kernel, reshape(bias, [B, s.units, 1])], 2), [B, s.weights])
      : concat([reshape(kernel, [B, s.fanIn * s.units]), bias], 1);
  });
  return concat(parts, 1);
}
