// Spectral norms (largest singular values) of the differences of every pair of N small matrices, a thread
// per pair (src/ops/spectral.ts):
//
//   pair_norms   norms[i, j] = norms[j, i] = ||A_i - A_j||_2 for the pair i < j (the thread of i > j does
//                nothing, i = j writes 0). With D = A_i - A_j (R x C) and s = min(R, C), the thread forms
//                the s x s Gram matrix g of D's short side (D D^T or D^T D) and runs the power method on it
//                by repeated squaring: b = g / tr(g), then b <- b^2 / tr(b^2), which after k squarings is
//                g^(2^k) / tr(g^(2^k)). With tr(b) = 1, tr(b^2) = sum l_i^2 / (sum l_i)^2 is 1 exactly when
//                b has rank one, so squaring stops once 1 - tr(b^2) <= tol (or after max_squarings: a
//                repeated top singular value never gets there, but then any vector b holds is a top one).
//                The column of b with the largest diagonal is the top singular vector v; two plain power
//                steps v <- g v polish it against rounding, and ||D' v|| / ||v|| (D' the long side's map)
//                is the norm, read from D itself rather than from g so that no square root of a rounded
//                square is taken. Squaring k times is 2^k power steps for k small matrix products: a gap
//                l_2 / l_1 = 0.999 needs some 20 of them where the plain method needs thousands of steps.
//
// D is never stored: D[r, c] = mats[i, r, c] - mats[j, r, c] is read where it is needed. s is at most MAX_M;
// the long side has no limit. A NaN in either matrix makes the pair's norm NaN.
// From shaders/prelude.wgsl: flat_index.

struct Spectral {
  n: u32,             // matrices
  rows: u32,          // R
  cols: u32,          // C
  max_squarings: u32,
  tol: f32,
}

@group(0) @binding(0) var<uniform> p: Spectral;
@group(0) @binding(1) var<storage, read> mats: array<f32>;        // (N, R, C)
@group(0) @binding(2) var<storage, read_write> norms: array<f32>;  // (N, N)

const MAX_M = 16u; // the short side's limit: three MAX_M x MAX_M matrices in each thread's private memory
const POLISH = 2u;  // plain power steps after the squarings

// D[sh, lg] of the pair (ia, ja), sh indexing the short side and lg the long one.
fn diff(ia: u32, ja: u32, sh: u32, lg: u32) -> f32 {
  var r = sh;
  var c = lg;
  if (p.rows > p.cols) {
    r = lg;
    c = sh;
  }
  let at = r * p.cols + c;
  let size = p.rows * p.cols;
  return mats[ia * size + at] - mats[ja * size + at];
}

// Per thread (private): the Gram matrix, its power, a scratch product, and the vector, each row of the
// matrices MAX_M apart.
var<private> gram: array<f32, 256>;
var<private> pw: array<f32, 256>;
var<private> scratch: array<f32, 256>;
var<private> topv: array<f32, 16>;

// gram = D D^T over the short side (s x s, symmetric) of the pair (ia, ja); returns its trace.
fn form_gram(ia: u32, ja: u32, s: u32, l: u32) -> f32 {
  var tr = 0.0;
  for (var a = 0u; a < s; a++) {
    for (var b = a; b < s; b++) {
      var acc = 0.0;
      for (var k = 0u; k < l; k++) { acc += diff(ia, ja, a, k) * diff(ia, ja, b, k); }
      gram[a * MAX_M + b] = acc;
      gram[b * MAX_M + a] = acc;
    }
    tr += gram[a * MAX_M + a];
  }
  return tr;
}

// pw = gram^(2^k) / tr(gram^(2^k)), squaring until pw has rank one to tol (or max_squarings).
fn square_to_rank_one(s: u32, tr: f32) {
  for (var e = 0u; e < MAX_M * MAX_M; e++) { pw[e] = gram[e] / tr; }
  for (var it = 0u; it < p.max_squarings; it++) {
    var tq = 0.0;
    for (var a = 0u; a < s; a++) {
      for (var b = a; b < s; b++) {
        var acc = 0.0;
        for (var k = 0u; k < s; k++) { acc += pw[a * MAX_M + k] * pw[k * MAX_M + b]; }
        scratch[a * MAX_M + b] = acc;
        scratch[b * MAX_M + a] = acc;
      }
      tq += scratch[a * MAX_M + a];
    }
    for (var e = 0u; e < MAX_M * MAX_M; e++) { pw[e] = scratch[e] / tq; }
    if (1.0 - tq <= p.tol) { break; }
  }
}

// topv = the column of pw with the largest diagonal, then POLISH steps topv <- gram topv / |gram topv|.
fn top_vector(s: u32) {
  var best = 0u;
  for (var a = 1u; a < s; a++) {
    if (pw[a * MAX_M + a] > pw[best * MAX_M + best]) { best = a; }
  }
  for (var a = 0u; a < s; a++) { topv[a] = pw[a * MAX_M + best]; }
  for (var it = 0u; it < POLISH; it++) {
    var len2 = 0.0;
    for (var a = 0u; a < s; a++) {
      var acc = 0.0;
      for (var k = 0u; k < s; k++) { acc += gram[a * MAX_M + k] * topv[k]; }
      scratch[a] = acc;
      len2 += acc * acc;
    }
    let inv = inverseSqrt(len2);
    for (var a = 0u; a < s; a++) { topv[a] = scratch[a] * inv; }
  }
}

// ||D' topv|| / ||topv||: D' maps the short side to the long one.
fn stretch(ia: u32, ja: u32, s: u32, l: u32) -> f32 {
  var vv = 0.0;
  for (var a = 0u; a < s; a++) { vv += topv[a] * topv[a]; }
  var uu = 0.0;
  for (var k = 0u; k < l; k++) {
    var acc = 0.0;
    for (var a = 0u; a < s; a++) { acc += diff(ia, ja, a, k) * topv[a]; }
    uu += acc * acc;
  }
  return sqrt(uu / vv);
}

@compute @workgroup_size(64)
fn pair_norms(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  if (t >= p.n * p.n) { return; }
  let i = t / p.n;
  let j = t % p.n;
  if (i == j) {
    norms[t] = 0.0;
    return;
  }
  if (i > j) { return; }
  let s = min(p.rows, p.cols);
  let l = max(p.rows, p.cols);
  let tr = form_gram(i, j, s, l);
  var sigma = 0.0;
  if (tr != 0.0) {
    square_to_rank_one(s, tr);
    top_vector(s);
    sigma = stretch(i, j, s, l);
  }
  norms[t] = sigma;
  norms[j * p.n + i] = sigma;
}
