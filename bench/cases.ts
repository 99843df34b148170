// The benchmark cases: matmul at square and model shapes, softmax cross-entropy, one Adam step. The
// VAE training step is in cases-train.ts, the convolutions in cases-conv.ts.
//
// Every iteration ends with a completed readback of its whole result, on every side: the matmul's
// output, the logits' gradient, the updated parameters. So a time is what a caller waits for, and the
// same bytes come back from each contender.

import { assign, backward, disposeAll, requireGrad, scope, type Tensor, tensor } from '../src/tensor/index.js';
import { crossEntropy, matmul } from '../src/ops/index.js';
import { Adam } from '../src/optim/index.js';
import type { Tf } from './env.js';
import type { Case, Impl } from './case.js';
import { concat, randomArray } from './util.js';

/**
 * Our side of a case: `step` records one iteration inside a scope and returns the tensors to read.
 * `pick` selects what of each output the cross-check compares (all of it by default).
 */
export async function oursImpl(
  step: () => Tensor[],
  dispose: () => void,
  pick: (data: Float32Array) => Float32Array = (d) => d,
): Promise<Impl> {
  const run = () => scope(step);
  const outs = run();
  const first = concat(await Promise.all(outs.map(async (t) => pick((await t.data()) as Float32Array))));
  disposeAll(outs);
  return {
    first,
    start() {
      const o = run();
      return async () => {
        for (const t of o) await t.data();
        disposeAll(o);
      };
    },
    dispose,
  };
}

/** TF.js's side: `step` runs one iteration inside tf.tidy and returns the tensors to read. */
export async function tfImpl(tf: Tf, step: () => TfTensor[], dispose: () => void): Promise<Impl> {
  const run = () => tf.tidy(step);
  const outs = run();
  // Variables (the parameters an optimizer step returns) outlive the iteration.
  const temporary = (ts: TfTensor[]) => ts.filter((t) => !(t instanceof tf.Variable));
  const first = concat(await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array)));
  tf.dispose(temporary(outs));
  return {
    first,
    start() {
      const o = run();
      return async () => {
        for (const t of o) await t.data();
        tf.dispose(temporary(o));
      };
    },
    dispose,
  };
}

export type TfTensor = ReturnType<Tf['tensor']>;

// ---- matmul -----------------------------------------------------------------------------------------

export type MatmulFn = (a: Tensor, b: Tensor) => Tensor;

/** c = a @ b, a (batch?, m, k), b (batch?, k, n). `mm` is our matmul (or a kernel candidate). */
export function matmulCase(m: number, k: number, n: number, batch = 0, mm: MatmulFn = matmul, label = ''): Case {
  const aShape = batch ? [batch, m, k] : [m, k];
  const bShape = batch ? [batch, k, n] : [k, n];
  const a = randomArray(
    aShape.reduce((x, y) => x * y),
    11,
  );
  const b = randomArray(
    bShape.reduce((x, y) => x * y),
    12,
  );
  const square = !batch && m === k && k === n;
  return {
    op: `matmul${label}`,
    shape: batch ? `${batch} x (${m}x${k} @ ${k}x${n})` : square ? `${m}^3` : `${m}x${k} @ ${k}x${n}`,
    flops: 2 * Math.max(batch, 1) * m * k * n,
    bytes: 4 * Math.max(batch, 1) * (m * k + k * n + m * n), // a, b read once, c written once
    bound: 'flops',
    async ours() {
      const ta = tensor(a, aShape).keep();
      const tb = tensor(b, bShape).keep();
      return oursImpl(
        () => [mm(ta, tb)],
        () => disposeAll([ta, tb]),
      );
    },
    async tf(tf) {
      const ta = tf.tensor(a, aShape);
      const tb = tf.tensor(b, bShape);
      return tfImpl(
        tf,
        () => [tf.matMul(ta, tb)],
        () => tf.dispose([ta, tb]),
      );
    },
  };
}

// ---- softmax cross-entropy --------------------------------------------------------------------------

/** Mean cross-entropy of (rows, cols) logits against integer labels; with `grad`, also d loss / d logits. */
export function crossEntropyCase(rows: number, cols: number, grad: boolean): Case {
  const logits = randomArray(rows * cols, 21, -3, 3);
  const labels = Int32Array.from(randomArray(rows, 22, 0, cols), Math.floor);
  return {
    op: grad ? 'softmax-xent fwd+bwd' : 'softmax-xent fwd',
    shape: `${rows}x${cols}`,
    // logits and labels read, the loss written (and the logits' gradient)
    bytes: 4 * (rows * cols + rows + 1 + (grad ? rows * cols : 0)),
    bound: 'bytes',
    async ours() {
      const x = tensor(logits, [rows, cols]).keep();
      const y = tensor(labels, [rows], 'i32').keep();
      if (grad) requireGrad(x);
      return oursImpl(
        () => {
          const loss = crossEntropy(x, y);
          if (!grad) return [loss];
          backward(loss);
          const dx = x.grad!;
          x.grad = null;
          return [loss, dx];
        },
        () => disposeAll([x, y]),
      );
    },
    async tf(tf) {
      const x = tf.tensor2d(logits, [rows, cols]);
      const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), cols);
      const f = (z: TfTensor) => tf.losses.softmaxCrossEntropy(onehot, z);
      const vg = tf.valueAndGrad(f);
      return tfImpl(
        tf,
        () => {
          if (!grad) return [f(x)];
          const { value, grad: dx } = vg(x);
          return [value, dx];
        },
        () => tf.dispose([x, onehot]),
      );
    },
  };
}

// ---- Adam -------------------------------------------------------------------------------------------

let adamCount = 0;

/** One Adam step (lr 1e-3, PyTorch's defaults) over n parameters in one tensor, with a fixed gradient. */
export function adamCase(n: number): Case {
  const init = randomArray(n, 31, -0.1, 0.1);
  const g = randomArray(n, 32, -1, 1);
  return {
    op: 'adam step',
    shape: `${n.toLocaleString('en-US')} params`,
    flops: 0,
    bytes: 4 * 7 * n, // p, g, m, v read; p, m, v written
    bound: 'bytes',
    async ours() {
      const p = requireGrad(tensor(init, [n])).keep();
      const opt = new Adam([p], { lr: 1e-3 });
      assign(p.grad!, g); // p.grad is a view of the optimizer's gradient arena
      return oursImpl(
        () => {
          opt.step();
          return [p.detach()];
        },
        () => {
          opt.dispose();
          p.dispose();
        },
      );
    },
    async tf(tf) {
      const v = tf.variable(tf.tensor1d(init), true, `bench_adam_${adamCount++}`);
      const gt = tf.tensor1d(g);
      const opt = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
      return tfImpl(
        tf,
        () => {
          opt.applyGradients([{ name: v.name, tensor: gt }]);
          return [v];
        },
        () => {
          opt.dispose();
          tf.dispose([v, gt]);
        },
      );
    },
  };
}
