// Pairwise distances between the rows of x (N, D) and y (M, D), their gradients, and k nearest neighbours.
// The metric is a pipeline constant (METRIC), so each metric is its own compiled pipeline and the switches
// fold away; shapes travel in the uniform. Not here: autodiff and the split choice (src/ops/distance.ts).
//
//   dist_tiles     an 8x8 workgroup computes a 32x32 tile of distances (workgroup_id.x: the tile's column
//                  block of y, .y: its row block of x), each thread a 4x4 block in registers, walking D in
//                  steps of 16 staged in workgroup memory, as shaders/matmul.wgsl does for a product.
//                  workgroup_id.z splits D into `splits` spans of `span` columns: with one split the tile
//                  writes the distances (the square root for L2), else its partial sums to dst[z, i, j]
//   dist_finish    sums the partial sums over the splits (and takes the square root for L2). Splitting D
//                  keeps a GPU busy when N and M are small and D is large (32 x 32 pairs of 20,018 values)
//   dist_rows      a thread per pair (and span of D) looping over D: small D, or few pairs on a CPU adapter
//                  (no tiles, no barriers)
//   dist_grad      grad[a, k] = sum_b w(a, b) phi(P[a, k] - Q[b, k]), tiled like dist_tiles over (a, k) and
//                  walking b. For dx: P = x, Q = y, a = i, b = j; for dy: P = y, Q = x, a = j, b = i
//                  (phi is odd, so d/dy_j = sum_i w phi(y_j - x_i)); when x and y are one tensor, a single
//                  pass with w(a, b) + w(b, a) gives its whole gradient. The weights come from the upstream
//                  gradient g and the distances d, read through strides so that g^T is never built:
//                    l1:          w = g,                        phi = sign
//                    l2:          w = g / d (0 where d = 0),    phi = identity
//                    sqeuclidean: w = 2 g,                      phi = identity
//   grad_rows      a thread per gradient entry (a, k) walking b: dist_grad's sums in the same order, for few
//                  rows on a CPU adapter
//   knn            a thread per row: k passes, each taking the smallest (value, column) pair after the one
//                  the previous pass took, so the output is ascending with ties in column order
//   knn_backward   dmat_grad[i, indices[i, t]] = g[i, t] into a zeroed (N, M) matrix (columns of a row are
//                  distinct, so no two threads write one place)
//
// (Locals and parameters are never named like a global binding: wgsl_reflect would count them as a use.)
// From shaders/prelude.wgsl: flat_index.

override METRIC: u32 = 0u;
const L1 = 0u;
const L2 = 1u;
const SQEUCLIDEAN = 2u;

const TILE = 32u;   // rows and columns of a tile (src/ops/distance.ts sizes the dispatch by it)
const TILE_K = 16u; // depth of each staged slice
const THREADS = 64u;

struct Dist {
  n: u32,      // rows of x
  m: u32,      // rows of y
  dim: u32,    // D
  span: u32,   // columns of D per split, a multiple of TILE_K
  splits: u32, // 1: dist_tiles writes the distances
}

@group(0) @binding(0) var<uniform> p: Dist;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>; // (splits, N, M)
@group(0) @binding(4) var<storage, read> part: array<f32>;      // dist_finish: (splits, N, M)
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // dist_finish: (N, M)

var<workgroup> tile_x: array<f32, TILE_K * TILE>; // tile_x[kk * TILE + ii] = x[row0 + ii, k0 + kk]
var<workgroup> tile_y: array<f32, TILE_K * TILE>; // tile_y[kk * TILE + jj] = y[col0 + jj, k0 + kk]

fn term(u: vec4f) -> vec4f {
  switch METRIC {
    case L1: { return abs(u); }
    default: { return u * u; }
  }
}

fn finish(acc: f32) -> f32 {
  if (METRIC == L2) { return sqrt(acc); }
  return acc;
}

@compute @workgroup_size(8, 8)
fn dist_tiles(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  let k_begin = wg.z * p.span;
  let k_end = min(k_begin + p.span, p.dim);
  // acc[i][j]: pair (row0 + lid.y + 8 i, col0 + lid.x + 8 j)
  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));

  for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
    // rows are contiguous in D: kk fastest, so neighbouring threads read neighbouring words
    for (var l = li; l < TILE_K * TILE; l += THREADS) {
      let kk = l % TILE_K;
      let rr = l / TILE_K;
      let kg = k0 + kk;
      var u = 0.0;
      var v = 0.0;
      if (kg < k_end) {
        if (row0 + rr < p.n) { u = x[(row0 + rr) * p.dim + kg]; }
        if (col0 + rr < p.m) { v = y[(col0 + rr) * p.dim + kg]; }
      }
      tile_x[kk * TILE + rr] = u;
      tile_y[kk * TILE + rr] = v;
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TILE_K; kk++) {
      let tx = kk * TILE + lid.y;
      let ty = kk * TILE + lid.x;
      let yv = vec4f(tile_y[ty], tile_y[ty + 8u], tile_y[ty + 16u], tile_y[ty + 24u]);
      acc[0] += term(vec4f(tile_x[tx]) - yv);
      acc[1] += term(vec4f(tile_x[tx + 8u]) - yv);
      acc[2] += term(vec4f(tile_x[tx + 16u]) - yv);
      acc[3] += term(vec4f(tile_x[tx + 24u]) - yv);
    }
    workgroupBarrier();
  }

  let base = wg.z * p.n * p.m;
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y + 8u * i;
    if (row >= p.n) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + 8u * j;
      if (col < p.m) {
        if (p.splits == 1u) {
          dst[row * p.m + col] = finish(acc[i][j]);
        } else {
          dst[base + row * p.m + col] = acc[i][j];
        }
      }
    }
  }
}

// A thread per pair and span of D, for small D (a t-SNE set: 1,500 points in 15 dims: one span), where
// staging tiles costs more than it saves (bench/distance.ts), and on a CPU adapter for few pairs of long
// rows (the hypernetwork's entropy: 8 x 8 pairs of 20,018 values), where a 32 x 32 tile would be mostly
// empty and its barriers cost more than the sums. Span z of pair (i, j) is at dst[z, i, j], as dist_tiles.
@compute @workgroup_size(64)
fn dist_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let at = flat_index(wg, nwg, li);
  let pairs = p.n * p.m;
  if (at >= pairs * p.splits) { return; }
  let pair = at % pairs;
  let xi = (pair / p.m) * p.dim;
  let yj = (pair % p.m) * p.dim;
  let c_begin = (at / pairs) * p.span;
  let c_end = min(c_begin + p.span, p.dim);
  var s = 0.0;
  for (var c = c_begin; c < c_end; c++) { s += term(vec4f(x[xi + c] - y[yj + c])).x; }
  if (p.splits == 1u) {
    dst[at] = finish(s);
  } else {
    dst[at] = s;
  }
}

@compute @workgroup_size(64)
fn dist_finish(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let at = flat_index(wg, nwg, li);
  let nm = p.n * p.m;
  if (at >= nm) { return; }
  var s = 0.0;
  for (var z = 0u; z < p.splits; z++) { s += part[z * nm + at]; }
  out[at] = finish(s);
}

// ---- gradient --------------------------------------------------------------------------------------

struct Grad {
  rows: u32,      // A: rows of P and of the gradient
  others: u32,    // B: rows of Q
  dim: u32,
  g_sa: u32,      // strides of g and d (both (N, M)) along a and along b
  g_sb: u32,
  symmetric: u32, // 1: x and y are one tensor; w(a, b) + w(b, a) gives its whole gradient in one pass
}

@group(0) @binding(6) var<uniform> gp: Grad;
@group(0) @binding(7) var<storage, read> gd: array<f32>;    // upstream gradient of the distances
@group(0) @binding(8) var<storage, read> dist: array<f32>;  // the distances
@group(0) @binding(9) var<storage, read> pm: array<f32>;    // P (A, D)
@group(0) @binding(10) var<storage, read> qm: array<f32>;   // Q (B, D)
@group(0) @binding(11) var<storage, read_write> grad: array<f32>; // (A, D)

var<workgroup> tile_w: array<f32, TILE_K * TILE>; // tile_w[bb * TILE + aa] = w(a0 + aa, b0 + bb)
var<workgroup> tile_q: array<f32, TILE_K * TILE>; // tile_q[bb * TILE + kk] = Q[b0 + bb, c0 + kk]

fn weight(at: u32) -> f32 {
  let gv = gd[at];
  switch METRIC {
    case L1: { return gv; }
    case L2: {
      let dv = dist[at];
      return select(0.0, gv / dv, dv > 0.0);
    }
    default: { return 2.0 * gv; }
  }
}

fn phi(u: vec4f) -> vec4f {
  if (METRIC == L1) { return sign(u); }
  return u;
}

@compute @workgroup_size(8, 8)
fn dist_grad(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let a0 = wg.y * TILE; // rows of the gradient
  let c0 = wg.x * TILE; // columns (positions in D)
  // pv[i][j] = P[a0 + lid.y + 8 i, c0 + lid.x + 8 j]
  var pv = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var i = 0u; i < 4u; i++) {
    let a = a0 + lid.y + 8u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + lid.x + 8u * j;
      if (a < gp.rows && c < gp.dim) { pv[i][j] = pm[a * gp.dim + c]; }
    }
  }
  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));

  for (var b0 = 0u; b0 < gp.others; b0 += TILE_K) {
    for (var l = li; l < TILE_K * TILE; l += THREADS) {
      // g's contiguous direction fastest: b for dx (g_sb = 1), a for dy (g_sa = 1)
      var bb = l % TILE_K;
      var aa = l / TILE_K;
      if (gp.g_sb != 1u) {
        aa = l % TILE;
        bb = l / TILE;
      }
      var w = 0.0;
      if (a0 + aa < gp.rows && b0 + bb < gp.others) {
        w = weight((a0 + aa) * gp.g_sa + (b0 + bb) * gp.g_sb);
        if (gp.symmetric == 1u) { w += weight((b0 + bb) * gp.g_sa + (a0 + aa) * gp.g_sb); }
      }
      tile_w[bb * TILE + aa] = w;
      // Q's rows are contiguous in D
      let kk = l % TILE;
      let qb = l / TILE;
      var q = 0.0;
      if (b0 + qb < gp.others && c0 + kk < gp.dim) { q = qm[(b0 + qb) * gp.dim + c0 + kk]; }
      tile_q[qb * TILE + kk] = q;
    }
    workgroupBarrier();

    for (var bb = 0u; bb < TILE_K; bb++) {
      let tq = bb * TILE + lid.x;
      let tw = bb * TILE + lid.y;
      let qv = vec4f(tile_q[tq], tile_q[tq + 8u], tile_q[tq + 16u], tile_q[tq + 24u]);
      acc[0] += tile_w[tw] * phi(pv[0] - qv);
      acc[1] += tile_w[tw + 8u] * phi(pv[1] - qv);
      acc[2] += tile_w[tw + 16u] * phi(pv[2] - qv);
      acc[3] += tile_w[tw + 24u] * phi(pv[3] - qv);
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let a = a0 + lid.y + 8u * i;
    if (a >= gp.rows) { break; }
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + lid.x + 8u * j;
      if (c < gp.dim) { grad[a * gp.dim + c] = acc[i][j]; }
    }
  }
}

// A thread per gradient entry (a, c), walking b in order: dist_grad's sums, term for term, without its
// tiles (on a CPU adapter, few rows of many columns leave a 32 x 32 tile mostly empty, and its barriers cost
// more than the sums).
@compute @workgroup_size(64)
fn grad_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let at = flat_index(wg, nwg, li);
  if (at >= gp.rows * gp.dim) { return; }
  let a = at / gp.dim;
  let c = at % gp.dim;
  let pa = vec4f(pm[at]);
  var s = 0.0;
  for (var b = 0u; b < gp.others; b++) {
    var w = weight(a * gp.g_sa + b * gp.g_sb);
    if (gp.symmetric == 1u) { w += weight(b * gp.g_sa + a * gp.g_sb); }
    s += (w * phi(pa - vec4f(qm[b * gp.dim + c]))).x;
  }
  grad[at] = s;
}

// ---- k nearest neighbours --------------------------------------------------------------------------

struct Knn {
  rows: u32,
  cols: u32,
  k: u32,
  exclude_self: u32, // 1: skip column i in row i
}

@group(0) @binding(12) var<uniform> kp: Knn;
@group(0) @binding(13) var<storage, read> dmat: array<f32>;           // (N, M)
@group(0) @binding(14) var<storage, read_write> values: array<f32>;   // (N, k)
@group(0) @binding(15) var<storage, read_write> indices: array<i32>;  // (N, k)
@group(0) @binding(16) var<storage, read> gvals: array<f32>;          // knn_backward: (N, k)
@group(0) @binding(17) var<storage, read> idx_in: array<i32>;         // knn_backward: (N, k)
@group(0) @binding(18) var<storage, read_write> dmat_grad: array<f32>; // knn_backward: (N, M), zeroed

@compute @workgroup_size(64)
fn knn(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
       @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= kp.rows) { return; }
  let row = i * kp.cols;
  var prev_v = 0.0;
  var prev_j = -1;
  for (var t = 0u; t < kp.k; t++) {
    var best_v = 0.0;
    var best_j = -1;
    for (var j = 0; j < i32(kp.cols); j++) {
      if (kp.exclude_self == 1u && u32(j) == i) { continue; }
      let v = dmat[row + u32(j)];
      // after the previous pick in (value, column) order; columns ascend, so '<' keeps the first of ties
      let after = prev_j < 0 || v > prev_v || (v == prev_v && j > prev_j);
      if (after && (best_j < 0 || v < best_v)) {
        best_v = v;
        best_j = j;
      }
    }
    values[i * kp.k + t] = best_v;
    indices[i * kp.k + t] = best_j;
    prev_v = best_v;
    prev_j = best_j;
  }
}

@compute @workgroup_size(64)
fn knn_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let at = flat_index(wg, nwg, li);
  if (at >= kp.rows * kp.k) { return; }
  let i = at / kp.k;
  dmat_grad[i * kp.cols + u32(idx_in[at])] = gvals[at];
}
