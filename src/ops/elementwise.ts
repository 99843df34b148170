// Elementwise ops with NumPy broadcasting (shaders/elementwise.wgsl): forward dispatch, backward rule and
// float64 CPU reference for each. Scalar forms (`add(x, 2)`) run as unary ops with the scalar in the
// uniform. Not here: anything that reduces (reduce.ts) or mixes positions (matmul.ts, softmax.ts).

import { gpu, strideThreads } from '../gpu/index.js';
import { SHADER_CONSTS } from '../gpu/shaders.gen.js';
import {
  broadcastShapes,
  collapseDims,
  rankConstant,
  fmtShape,
  groups1d,
  record,
  sameShape,
  type Shape,
  Tensor,
} from '../tensor/index.js';
import { sumToShape } from './reduce.js';

// The op codes: the `const`s of shaders/elementwise.wgsl, which picks the op by its OP override.
const OP = SHADER_CONSTS.elementwise;
const UNARY = {
  neg: OP.NEG,
  exp: OP.EXP,
  log: OP.LOG,
  sqrt: OP.SQRT,
  abs: OP.ABS,
  relu: OP.RELU,
  leaky_relu: OP.LEAKY_RELU,
  sigmoid: OP.SIGMOID,
  tanh: OP.TANH,
  clamp: OP.CLAMP,
  add_s: OP.ADD_S,
  mul_s: OP.MUL_S,
  pow_s: OP.POW_S,
  rsub_s: OP.RSUB_S,
  rdiv_s: OP.RDIV_S,
  square: OP.SQUARE,
  sign: OP.SIGN,
} as const;
const BINARY = {
  add: OP.ADD,
  sub: OP.SUB,
  mul: OP.MUL,
  div: OP.DIV,
  pow: OP.POW,
  relu_bwd: OP.RELU_BWD,
  leaky_relu_bwd: OP.LEAKY_RELU_BWD,
  clamp_bwd: OP.CLAMP_BWD,
  sigmoid_bwd: OP.SIGMOID_BWD,
  tanh_bwd: OP.TANH_BWD,
} as const;
type UnaryOp = keyof typeof UNARY;
type BinaryOp = keyof typeof BINARY;

const MAX_RANK = 8;

function f32Only(x: Tensor, op: string): void {
  if (x.dtype !== 'f32') throw new Error(`${op}: expects an f32 tensor, got ${x.dtype} ${fmtShape(x.shape)}`);
}

function unaryKernel(op: UnaryOp, x: Tensor, alpha = 0, beta = 0): Tensor {
  f32Only(x, op);
  const out = Tensor.empty(x.shape);
  const n = x.size;
  const threads = strideThreads(n, gpu().adapter.fallback);
  gpu().dispatch(
    { shader: 'elementwise', entry: 'unary', constants: { OP: UNARY[op] } },
    { x: x.ref, out: out.ref },
    { n, alpha, beta, threads },
    groups1d(threads),
    op,
  );
  return out;
}

/** Strides of `shape` read as `out` (aligned at the right), with 0 on broadcast dims. */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const s = new Array<number>(out.length).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = out.length - shape.length + i;
    s[j] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i]!;
  }
  return s;
}

function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor, alpha = 0, beta = 0): Tensor {
  f32Only(a, op);
  f32Only(b, op);
  const shape = broadcastShapes(a.shape, b.shape);
  if (shape.length > MAX_RANK) throw new Error(`${op}: rank ${shape.length} is above the maximum of ${MAX_RANK}`);
  const out = Tensor.empty(shape);
  const n = out.size;
  const threads = strideThreads(n, gpu().adapter.fallback);
  const spec = { shader: 'elementwise' as const, constants: { OP: BINARY[op] } };
  const buffers = { a: a.ref, b: b.ref, out: out.ref };
  const pad = (v: number[]) => [...v, ...new Array(MAX_RANK - v.length).fill(0)];
  // fewer dims, fewer divisions per element (collapseDims); none when a and b step alike, e.g. (1, n) and (n)
  const c = collapseDims(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const flat = sameShape(a.shape, b.shape) || (c.shape.length <= 1 && c.strides.every((st) => (st[0] ?? 1) === 1));
  if (flat) {
    const u = { n, rank: 0, alpha, beta, threads, shape: pad([]), sa: pad([]), sb: pad([]) };
    gpu().dispatch({ ...spec, entry: 'binary_flat' }, buffers, u, groups1d(threads), op);
  } else {
    const u = {
      n,
      rank: c.shape.length,
      alpha,
      beta,
      threads,
      shape: pad(c.shape),
      sa: pad(c.strides[0]!),
      sb: pad(c.strides[1]!),
    };
    gpu().dispatch(
      { ...spec, entry: 'binary', constants: { OP: BINARY[op], RANK: rankConstant(c.shape) } },
      buffers,
      u,
      groups1d(threads),
      op,
    );
  }
  return out;
}

// ---- unary ops --------------------------------------------------------------------------------------

export function neg(x: Tensor): Tensor {
  // d(-x) = -dy
  return record(unaryKernel('neg', x), 'neg', [x], (dy) => [neg(dy)]);
}

export function exp(x: Tensor): Tensor {
  const y = unaryKernel('exp', x);
  // d(exp x) = exp x * dy
  return record(y, 'exp', [x], (dy) => [mul(dy, y)]);
}

export function log(x: Tensor): Tensor {
  // d(log x) = dy / x
  return record(unaryKernel('log', x), 'log', [x], (dy) => [div(dy, x)]);
}

export function sqrt(x: Tensor): Tensor {
  const y = unaryKernel('sqrt', x);
  // d(sqrt x) = dy / (2 sqrt x)
  return record(y, 'sqrt', [x], (dy) => [div(dy, mul(y, 2))]);
}

export function abs(x: Tensor): Tensor {
  // d|x| = sign(x) dy
  return record(unaryKernel('abs', x), 'abs', [x], (dy) => [mul(dy, unaryKernel('sign', x))]);
}

export function square(x: Tensor): Tensor {
  // d(x^2) = 2 x dy
  return record(unaryKernel('square', x), 'square', [x], (dy) => [mul(dy, mul(x, 2))]);
}

export function relu(x: Tensor): Tensor {
  // d relu(x) = dy where x > 0
  return record(unaryKernel('relu', x), 'relu', [x], (dy) => [binaryKernel('relu_bwd', x, dy)]);
}

export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  // d leaky_relu(x) = dy where x > 0, alpha dy elsewhere
  const y = unaryKernel('leaky_relu', x, alpha);
  return record(y, 'leaky_relu', [x], (dy) => [binaryKernel('leaky_relu_bwd', x, dy, alpha)]);
}

export function sigmoid(x: Tensor): Tensor {
  const y = unaryKernel('sigmoid', x);
  // d sigmoid(x) = y (1 - y) dy
  return record(y, 'sigmoid', [x], (dy) => [binaryKernel('sigmoid_bwd', y, dy)]);
}

/**
 * The backward rule of ReLU or sigmoid from the activation's OUTPUT y (for ops that fuse the activation and
 * keep only y, such as linear() in matmul.ts): relu: dy where y > 0 (the same set as x > 0); sigmoid:
 * y (1 - y) dy.
 */
export function activationBackward(act: 'relu' | 'sigmoid', y: Tensor, dy: Tensor): Tensor {
  return binaryKernel(act === 'relu' ? 'relu_bwd' : 'sigmoid_bwd', y, dy);
}

export function tanh(x: Tensor): Tensor {
  const y = unaryKernel('tanh', x);
  // d tanh(x) = (1 - y^2) dy
  return record(y, 'tanh', [x], (dy) => [binaryKernel('tanh_bwd', y, dy)]);
}

export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new Error(`clamp: lo (${lo}) must be <= hi (${hi})`);
  // d clamp(x) = dy where lo <= x <= hi (PyTorch's convention at the edges)
  return record(unaryKernel('clamp', x, lo, hi), 'clamp', [x], (dy) => [binaryKernel('clamp_bwd', x, dy, lo, hi)]);
}

// ---- binary ops (a tensor or a number on the right) ------------------------------------------------

export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return record(unaryKernel('add_s', a, b), 'add', [a], (dy) => [dy]);
  // d(a + b) = dy, dy (summed over broadcast dims)
  return record(binaryKernel('add', a, b), 'add', [a, b], (dy) => [sumToShape(dy, a.shape), sumToShape(dy, b.shape)]);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return record(unaryKernel('add_s', a, -b), 'sub', [a], (dy) => [dy]);
  // d(a - b) = dy, -dy
  return record(binaryKernel('sub', a, b), 'sub', [a, b], (dy) => [
    sumToShape(dy, a.shape),
    b.requiresGrad ? sumToShape(neg(dy), b.shape) : null,
  ]);
}

/** b - a for a number b. */
export function rsub(b: number, a: Tensor): Tensor {
  return record(unaryKernel('rsub_s', a, b), 'rsub', [a], (dy) => [neg(dy)]);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return record(unaryKernel('mul_s', a, b), 'mul', [a], (dy) => [mul(dy, b)]);
  // d(a b) = b dy, a dy
  return record(binaryKernel('mul', a, b), 'mul', [a, b], (dy) => [
    a.requiresGrad ? sumToShape(mul(dy, b), a.shape) : null,
    b.requiresGrad ? sumToShape(mul(dy, a), b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return mul(a, 1 / b);
  // d(a / b) = dy / b, -a dy / b^2
  return record(binaryKernel('div', a, b), 'div', [a, b], (dy) => [
    a.requiresGrad ? sumToShape(div(dy, b), a.shape) : null,
    b.requiresGrad ? sumToShape(neg(div(mul(dy, a), square(b))), b.shape) : null,
  ]);
}

/** b / a for a number b. */
export function rdiv(b: number, a: Tensor): Tensor {
  // d(b / a) = -b dy / a^2
  return record(unaryKernel('rdiv_s', a, b), 'rdiv', [a], (dy) => [mul(div(dy, square(a)), -b)]);
}

export function pow(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    // d(a^b) = b a^(b-1) dy
    return record(unaryKernel('pow_s', a, b), 'pow', [a], (dy) => [mul(dy, mul(unaryKernel('pow_s', a, b - 1), b))]);
  }
  const y = binaryKernel('pow', a, b);
  // d(a^b) = b a^(b-1) dy, a^b log(a) dy
  return record(y, 'pow', [a, b], (dy) => [
    a.requiresGrad ? sumToShape(mul(dy, mul(pow(a, sub(b, 1)), b)), a.shape) : null,
    b.requiresGrad ? sumToShape(mul(dy, mul(y, log(a))), b.shape) : null,
  ]);
}

// ---- float64 CPU references -------------------------------------------------------------------------

const sig = (x: number) => 1 / (1 + Math.exp(-x));

export const cpuUnary: Record<
  Exclude<UnaryOp, 'add_s' | 'mul_s' | 'pow_s' | 'rsub_s' | 'rdiv_s'>,
  (x: number, alpha: number, beta: number) => number
> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  relu: (x) => Math.max(x, 0),
  leaky_relu: (x, alpha) => (x > 0 ? x : alpha * x),
  sigmoid: sig,
  tanh: Math.tanh,
  clamp: (x, lo, hi) => Math.min(Math.max(x, lo), hi),
  square: (x) => x * x,
  sign: Math.sign,
};

export const cpuBinary: Record<'add' | 'sub' | 'mul' | 'div' | 'pow', (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
};

/** Broadcasting a binary function over flat row-major arrays, in float64. */
export function cpuBroadcast(
  f: (a: number, b: number) => number,
  a: ArrayLike<number>,
  aShape: Shape,
  b: ArrayLike<number>,
  bShape: Shape,
): { data: Float64Array; shape: number[] } {
  const shape = broadcastShapes(aShape, bShape);
  const sa = broadcastStrides(aShape, shape);
  const sb = broadcastStrides(bShape, shape);
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let rest = i;
    let ia = 0;
    let ib = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const k = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
      ia += k * sa[d]!;
      ib += k * sb[d]!;
    }
    data[i] = f(a[ia]!, b[ib]!);
  }
  return { data, shape };
}
