// Convolutions at the hypernetwork's shapes (PAPERS.md section 2; bench/conv.ts has the same two layers):
// G generated networks (32 in the paper), each convolving its own n MNIST images (32 by default), NHWC,
// 5x5, SAME, bias:
//
//   layer 1: x (G, n, 28, 28, 1)  w (G, 5, 5, 1, 32)   backward: dw, db (x is the images)
//   layer 2: x (G, n, 14, 14, 32) w (G, 5, 5, 32, 16)  backward: dx, dw, db
//
// Ours is one conv2dGrouped (src/ops/conv.ts, when it exists: the case is skipped otherwise). TF.js has no
// grouped convolution with a weight set per group, so its side is a loop of tf.fused.conv2d, one per
// group, as a TF.js user would write it. A group's work is the same at any G, so the default G is 4,
// which keeps `npm run bench` within minutes on a CPU; `--full` runs G = 32, where TF.js runs 4 of the
// groups and its time is scaled by 8 (the groups are independent and identical in size). The wasm
// backend has no Conv2DBackpropFilter kernel, so it takes part in the forward only.

import * as conv from '../src/ops/conv.js';
import { backward, disposeAll, requireGrad, type Tensor, tensor } from '../src/tensor/index.js';
import { type Case, COMPARED_ROUNDS } from './case.js';
import { oursImpl, type TfTensor, tfImpl } from './cases.js';
import { randomArray } from './util.js';

const N = 32;

interface Layer {
  name: string;
  hw: number;
  cIn: number;
  cOut: number;
  dx: boolean;
}

export const CONV_LAYERS: Layer[] = [
  { name: 'layer 1', hw: 28, cIn: 1, cOut: 32, dx: false },
  { name: 'layer 2', hw: 14, cIn: 32, cOut: 16, dx: true },
];

/** Why the conv cases cannot run, or null. */
export function convMissing(): string | null {
  const c = conv as Partial<typeof conv>;
  if (typeof c.conv2dGrouped !== 'function') return 'src/ops/conv.ts (conv2dGrouped) is not there yet';
  return null;
}

/**
 * G groups of n images (32 in the paper, 8 in the hypernetwork's cpu preset); TF.js runs the first
 * tfGroups of them (its time scaled by G / tfGroups).
 */
export function convCase(L: Layer, withBackward: boolean, G: number, tfGroups = G, n = N): Case {
  const K = 5;
  const xShape = [G, n, L.hw, L.hw, L.cIn];
  const wShape = [G, K, K, L.cIn, L.cOut];
  const yShape = [G, n, L.hw, L.hw, L.cOut]; // SAME, stride 1
  const size = (s: number[]) => s.reduce((a, b) => a * b);
  const x = randomArray(size(xShape), 51, 0, 1);
  const w = randomArray(size(wShape), 52, -0.1, 0.1);
  const b = randomArray(G * L.cOut, 53, -0.1, 0.1);
  const dy = randomArray(size(yShape), 54, -1, 1);
  const macs = G * n * L.hw * L.hw * L.cOut * K * K * L.cIn;
  const products = withBackward ? (L.dx ? 3 : 2) : 1;
  const grads = L.dx ? 'dx, dw, db' : 'dw, db';
  const k = Math.min(tfGroups, G);
  return {
    op: withBackward ? `conv2d fwd+bwd (${grads})` : 'conv2d fwd',
    shape: `${L.name}: x ${xShape.join('x')}, w ${wShape.join('x')}`,
    flops: 2 * macs * products,
    tfFraction: k / G,
    minRounds: COMPARED_ROUNDS, // a target compares these rows with matmul 1024^3
    notes: [
      k < G
        ? `conv ${L.name}: TF.js ran ${k} of the ${G} groups (a loop of conv2d calls), its time scaled by ${G / k}`
        : `conv ${L.name}: TF.js runs a loop of ${G} conv2d calls (it has no grouped convolution)`,
    ],
    async ours() {
      const tx = tensor(x, xShape).keep();
      const tw = tensor(w, wShape).keep();
      const tb = tensor(b, [G, L.cOut]).keep();
      const tdy = tensor(dy, yShape).keep();
      if (withBackward) {
        requireGrad(tw);
        requireGrad(tb);
        if (L.dx) requireGrad(tx);
      }
      const impl = await oursImpl(
        () => {
          const y = conv.conv2dGrouped(tx, tw, tb, { padding: 'SAME' });
          if (!withBackward) return [y];
          backward(y, tdy);
          const gs = [L.dx ? tx.grad : null, tw.grad, tb.grad].filter((t): t is Tensor => t !== null);
          for (const t of [tx, tw, tb]) t.grad = null;
          return [y, ...gs];
        },
        () => disposeAll([tx, tw, tb, tdy]),
        (data) => data.subarray(0, (data.length / G) * k), // the groups TF.js computes
      );
      return impl;
    },
    async tf(tf, backend) {
      if (withBackward && backend === 'wasm') return null;
      const per = (s: number[]) => size(s) / G;
      const slice = (a: Float32Array, s: number[], g: number) => a.subarray(g * per(s), (g + 1) * per(s));
      const groups = Array.from({ length: k }, (_, g) => ({
        x: tf.tensor4d(slice(x, xShape, g), [n, L.hw, L.hw, L.cIn]),
        w: tf.tensor4d(slice(w, wShape, g), [K, K, L.cIn, L.cOut]),
        b: tf.tensor1d(b.subarray(g * L.cOut, (g + 1) * L.cOut)),
        dy: tf.tensor4d(slice(dy, yShape, g), [n, L.hw, L.hw, L.cOut]),
      }));
      type T4 = ReturnType<typeof tf.tensor4d>;
      const f = (xv: TfTensor, wv: TfTensor, bv: TfTensor) =>
        tf.fused.conv2d({ x: xv as T4, filter: wv as T4, bias: bv, strides: 1, pad: 'same' });
      return tfImpl(
        tf,
        () => {
          if (!withBackward) return groups.map((g) => f(g.x, g.w, g.b));
          const ys: TfTensor[] = [];
          const dxs: TfTensor[] = [];
          const dws: TfTensor[] = [];
          const dbs: TfTensor[] = [];
          for (const g of groups) {
            if (L.dx) {
              const { value, grads } = tf.valueAndGrads((xv, wv, bv) => f(xv!, wv!, bv!))([g.x, g.w, g.b], g.dy);
              ys.push(value);
              dxs.push(grads[0]!);
              dws.push(grads[1]!);
              dbs.push(grads[2]!);
            } else {
              const { value, grads } = tf.valueAndGrads((wv, bv) => f(g.x, wv!, bv!))([g.w, g.b], g.dy);
              ys.push(value);
              dws.push(grads[0]!);
              dbs.push(grads[1]!);
            }
          }
          return [...ys, ...dxs, ...dws, ...dbs];
        },
        () => tf.dispose(groups.flatMap((g) => [g.x, g.w, g.b, g.dy])),
      );
    },
  };
}
