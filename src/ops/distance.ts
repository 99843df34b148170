// Pairwise distances between rows and k nearest neighbours (shaders/distance.wgsl): forward dispatches,
// backward rules and float64 CPU references. Distances are computed directly from the differences (not as
// |x|^2 + |y|^2 - 2 x.y, which cancels badly for near neighbours). Not here: the entropy estimate built on
// them (src/analysis), or batched (B, N, D) inputs.

import { gpu } from '../gpu/index.js';
import { SHADER_CONSTS } from '../gpu/shaders.gen.js';
import { fill, fmtShape, groups1d, record, Tensor } from '../tensor/index.js';

export type Metric = 'l1' | 'l2' | 'sqeuclidean';

// The metric codes (the METRIC override) and the tile of dist_tiles and dist_grad: constants of
// shaders/distance.wgsl.
const WGSL = SHADER_CONSTS.distance;
const METRIC: Record<Metric, number> = { l1: WGSL.L1, l2: WGSL.L2, sqeuclidean: WGSL.SQEUCLIDEAN };
const TILE = WGSL.TILE;
const TILE_K = WGSL.TILE_K;
/** Up to this D a thread per pair (dist_rows) beats staged tiles (3x at D = 15 on SwiftShader; even at 64). */
const ROWS_UP_TO = 32;
/**
 * On a CPU adapter, up to this many pairs (one tile's worth) a thread per pair and span of D (dist_rows)
 * beats the staged tiles, whose barriers cost more than their sums there: the hypernetwork's entropy, 8 x 8
 * pairs of 20,018 values, went from 41 ms to 10 ms on SwiftShader, its gradient (grad_rows) from 44 to 12.
 */
const CPU_ROWS_UP_TO = TILE * TILE;
/** ...in spans of this many columns of D, summed by dist_finish (spans keep both cores of a CPU busy). */
const CPU_ROWS_SPAN = 1024;
/** Split D until about this many workgroups run (a small N x M leaves a GPU idle otherwise)... */
const TARGET_GROUPS = 256;
/** ...but give every split at least this many slices of TILE_K columns. */
const MIN_SLICES = 8;

function checkRows(t: Tensor, what: string): void {
  if (t.dtype !== 'f32' || t.rank !== 2) {
    throw new Error(`pairwiseDistances: ${what} must be an f32 matrix (rows, D), got ${t.dtype} ${fmtShape(t.shape)}`);
  }
}

/** How D is cut between workgroups: `splits` spans of `span` columns. */
function splitPlan(n: number, m: number, dim: number): { splits: number; span: number } {
  const tiles = Math.ceil(n / TILE) * Math.ceil(m / TILE);
  const slices = Math.ceil(dim / TILE_K);
  const want = Math.max(1, Math.min(Math.ceil(TARGET_GROUPS / Math.max(tiles, 1)), Math.floor(slices / MIN_SLICES)));
  const span = Math.max(1, Math.ceil(slices / want)) * TILE_K;
  return { splits: Math.max(1, Math.ceil(dim / span)), span };
}

/**
 * Distances between every row of x (N, D) and every row of y (M, D): (N, M). l1 = sum |x - y|,
 * l2 = sqrt(sum (x - y)^2), sqeuclidean = sum (x - y)^2. x and y may be the same tensor.
 */
export function pairwiseDistances(x: Tensor, y: Tensor, metric: Metric): Tensor {
  checkRows(x, 'x');
  checkRows(y, 'y');
  if (!(metric in METRIC)) throw new Error(`pairwiseDistances: unknown metric '${metric}' (l1, l2, sqeuclidean)`);
  const [n, dim] = x.shape as [number, number];
  const m = y.shape[0]!;
  if (y.shape[1] !== dim) {
    throw new Error(`pairwiseDistances: x ${fmtShape(x.shape)} and y ${fmtShape(y.shape)} differ in D (the last dim)`);
  }
  const out = Tensor.empty([n, m]); // (N, M)
  const rows = dim <= ROWS_UP_TO || (gpu().adapter.fallback && n * m <= CPU_ROWS_UP_TO);
  const { splits, span } = rows
    ? { splits: Math.ceil(dim / CPU_ROWS_SPAN), span: dim <= ROWS_UP_TO ? dim : CPU_ROWS_SPAN }
    : splitPlan(n, m, dim);
  const constants = { METRIC: METRIC[metric] };
  const u = { n, m, dim, span, splits };
  const entry = rows ? 'dist_rows' : 'dist_tiles';
  const groups: [number, number, number] = rows
    ? groups1d(n * m * splits)
    : [Math.ceil(m / TILE), Math.ceil(n / TILE), splits];
  if (splits === 1) {
    gpu().dispatch(
      { shader: 'distance', entry, constants },
      { x: x.ref, y: y.ref, dst: out.ref },
      u,
      groups,
      `distances_${metric}`,
    );
  } else {
    const part = Tensor.empty([splits, n, m]);
    gpu().dispatch(
      { shader: 'distance', entry, constants },
      { x: x.ref, y: y.ref, dst: part.ref },
      u,
      groups,
      `distances_${metric}`,
    );
    gpu().dispatch(
      { shader: 'distance', entry: 'dist_finish', constants },
      { part: part.ref, out: out.ref },
      u,
      groups1d(n * m),
      `distances_${metric}_finish`,
    );
    part.dispose();
  }
  // dx_i = sum_j g_ij phi(x_i - y_j) * c_ij, dy_j = sum_i g_ij phi(y_j - x_i) * c_ij, with phi = sign, c = 1
  // (l1); phi = identity, c = 1/d, 0 at d = 0 (l2); phi = identity, c = 2 (sqeuclidean). For y = x both
  // terms land on x: one pass with the weights of (i, j) and (j, i) together.
  return record(out, `distances_${metric}`, [x, y], (g) => {
    if (x === y) return [distGrad(metric, g, out, x, x, { sa: m, sb: 1, symmetric: true }), null];
    return [
      x.requiresGrad ? distGrad(metric, g, out, x, y, { sa: m, sb: 1, symmetric: false }) : null,
      y.requiresGrad ? distGrad(metric, g, out, y, x, { sa: 1, sb: m, symmetric: false }) : null,
    ];
  });
}

/** grad[a] = sum_b w(g, d)[a, b] phi(P[a] - Q[b]); g and d read at a * sa + b * sb (and b * sa + a * sb). */
function distGrad(
  metric: Metric,
  g: Tensor,
  d: Tensor,
  pm: Tensor,
  qm: Tensor,
  o: { sa: number; sb: number; symmetric: boolean },
): Tensor {
  const [rows, dim] = pm.shape as [number, number];
  const grad = Tensor.empty([rows, dim]);
  const others = qm.shape[0]!;
  const byRows = gpu().adapter.fallback && rows * others <= CPU_ROWS_UP_TO; // as pairwiseDistances
  gpu().dispatch(
    { shader: 'distance', entry: byRows ? 'grad_rows' : 'dist_grad', constants: { METRIC: METRIC[metric] } },
    { gd: g.ref, dist: d.ref, pm: pm.ref, qm: qm.ref, grad: grad.ref },
    { rows, others, dim, g_sa: o.sa, g_sb: o.sb, symmetric: o.symmetric ? 1 : 0 },
    byRows ? groups1d(rows * dim) : [Math.ceil(dim / TILE), Math.ceil(rows / TILE), 1],
    `distances_${metric}_backward`,
  );
  return grad;
}

/**
 * The k smallest entries of each row of `distances` (N, M), ascending, ties by lower column: values (N, k)
 * and their columns `indices` (N, k, i32). excludeSelf skips column i in row i (for a matrix of distances
 * of a set to itself). Gradients flow to the selected entries. NaN entries give an undefined order.
 */
export function knn(
  distances: Tensor,
  k: number,
  opts: { excludeSelf?: boolean } = {},
): { values: Tensor; indices: Tensor } {
  if (distances.dtype !== 'f32' || distances.rank !== 2) {
    throw new Error(`knn: expects an f32 matrix (N, M), got ${distances.dtype} ${fmtShape(distances.shape)}`);
  }
  const [rows, cols] = distances.shape as [number, number];
  const excludeSelf = opts.excludeSelf ?? false;
  const available = excludeSelf ? cols - 1 : cols;
  if (!Number.isInteger(k) || k < 1 || k > available) {
    throw new Error(
      `knn: k = ${k} must be an integer in 1..${available} for ${fmtShape(distances.shape)}` +
        (excludeSelf ? ' with excludeSelf (one column per row is skipped)' : ''),
    );
  }
  const values = Tensor.empty([rows, k]);
  const indices = Tensor.empty([rows, k], 'i32');
  const u = { rows, cols, k, exclude_self: excludeSelf ? 1 : 0 };
  gpu().dispatch(
    { shader: 'distance', entry: 'knn' },
    { dmat: distances.ref, values: values.ref, indices: indices.ref },
    u,
    groups1d(rows),
    'knn',
  );
  // d knn = g scattered back to the selected columns, 0 elsewhere
  record(values, 'knn', [distances], (g) => {
    const dd = fill([rows, cols], 0);
    gpu().dispatch(
      { shader: 'distance', entry: 'knn_backward' },
      { gvals: g.ref, idx_in: indices.ref, dmat_grad: dd.ref },
      u,
      groups1d(rows * k),
      'knn_backward',
    );
    return [dd];
  });
  return { values, indices };
}

// ---- float64 CPU references -------------------------------------------------------------------------

/** Distances between the rows of x (n, dim) and y (m, dim), flat row-major (n, m). */
export function cpuPairwiseDistances(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  n: number,
  m: number,
  dim: number,
  metric: Metric,
): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) {
        const u = x[i * dim + c]! - y[j * dim + c]!;
        s += metric === 'l1' ? Math.abs(u) : u * u;
      }
      out[i * m + j] = metric === 'l2' ? Math.sqrt(s) : s;
    }
  }
  return out;
}

/** knn over a flat (rows, cols) matrix: ascending, ties by lower column. */
export function cpuKnn(
  d: ArrayLike<number>,
  rows: number,
  cols: number,
  k: number,
  excludeSelf = false,
): { values: Float64Array; indices: Int32Array } {
  const values = new Float64Array(rows * k);
  const indices = new Int32Array(rows * k);
  for (let i = 0; i < rows; i++) {
    const order = [...Array(cols).keys()]
      .filter((j) => !(excludeSelf && j === i))
      .sort((a, b) => d[i * cols + a]! - d[i * cols + b]! || a - b);
    for (let t = 0; t < k; t++) {
      indices[i * k + t] = order[t]!;
      values[i * k + t] = d[i * cols + order[t]!]!;
    }
  }
  return { values, indices };
}
