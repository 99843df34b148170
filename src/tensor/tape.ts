// Reverse-mode autodiff, micrograd style.
//
// While grad mode is on, an op whose input requires grad records on its output a GradNode: its parents
// and a backward closure. `backward(loss)` sorts the graph topologically and walks it in reverse, calling
// each closure with the output's gradient and accumulating what it returns. Leaves (tensors with
// requiresGrad and no node, e.g. parameters) accumulate into `.grad`, which outlives every scope.
// Intermediate gradients are disposed as soon as they are used.

import { gpu, groups1d, strideThreads } from '../gpu/index.js';
import { copyOf, fill } from './create.js';
import { fmtShape, sameShape, scope, type Tensor } from './tensor.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Called by ops: attaches a GradNode to `out` when some parent requires grad. Returns out. */
export function record(out: Tensor, op: string, parents: Tensor[], backward: GradBackward): Tensor {
  if (gradEnabled && parents.some((p) => p.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, parents, backward };
  }
  return out;
}

export type GradBackward = (dy: Tensor) => (Tensor | null)[];

/** Marks a tensor as a leaf that collects gradients. */
export function requireGrad<T extends Tensor>(t: T): T {
  if (t.dtype !== 'f32') throw new Error(`only f32 tensors can require grad, got ${t.dtype}`);
  t.requiresGrad = true;
  return t;
}

function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: a deep network must not overflow the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const parents = top[0].node?.parents ?? [];
    if (top[1] < parents.length) {
      const p = parents[top[1]++]!;
      if (p.requiresGrad && !seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order;
}

/**
 * Accumulates d(root)/d(leaf) into every reachable leaf's `.grad`. `dy` defaults to ones (root must then
 * hold one value, like a loss).
 */
export function backward(root: Tensor, dy?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward(): ${root} does not require grad (nothing to differentiate)`);
  if (!dy && root.size !== 1) {
    throw new Error(`backward() without a gradient needs a single-value tensor, got ${fmtShape(root.shape)}`);
  }
  const order = topoSort(root);
  scope(() => {
    noGrad(() => {
      const grads = new Map<Tensor, Tensor>();
      grads.set(root, dy ? dy.view(dy.shape) : fill(root.shape, 1));
      for (let i = order.length - 1; i >= 0; i--) {
        const t = order[i]!;
        const g = grads.get(t);
        if (!g) continue;
        grads.delete(t);
        if (!t.node) {
          accumulateLeaf(t, g);
          continue;
        }
        const pgs = t.node.backward(g);
        const given = new Set<Tensor>([g]);
        t.node.parents.forEach((p, j) => {
          let pg = pgs[j];
          if (!pg || !p.requiresGrad) return;
          if (!sameShape(pg.shape, p.shape)) {
            throw new Error(
              `backward of '${t.node!.op}' gave a gradient ${fmtShape(pg.shape)} for an input ${fmtShape(p.shape)}`,
            );
          }
          // A rule may hand the same tensor to two parents (add does): give each its own handle.
          if (given.has(pg)) pg = pg.view(pg.shape);
          given.add(pg);
          const prev = grads.get(p);
          grads.set(p, prev ? addInto(prev, pg) : pg);
        });
        g.dispose();
      }
    });
  });
}

/** Leaves whose .grad was just zeroed by their owner (an optimizer's zeroGrad). */
const zeroed = new WeakSet<Tensor>();

/**
 * Says that `leaf.grad` holds zeros: the next gradient that reaches the leaf is copied into .grad rather
 * than added (one buffer copy instead of a kernel).
 */
export function markGradZeroed(leaf: Tensor): void {
  zeroed.add(leaf);
}

/** Whether leaf.grad is marked as zeros (no gradient has reached it since). */
export function isGradZeroed(leaf: Tensor): boolean {
  return zeroed.has(leaf);
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.grad && zeroed.delete(leaf)) {
    // 0 + g is g: a copy, not a kernel (a training step's parameters each take this path once)
    const bytes = 4 * g.size;
    gpu().copy({ ...g.ref, size: bytes }, { ...leaf.grad.ref, size: bytes });
    return;
  }
  if (!leaf.grad) {
    // The gradient buffer will be added into in place later, so it must not share memory.
    leaf.grad = (g.storage.shared ? copyOf(g) : g).keep();
    return;
  }
  accumulate(leaf.grad, g);
}

/** prev + g, in place in prev's memory when nobody else shares it. */
function addInto(prev: Tensor, g: Tensor): Tensor {
  const acc = prev.storage.shared ? copyOf(prev) : prev;
  accumulate(acc, g);
  return acc;
}

// ---- the kernel autodiff itself needs (shaders/tensor.wgsl) ---------------------------------------------

/** acc += g, in place. */
export function accumulate(acc: Tensor, g: Tensor): void {
  if (acc.size !== g.size) throw new Error(`accumulate: ${fmtShape(acc.shape)} += ${fmtShape(g.shape)}`);
  const n = acc.size;
  const threads = strideThreads(n, gpu().adapter.fallback);
  gpu().dispatch(
    { shader: 'tensor', entry: 'accumulate' },
    { acc: acc.ref, g: g.ref },
    { n, threads },
    groups1d(threads),
    'accumulate',
  );
}
