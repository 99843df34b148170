// A linear layer whose backward pass is one dispatch (shaders/linear.wgsl): `fusedLinear` is matmul.ts's
// linear() forward (the bias and the activation fused into the product) with a backward rule that makes
// dx, dW and db together, the activation's derivative folded in, where linear()'s rule takes four
// dispatches (the activation's backward, two matmuls, a column sum). nn's Linear and GroupedLinear use it,
// so models get it without a change. `linearBackward` is the kernel as an op; `cpuLinearBackward` its
// float64 reference.
//
// fusedLinear fuses W (out, in) with x (..., in); a population of layers (W (G, out, in)) goes to linear()
// unchanged (see fusedLinear), and linearBackward refuses one. (The kernel indexes entries through
// x_batch and w_batch, 0 here: a population path would start there, measured first.) Not here: the forward
// kernel (matmul.ts, which this file calls and does not change).

import { gpu } from '../gpu/index.js';
import { SHADER_CONSTS } from '../gpu/shaders.gen.js';
import { fmtShape, noGrad, record, Tensor } from '../tensor/index.js';
import { ACTIVATIONS, type Activation, linear } from './matmul.js';

const WGSL = SHADER_CONSTS.linear;
const ACT: Record<Activation, number> = { none: WGSL.ACT_NONE, relu: WGSL.ACT_RELU, sigmoid: WGSL.ACT_SIGMOID };
for (const a of Object.keys(ACT) as Activation[]) {
  if (ACT[a] !== ACTIVATIONS[a])
    throw new Error(`shaders/linear.wgsl: ACT_${a.toUpperCase()} differs from matmul.wgsl's`);
}

/** How x, W and dy line up: (rows, in) @ (in, out). */
interface Layout {
  rows: number; // rows of x and dy
  nIn: number;
  nOut: number;
}

/** The layout of act(x W^T + b), or null when the fused rule does not take these shapes. */
function layout(x: Tensor, w: Tensor): Layout | null {
  if (x.dtype !== 'f32' || w.dtype !== 'f32' || x.rank < 1 || w.rank !== 2) return null;
  const nIn = x.shape.at(-1)!;
  if (w.shape[1] !== nIn) return null;
  return { rows: x.size / nIn, nIn, nOut: w.shape[0]! };
}

/**
 * act(x @ w^T + bias), as matmul.ts's linear() (the same forward dispatch, the same values), with the
 * backward pass in one dispatch. x: (..., in) with w (out, in) and bias (out) or null; a population (x
 * (G, B, in) or (B, in) with w (G, out, in)) takes linear() as it is.
 */
export function fusedLinear(x: Tensor, w: Tensor, bias: Tensor | null, act: Activation = 'none'): Tensor {
  const l = layout(x, w);
  // A population of layers (w (G, out, in)) keeps linear()'s rule: measured on the Iris zoo's 500 networks of
  // 4-5-3, the fused kernel's mostly idle workgroups (one per network) took 12x longer than matmul_small.
  if (!l || l.rows === 0 || l.nIn === 0 || l.nOut === 0) {
    return linear(x, w, bias, act);
  }
  const out = noGrad(() => linear(x, w, bias, act)); // checks every shape, the bias's included
  const parents = bias ? [x, w, bias] : [x, w];
  return record(out, `linear_${act}`, parents, (dy) => {
    const g = linearBackward(x, w, out, dy, act, {
      dx: x.requiresGrad,
      dw: w.requiresGrad,
      db: bias?.requiresGrad ?? false,
    });
    return [g.dx, g.dw, bias ? g.db : null];
  });
}

export interface LinearGrads {
  dx: Tensor | null; // x's shape
  dw: Tensor | null; // w's shape
  db: Tensor | null; // (out)
}

/**
 * The gradients of y = act(x W^T + b) given y and dy, in one dispatch: dz = dy act'(y), dx = dz W,
 * dW = dz^T x, db = the sum of dz over rows. `want` says which to make (the others come back null).
 * x (..., in), w (out, in); y and dy (..., out).
 */
export function linearBackward(
  x: Tensor,
  w: Tensor,
  y: Tensor,
  dy: Tensor,
  act: Activation,
  want: { dx: boolean; dw: boolean; db: boolean },
): LinearGrads {
  const what = `linearBackward of x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)}`;
  const l = layout(x, w);
  if (!l) {
    throw new Error(`${what}: expected f32 x (..., in) with w (out, in) (a population of layers: use linear())`);
  }
  const outShape = fmtShape([...x.shape.slice(0, -1), l.nOut]);
  for (const [name, t] of Object.entries({ y, dy })) {
    if (t.dtype !== 'f32' || t.size !== l.rows * l.nOut)
      throw new Error(`${what}: ${name} ${fmtShape(t.shape)} ${t.dtype}; expected f32 ${outShape}`);
  }
  const dx = want.dx ? Tensor.empty(x.shape) : null;
  const dw = want.dw || want.db ? Tensor.empty(w.shape) : null; // db is summed by the dw threads
  const db = want.db ? Tensor.empty([l.nOut]) : null;
  const { tx, colTiles, rowsPerTile } = tiling(l.nIn);
  const dwGroups = dw ? Math.ceil(l.nOut / rowsPerTile) * colTiles : 0;
  const dxGroups = dx ? Math.ceil(l.rows / rowsPerTile) * colTiles : 0;
  // an output not made gets a placeholder of its own (never written; writable bindings may not alias)
  const placeholders: Tensor[] = [];
  const orUnused = (t: Tensor | null) => t ?? placeholders[placeholders.push(Tensor.empty([1])) - 1]!;
  gpu().dispatch(
    { shader: 'linear', entry: 'linear_backward', constants: { ACT: ACT[act] } },
    {
      x: x.ref,
      w: w.ref,
      y: (act === 'none' ? dy : y).ref, // not read without an activation
      dy: dy.ref,
      dx: orUnused(dx).ref,
      dw: orUnused(dw).ref,
      db: orUnused(db).ref,
    },
    {
      rows: l.rows,
      n_in: l.nIn,
      n_out: l.nOut,
      x_batch: 0,
      w_batch: 0,
      tx,
      col_tiles: colTiles,
      dw_groups: dwGroups,
      has_db: db ? 1 : 0,
    },
    [dwGroups + dxGroups, 1, 1],
    'linear_backward',
  );
  for (const t of placeholders) t.dispose();
  if (dw && !want.dw) dw.dispose();
  return { dx, dw: want.dw ? dw : null, db };
}

/**
 * The kernel's tiles for n_in columns: tx blocks of BLOCK columns across a tile, the fewest (1, 2, 4 or 8)
 * that span n_in, and 64 / tx blocks down it.
 */
function tiling(nIn: number): { tx: number; colTiles: number; rowsPerTile: number } {
  let tx = 1;
  while (tx < 8 && tx * WGSL.BLOCK < nIn) tx *= 2;
  return { tx, colTiles: Math.ceil(nIn / (tx * WGSL.BLOCK)), rowsPerTile: (WGSL.THREADS / tx) * WGSL.BLOCK };
}

// ---- float64 CPU reference --------------------------------------------------------------------------

/**
 * The gradients of y = act(x W^T + b) in float64, from y and dy, for G entries of x (rows, in) (or one x
 * for all when xShared), W (out, in), y and dy (rows, out). dx is null when x is shared.
 */
export function cpuLinearBackward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  y: ArrayLike<number>,
  dy: ArrayLike<number>,
  s: { batch: number; rows: number; nIn: number; nOut: number; xShared?: boolean; act: Activation },
): { dx: Float64Array | null; dw: Float64Array; db: Float64Array } {
  const { batch, rows, nIn, nOut } = s;
  const dz = Float64Array.from(dy, (g, i) =>
    s.act === 'relu' ? (y[i]! > 0 ? g : 0) : s.act === 'sigmoid' ? g * y[i]! * (1 - y[i]!) : g,
  );
  const dx = s.xShared ? null : new Float64Array(batch * rows * nIn);
  const dw = new Float64Array(batch * nOut * nIn);
  const db = new Float64Array(batch * nOut);
  for (let e = 0; e < batch; e++) {
    const xo = s.xShared ? 0 : e * rows * nIn;
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < nOut; o++) {
        const d = dz[(e * rows + r) * nOut + o]!;
        db[e * nOut + o]! += d;
        for (let i = 0; i < nIn; i++) {
          dw[(e * nOut + o) * nIn + i]! += d * x[xo + r * nIn + i]!;
          if (dx) dx[(e * rows + r) * nIn + i]! += d * w[(e * nOut + o) * nIn + i]!;
        }
      }
    }
  }
  return { dx, dw, db };
}
