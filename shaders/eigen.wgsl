// Eigenpairs of small symmetric matrices, B at a time, and the small-matrix steps of subspace iteration
// around them (src/ops/eigen.ts):
//
//   jacobi         one workgroup per matrix a (m x m, m <= MAX_M): work = (a + a^T) / 2, v = I, then cyclic
//                  Jacobi sweeps. A sweep is m' - 1 rounds (m' = m rounded up to even); a round rotates the
//                  m'/2 disjoint pairs (p, q) of a round-robin tournament at once, work <- J^T work J and
//                  v <- v J, J the plane rotations that zero each work[p, q]. A pair is left alone when
//                  |work[p, q]| <= max(tol sqrt(|work[p, p] work[q, q]|), floor ||a||_F). The sweeps stop when
//                  one rotates nothing, or after max_sweeps. Out: values = diag(work) in descending order
//                  (ties by position), vectors = the matching columns of v scaled to unit length, sweeps =
//                  how many were made (-1: not converged within max_sweeps).
//   lowdin         mixing = D U f(L) U^T per matrix (p x p), thread per entry: U, L the eigenpairs of the unit-
//                  diagonal D g D, D = diag(g)^(-1/2), f(l) = l^(-1/2) above `cut`, else 0. When g = z^T z,
//                  z mixing has orthonormal columns (Lowdin's symmetric orthonormalisation of z's columns
//                  scaled to unit length); a zero or dependent column of z adds no direction.
//   unit_diagonal  mixing = D g D, thread per entry (D as above; a zero diagonal entry leaves its row zero)
//   orient         thread per row of rows x len: the row is negated when its entry of largest magnitude
//                  (the first on ties) is negative, so that a vector's sign does not depend on the solver
// From shaders/prelude.wgsl: flat_index.

struct Eigen {
  batch: u32,
  m: u32,          // jacobi: the matrix size; lowdin, unit_diagonal: p
  max_sweeps: u32,
  tol: f32,
  floor: f32,      // jacobi: the absolute threshold, relative to the Frobenius norm of a
  cut: f32,        // lowdin: the smallest eigenvalue of D g D that counts as a direction
  rows: u32,       // orient
  len: u32,
}

@group(0) @binding(0) var<uniform> p: Eigen;
@group(0) @binding(1) var<storage, read> a: array<f32>;              // (B, m, m) jacobi's input
@group(0) @binding(2) var<storage, read_write> work: array<f32>;     // (B, m, m) rotated towards diagonal
@group(0) @binding(3) var<storage, read_write> v: array<f32>;        // (B, m, m) the rotations' product
@group(0) @binding(4) var<storage, read_write> values: array<f32>;   // (B, m)
@group(0) @binding(5) var<storage, read_write> vectors: array<f32>;  // (B, m, m) columns
@group(0) @binding(6) var<storage, read_write> sweeps: array<i32>;   // (B)
@group(0) @binding(7) var<storage, read> g: array<f32>;              // (B, p, p) a Gram matrix
@group(0) @binding(8) var<storage, read> evec: array<f32>;           // (B, p, p) eigenvectors of D g D
@group(0) @binding(9) var<storage, read> evals: array<f32>;          // (B, p)
@group(0) @binding(10) var<storage, read_write> mixing: array<f32>;  // (B, p, p)
@group(0) @binding(11) var<storage, read_write> rowvecs: array<f32>; // (rows, len), oriented in place

const WG = 64u;
const MAX_M = 128u;

// Per pair of the current round: c, s, and the pair's new diagonal entries (work[p, p], work[q, q]).
var<workgroup> rot: array<vec4f, 64>;
var<workgroup> rotated: atomic<u32>;
var<workgroup> stop_flag: u32;
var<workgroup> partial: array<f32, 64>;

// Pair i of round r of a round-robin tournament of mm (even) players: every pair meets once in mm - 1 rounds.
fn pair_of(r: u32, i: u32, mm: u32) -> vec2u {
  let n1 = mm - 1u;
  if (i == 0u) { return vec2u(n1, r); }
  return vec2u((r + i) % n1, (r + n1 - i) % n1);
}

// The rotation that zeroes work[pp, qq] (Numerical Recipes' form: t = tan of the angle, the smaller root),
// or c = 1, s = 0 below the thresholds. Returns c, s, the new work[pp, pp] and work[qq, qq].
fn rotation(base: u32, m: u32, pq: vec2u, abs_floor: f32) -> vec4f {
  let app = work[base + pq.x * m + pq.x];
  let aqq = work[base + pq.y * m + pq.y];
  let apq = work[base + pq.x * m + pq.y];
  if (abs(apq) <= max(p.tol * sqrt(abs(app * aqq)), abs_floor)) { return vec4f(1.0, 0.0, app, aqq); }
  let theta = (aqq - app) / (2.0 * apq);
  var t = 1.0 / (abs(theta) + sqrt(theta * theta + 1.0));
  if (abs(theta) > 1e18) { t = 0.5 / abs(theta); } // theta^2 would overflow
  if (theta < 0.0) { t = -t; }
  let c = 1.0 / sqrt(t * t + 1.0);
  return vec4f(c, t * c, app - t * apq, aqq + t * apq);
}

// Rows p and q of work: work <- J^T work (the pair's 2x2 block is written exactly by columns()).
fn rows(base: u32, m: u32, r: u32, mm: u32, li: u32) {
  for (var e = li; e < (mm / 2u) * m; e += WG) {
    let i = e / m;
    let j = e % m;
    let cs = rot[i];
    if (cs.y == 0.0) { continue; }
    let pq = pair_of(r, i, mm);
    let ap = work[base + pq.x * m + j];
    let aq = work[base + pq.y * m + j];
    work[base + pq.x * m + j] = cs.x * ap - cs.y * aq;
    work[base + pq.y * m + j] = cs.y * ap + cs.x * aq;
  }
}

// Columns p and q of work and v: work <- work J, v <- v J; the pair's own block gets its exact values (the
// new diagonal entries, and zero off the diagonal) rather than what rounding leaves.
fn columns(base: u32, m: u32, r: u32, mm: u32, li: u32) {
  for (var e = li; e < (mm / 2u) * m; e += WG) {
    let i = e / m;
    let row = e % m;
    let cs = rot[i];
    if (cs.y == 0.0) { continue; }
    let pq = pair_of(r, i, mm);
    let at = base + row * m;
    let ap = work[at + pq.x];
    let aq = work[at + pq.y];
    work[at + pq.x] = select(cs.x * ap - cs.y * aq, select(0.0, cs.z, row == pq.x), row == pq.x || row == pq.y);
    work[at + pq.y] = select(cs.y * ap + cs.x * aq, select(0.0, cs.w, row == pq.y), row == pq.x || row == pq.y);
    let vp = v[at + pq.x];
    let vq = v[at + pq.y];
    v[at + pq.x] = cs.x * vp - cs.y * vq;
    v[at + pq.y] = cs.y * vp + cs.x * vq;
  }
}

// work = (a + a^T) / 2 and v = I; returns floor * ||a||_F (every thread gets it).
fn start(base: u32, m: u32, li: u32) -> f32 {
  var s = 0.0;
  for (var e = li; e < m * m; e += WG) {
    let i = e / m;
    let j = e % m;
    let x = 0.5 * (a[base + e] + a[base + j * m + i]);
    work[base + e] = x;
    v[base + e] = select(0.0, 1.0, i == j);
    s += x * x;
  }
  partial[li] = s;
  workgroupBarrier();
  for (var half = 32u; half > 0u; half >>= 1u) {
    if (li < half) { partial[li] += partial[li + half]; }
    workgroupBarrier();
  }
  return p.floor * sqrt(partial[0]);
}

// Diagonal entry j goes to its rank in descending order, with column j of v.
fn sorted_out(b: u32, base: u32, m: u32, li: u32) {
  for (var j = li; j < m; j += WG) {
    let dj = work[base + j * m + j];
    var rank = 0u;
    for (var k = 0u; k < m; k++) {
      let dk = work[base + k * m + k];
      if (dk > dj || (dk == dj && k < j)) { rank++; }
    }
    values[b * m + rank] = dj;
    var norm2 = 0.0;
    for (var row = 0u; row < m; row++) { norm2 += v[base + row * m + j] * v[base + row * m + j]; }
    let unit = inverseSqrt(norm2); // undoes the drift of c^2 + s^2 from 1 in f32 over many rotations
    for (var row = 0u; row < m; row++) { vectors[base + row * m + rank] = v[base + row * m + j] * unit; }
  }
}

@compute @workgroup_size(64)
fn jacobi(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let b = wg.y * nwg.x + wg.x;
  if (b >= p.batch) { return; }
  let m = p.m;
  let mm = m + (m & 1u);
  let base = b * m * m;
  let abs_floor = start(base, m, li);
  storageBarrier();
  var sweep = 0u;
  var converged = false;
  loop {
    if (sweep >= p.max_sweeps) { break; }
    if (li == 0u) { atomicStore(&rotated, 0u); }
    workgroupBarrier();
    for (var r = 0u; r + 1u < mm; r++) {
      for (var i = li; i < mm / 2u; i += WG) {
        let pq = pair_of(r, i, mm);
        var cs = vec4f(1.0, 0.0, 0.0, 0.0);
        if (pq.x < m && pq.y < m) { cs = rotation(base, m, pq, abs_floor); }
        if (cs.y != 0.0) { atomicAdd(&rotated, 1u); }
        rot[i] = cs;
      }
      workgroupBarrier();
      rows(base, m, r, mm, li);
      storageBarrier();
      columns(base, m, r, mm, li);
      storageBarrier();
    }
    workgroupBarrier(); // every pair's atomicAdd is in
    sweep++;
    if (li == 0u) { stop_flag = select(0u, 1u, atomicLoad(&rotated) == 0u); }
    if (workgroupUniformLoad(&stop_flag) == 1u) {
      converged = true;
      break;
    }
  }
  sorted_out(b, base, m, li);
  if (li == 0u) { sweeps[b] = select(-1, i32(sweep), converged); }
}

// 1 / sqrt(g[i, i]) of matrix b, or 0 for a zero (or negative) diagonal entry.
fn inv_norm(b: u32, i: u32) -> f32 {
  let d = g[(b * p.m + i) * p.m + i];
  return select(0.0, inverseSqrt(d), d > 0.0);
}

@compute @workgroup_size(64)
fn unit_diagonal(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let e = flat_index(wg, nwg, li);
  let n = p.m;
  if (e >= p.batch * n * n) { return; }
  let b = e / (n * n);
  let i = (e / n) % n;
  let j = e % n;
  mixing[e] = inv_norm(b, i) * g[e] * inv_norm(b, j);
}

@compute @workgroup_size(64)
fn lowdin(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let e = flat_index(wg, nwg, li);
  let n = p.m;
  if (e >= p.batch * n * n) { return; }
  let b = e / (n * n);
  let i = (e / n) % n;
  let j = e % n;
  let at = b * n * n;
  var s = 0.0;
  for (var k = 0u; k < n; k++) {
    let l = evals[b * n + k];
    if (l > p.cut) { s += evec[at + i * n + k] * inverseSqrt(l) * evec[at + j * n + k]; }
  }
  mixing[e] = inv_norm(b, i) * s;
}

@compute @workgroup_size(64)
fn orient(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let r = flat_index(wg, nwg, li);
  if (r >= p.rows) { return; }
  let at = r * p.len;
  var best = 0.0;
  for (var j = 0u; j < p.len; j++) {
    let x = rowvecs[at + j];
    if (abs(x) > abs(best)) { best = x; }
  }
  if (best >= 0.0) { return; }
  for (var j = 0u; j < p.len; j++) { rowvecs[at + j] = -rowvecs[at + j]; }
}
