// Checking an op against its float64 CPU reference: the forward values, and the backward pass against
// central finite differences of the reference.
//
// The scalar checked is L = sum(w * f(x1, x2, ...)) with fixed random weights w, so every output position
// matters. The GPU gradient comes from backward(f(x), w); the numeric one from
// (L(x + h e_i) - L(x - h e_i)) / 2h in float64 for every input element i.

import { backward, requireGrad, scope, tensor, type Tensor } from '../src/tensor/index.js';
import { cpuRng, expectClose } from './helpers.js';

export interface CheckInput {
  data: ArrayLike<number>;
  shape: number[];
  dtype?: 'f32' | 'i32';
  grad?: boolean; // default: true for f32 inputs
}

export interface CheckOptions {
  name: string;
  inputs: CheckInput[];
  gpu: (...xs: Tensor[]) => Tensor;
  /** The float64 reference: inputs as Float64Arrays (i32 inputs too), output flat. */
  cpu: (...xs: Float64Array[]) => ArrayLike<number>;
  rtol?: number; // forward tolerance (default 1e-5 relative)
  atol?: number; // (default 1e-5)
  gradRtol?: number; // backward tolerance (default 1e-3: f32 GPU against float64 differences)
  gradAtol?: number; // (default 1e-4)
  h?: number; // finite-difference step (default 1e-4)
  seed?: number;
}

export async function checkOp(o: CheckOptions): Promise<void> {
  const rng = cpuRng(o.seed ?? 1);
  // The reference sees exactly the f32 values the GPU sees.
  const inputs64 = o.inputs.map((x) => Float64Array.from(x.dtype === 'i32' ? x.data : Float32Array.from(x.data)));
  const ref = Float64Array.from(o.cpu(...inputs64));
  const w = rng.uniform(ref.length, -1, 1);

  const got = await scope(() => {
    const xs = o.inputs.map((x, i) => {
      const dtype = x.dtype ?? 'f32';
      const t = tensor(Array.from(inputs64[i]!), x.shape, dtype);
      if (dtype === 'f32' && x.grad !== false) requireGrad(t);
      return t;
    });
    const y = o.gpu(...xs);
    if (y.size !== ref.length) throw new Error(`${o.name}: GPU gives ${y.size} values, reference ${ref.length}`);
    const needGrad = xs.some((x) => x.requiresGrad);
    if (needGrad) backward(y, tensor(w, y.shape));
    return { y: y.keep(), grads: xs.map((x) => x.grad?.keep() ?? null), xs: xs.map((x) => x.keep()) };
  });
  try {
    expectClose(await got.y.data(), ref, o.rtol ?? 1e-5, o.atol ?? 1e-5, `${o.name} forward`);
    const h = o.h ?? 1e-4;
    const loss = (xs: Float64Array[]) => {
      const y = o.cpu(...xs);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += w[i]! * y[i]!;
      return s;
    };
    for (let k = 0; k < o.inputs.length; k++) {
      const spec = o.inputs[k]!;
      if ((spec.dtype ?? 'f32') !== 'f32' || spec.grad === false) continue;
      const g = got.grads[k];
      if (!g) throw new Error(`${o.name}: input ${k} got no gradient`);
      const num = new Float64Array(spec.data.length);
      for (let i = 0; i < num.length; i++) {
        const xs = inputs64.map((x) => Float64Array.from(x));
        xs[k]![i] += h;
        const up = loss(xs);
        xs[k]![i] -= 2 * h;
        num[i] = (up - loss(xs)) / (2 * h);
      }
      expectClose(await g.data(), num, o.gradRtol ?? 1e-3, o.gradAtol ?? 1e-4, `${o.name} d/dinput${k}`);
    }
  } finally {
    got.y.dispose();
    for (const g of got.grads) g?.dispose();
    for (const x of got.xs) x.dispose();
  }
}

/** Random shapes and values for op tests, with odd sizes. */
export function randomData(seed: number, shape: number[], lo = -1, hi = 1): CheckInput {
  const n = shape.reduce((p, d) => p * d, 1);
  return { data: cpuRng(seed).uniform(n, lo, hi), shape };
}
