// Exact t-SNE on N points, as scikit-learn 1.2's method='exact' computes it (src/ops/tsne.ts; the loop that
// drives these kernels is src/analysis/tsne.ts). A thread per point (row) unless said otherwise; every sum
// over j skips j = i.
//
//   conditional  per row i, the Gaussian conditional p(j | i) = exp(-beta_i s_ij) / sum_j exp(-beta_i s_ij)
//                over the squared distances s, with beta_i found by binary search so that the row's entropy
//                H = log sum + beta_i sum_j s_ij p(j | i) is log(perplexity) to within tol: beta starts at 1,
//                doubles or halves until the target is bracketed, then bisects; at most `steps` steps. The
//                row's smallest s is subtracted in the exponent (it cancels in p and in H) so that exp never
//                underflows for a large beta. Writes the row (0 at j = i), beta_i, and the row's sum
//   joint        P_ij = max((p(j | i) + p(i | j)) / sum, eps), P_ii = 0, sum = that of both terms over every
//                pair (twice the sum of the row sums)
//   kernel_rows  z_i = sum_j w_ij, the Student-t kernel of the embedding y: w_ij = (1 + |y_i - y_j|^2 /
//                dof)^(-(dof + 1) / 2), i.e. 1 / (1 + |y_i - y_j|^2) at dof = 1
//   gradient     with Z = sum_i z_i (every thread sums z itself: N additions, the order fixed) and
//                Q_ij = max(w_ij / Z, eps): dC/dy_i = c sum_j (a P_ij - Q_ij) w_ij (y_i - y_j),
//                c = 2 (dof + 1) / dof, a the early exaggeration (scikit-learn's _kl_divergence)
//   kl_rows      kl_i = sum_j a P_ij log(max(a P_ij, eps) / Q_ij): the KL divergence is sum_i kl_i
//   update       thread per coordinate: scikit-learn's gradient descent with momentum and gains. The gain
//                grows by 0.2 where the step keeps its direction (update * grad < 0), else shrinks by 0.8,
//                and stays >= min_gain; grad <- grad * gain (written back: its norm is the stopping test),
//                update <- momentum * update - lr * grad, y <- y + update
//
// The embedding has 1 to 4 dimensions (a point is read into a vec4f, zeros past `dims`).
// From shaders/prelude.wgsl: flat_index.

struct Tsne {
  n: u32,
  dims: u32,
  steps: u32,          // conditional: binary-search steps at most
  log_perplexity: f32, // conditional: the target entropy (natural log)
  tol: f32,            // conditional: |H - log_perplexity| that ends the search
  dof: f32,            // the Student-t kernel's degrees of freedom
  exaggeration: f32,   // gradient, kl_rows: a, the factor on P
  eps: f32,            // the floor of P and Q (scikit-learn's: float64's machine epsilon)
  momentum: f32,       // update
  lr: f32,
  min_gain: f32,
}

@group(0) @binding(0) var<uniform> p: Tsne;
@group(0) @binding(1) var<storage, read> sqdist: array<f32>;          // (N, N) squared distances
@group(0) @binding(2) var<storage, read_write> cond_out: array<f32>;  // (N, N) p(j | i)
@group(0) @binding(3) var<storage, read_write> beta_out: array<f32>;  // (N)
@group(0) @binding(4) var<storage, read_write> rowsum_out: array<f32>; // (N)
@group(0) @binding(5) var<storage, read> cond_in: array<f32>;         // (N, N)
@group(0) @binding(6) var<storage, read> rowsum_in: array<f32>;       // (N)
@group(0) @binding(7) var<storage, read_write> joint_out: array<f32>; // (N, N) P
@group(0) @binding(8) var<storage, read> pj: array<f32>;              // (N, N) P
@group(0) @binding(9) var<storage, read> emb: array<f32>;             // (N, dims) y
@group(0) @binding(10) var<storage, read_write> z_out: array<f32>;    // (N)
@group(0) @binding(11) var<storage, read> z_in: array<f32>;           // (N)
@group(0) @binding(12) var<storage, read_write> grad: array<f32>;     // (N, dims)
@group(0) @binding(13) var<storage, read_write> kl_out: array<f32>;   // (N)
@group(0) @binding(14) var<storage, read_write> upd: array<f32>;      // (N, dims) the last update
@group(0) @binding(15) var<storage, read_write> gains: array<f32>;    // (N, dims)
@group(0) @binding(16) var<storage, read_write> emb_io: array<f32>;   // (N, dims) y, moved by update

// ---- P from distances ----------------------------------------------------------------------------------

// (sum_j e_j, sum_j (s_ij - smin) e_j) with e_j = exp(-b (s_ij - smin)), over row i.
fn row_sums(i: u32, b: f32, smin: f32) -> vec2f {
  var acc = vec2f(0.0);
  for (var j = 0u; j < p.n; j++) {
    if (j == i) { continue; }
    let s = sqdist[i * p.n + j] - smin;
    let e = exp(-b * s);
    acc += vec2f(e, s * e);
  }
  return acc;
}

@compute @workgroup_size(64)
fn conditional(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  var smin = 3.4e38;
  for (var j = 0u; j < p.n; j++) {
    if (j != i) { smin = min(smin, sqdist[i * p.n + j]); }
  }
  var b = 1.0;
  var lo = 0.0; // the bracket [lo, hi]; has_lo, has_hi: found yet (scikit-learn's -inf and inf)
  var hi = 0.0;
  var has_lo = false;
  var has_hi = false;
  var used = b; // the beta the row's p is made with: the last one evaluated
  for (var step = 0u; step < p.steps; step++) {
    used = b;
    let sums = row_sums(i, b, smin);
    let h = log(sums.x) + b * sums.y / sums.x;
    let d = h - p.log_perplexity;
    if (abs(d) <= p.tol) { break; }
    if (d > 0.0) { // too flat: a larger beta
      lo = b;
      has_lo = true;
      b = select(b * 2.0, (b + hi) / 2.0, has_hi);
    } else {
      hi = b;
      has_hi = true;
      b = select(b / 2.0, (b + lo) / 2.0, has_lo);
    }
  }
  let sums = row_sums(i, used, smin);
  var total = 0.0;
  for (var j = 0u; j < p.n; j++) {
    var v = 0.0;
    if (j != i) { v = exp(-used * (sqdist[i * p.n + j] - smin)) / sums.x; }
    cond_out[i * p.n + j] = v;
    total += v;
  }
  beta_out[i] = used;
  rowsum_out[i] = total;
}

@compute @workgroup_size(64)
fn joint(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  var total = 0.0;
  for (var k = 0u; k < p.n; k++) { total += rowsum_in[k]; }
  let sum = max(2.0 * total, p.eps);
  for (var j = 0u; j < p.n; j++) {
    var v = 0.0;
    if (j != i) { v = max((cond_in[i * p.n + j] + cond_in[j * p.n + i]) / sum, p.eps); }
    joint_out[i * p.n + j] = v;
  }
}

// ---- the objective and its gradient --------------------------------------------------------------------

// Point k of the embedding (zeros past dims).
fn point(k: u32) -> vec4f {
  var y = vec4f(0.0);
  for (var d = 0u; d < p.dims; d++) { y[d] = emb[k * p.dims + d]; }
  return y;
}

// The Student-t kernel of a squared distance.
fn kernel(d2: f32) -> f32 {
  if (p.dof == 1.0) { return 1.0 / (1.0 + d2); }
  return pow(1.0 + d2 / p.dof, -(p.dof + 1.0) / 2.0);
}

@compute @workgroup_size(64)
fn kernel_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let yi = point(i);
  var acc = 0.0;
  for (var j = 0u; j < p.n; j++) {
    if (j == i) { continue; }
    let d = yi - point(j);
    acc += kernel(dot(d, d));
  }
  z_out[i] = acc;
}

// Z = sum_i z_i, in index order.
fn normaliser() -> f32 {
  var z = 0.0;
  for (var k = 0u; k < p.n; k++) { z += z_in[k]; }
  return z;
}

@compute @workgroup_size(64)
fn gradient(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let z = normaliser();
  let yi = point(i);
  var acc = vec4f(0.0);
  for (var j = 0u; j < p.n; j++) {
    if (j == i) { continue; }
    let d = yi - point(j);
    let w = kernel(dot(d, d));
    let q = max(w / z, p.eps);
    acc += (p.exaggeration * pj[i * p.n + j] - q) * w * d;
  }
  let c = 2.0 * (p.dof + 1.0) / p.dof;
  for (var d = 0u; d < p.dims; d++) { grad[i * p.dims + d] = c * acc[d]; }
}

@compute @workgroup_size(64)
fn kl_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let z = normaliser();
  let yi = point(i);
  var acc = 0.0;
  for (var j = 0u; j < p.n; j++) {
    if (j == i) { continue; }
    let d = yi - point(j);
    let q = max(kernel(dot(d, d)) / z, p.eps);
    let a = p.exaggeration * pj[i * p.n + j];
    acc += a * log(max(a, p.eps) / q);
  }
  kl_out[i] = acc;
}

// ---- gradient descent ----------------------------------------------------------------------------------

@compute @workgroup_size(64)
fn update(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let e = flat_index(wg, nwg, li);
  if (e >= p.n * p.dims) { return; }
  var g = grad[e];
  var u = upd[e];
  var gain = gains[e];
  if (u * g < 0.0) {
    gain += 0.2;
  } else {
    gain *= 0.8;
  }
  gain = max(gain, p.min_gain);
  g *= gain;
  u = p.momentum * u - p.lr * g;
  gains[e] = gain;
  grad[e] = g;
  upd[e] = u;
  emb_io[e] += u;
}
