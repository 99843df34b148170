// Generated target networks as PyTorch state dicts (NCHW): conv weights OIHW (out, in, kh, kw), dense weights
// (out, in) with the inputs in PyTorch's flatten order (c, h, w) rather than ours (h, w, c). With TF's SAME
// padding equal to PyTorch's padding = k // 2 for odd k at stride 1, and 2x2 pooling of even sizes, the
// MNIST target is torch.nn.Sequential(Conv2d(1,32,5,padding=2), ReLU, MaxPool2d(2), Conv2d(32,16,5,padding=2),
// ReLU, MaxPool2d(2), Flatten, Linear(784,8), ReLU, Linear(8,10)) with names conv1, conv2, fc1, fc2.

import type { SafeTensor } from '../io/safetensors.js';
import { layerShapes, type TargetSpec } from './target-net.js';

/** One layer's values for all G networks, as read back from a GeneratedLayer. */
export interface LayerData {
  kernel: ArrayLike<number>; // per-unit (G, units, fanIn); last (G, fanIn, units)
  bias: ArrayLike<number>; // (G, units)
}

/** Network g's weights as a PyTorch state dict: conv1.weight, conv1.bias, ..., fc1.weight, ... */
export function torchStateDict(spec: TargetSpec, layers: readonly LayerData[], g: number): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = {};
  let convs = 0;
  let fcs = 0;
  layerShapes(spec).forEach((s, i) => {
    const { kernel, bias } = layers[i]!;
    const F = s.units;
    const C = s.inChannels;
    const b = Float32Array.from({ length: F }, (_, f) => bias[g * F + f]!);
    if (s.layer.kind === 'conv') {
      const k = s.layer.kernel;
      const w = new Float32Array(F * C * k * k);
      for (let f = 0; f < F; f++)
        for (let c = 0; c < C; c++)
          for (let t = 0; t < k * k; t++) w[(f * C + c) * k * k + t] = kernel[(g * F + f) * s.fanIn + t * C + c]!;
      convs++;
      out[`conv${convs}.weight`] = { dtype: 'F32', shape: [F, C, k, k], data: w };
      out[`conv${convs}.bias`] = { dtype: 'F32', shape: [F], data: b };
      return;
    }
    const HW = s.fanIn / C; // spatial positions of the input (1 after a dense layer)
    const w = new Float32Array(F * s.fanIn);
    for (let o = 0; o < F; o++) {
      for (let c = 0; c < C; c++) {
        for (let p = 0; p < HW; p++) {
          const ours = p * C + c; // (h, w, c) order
          w[o * s.fanIn + c * HW + p] = s.perUnit
            ? kernel[(g * F + o) * s.fanIn + ours]!
            : kernel[(g * s.fanIn + ours) * F + o]!;
        }
      }
    }
    fcs++;
    out[`fc${fcs}.weight`] = { dtype: 'F32', shape: [F, s.fanIn], data: w };
    out[`fc${fcs}.bias`] = { dtype: 'F32', shape: [F], data: b };
  });
  return out;
}
