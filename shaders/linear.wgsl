// The backward pass of a linear layer, y = act(x W^T + b), in one dispatch (src/ops/linear.ts):
//
//   dz = dy * act'(y)            relu: dy where y > 0; sigmoid: dy y (1 - y); none: dy
//   dw = dz^T x                  (out, in)  = (out, B) @ (B, in)
//   db = sum over rows of dz     (out)
//   dx = dz W                    (B, in)    = (B, out) @ (out, in)
//
// Unfused these are four dispatches (the activation's backward, two matmuls, a column sum) and a tensor
// for dz; on SwiftShader each dispatch costs tens of microseconds whatever its size, which for the small
// layers of the weight VAEs is more than the arithmetic. Here dz is never stored: every thread recomputes
// the entries it reads from dy and y (the same formulas as shaders/elementwise.wgsl's relu_bwd and
// sigmoid_bwd, to the bit).
//
// The grid. Workgroups along x first cover dw in 32x64 tiles (dw_groups of them; the threads of the
// first column tile also sum db over the rows they walk), then dx in 32x64 tiles; z is the batch entry
// of a population of layers (W (G, out, in), x (G, B, in) or one x for all, b (G, 1, out)). Each of the
// 64 threads owns a 4x8 block of its tile (4 entries of dz, each 4 loads with y, serve 32 products) and
// walks the shared dimension (B for dw, out for dx) alone:
// no workgroup memory, no barriers (on a CPU a barrier costs more than the reuse it buys, as in
// matmul.wgsl's register kernels). Indices past the edge read the last row or column (in bounds) and are
// never stored. Sums run in order of the shared dimension, one fma at a time.
//
// Not here: the forward pass (matmul.wgsl's linear epilogue), a gradient for an x shared by a population
// (src/ops/linear.ts leaves that case to matmul.ts).
// (Locals are never named like a binding: wgsl_reflect would count them as a use.)

const TILE_ROWS = 32u; // rows of dw or dx per workgroup: 8 threads of 4 (src/ops/linear.ts sizes the grid by both)
const TILE_COLS = 64u; // columns of dw or dx per workgroup: 8 threads of 8

const ACT_NONE = 0u; // as matmul.wgsl's ACT_* (src/ops/linear.ts reads them)
const ACT_RELU = 1u;
const ACT_SIGMOID = 2u;

// The activation whose derivative dz folds in: a pipeline constant, so that each kernel has only its own
// (a branch on a uniform costs every element its test on SwiftShader).
override ACT: u32 = ACT_NONE;

struct LinearGrad {
  rows: u32,       // B: rows of x, y and dy per batch entry
  n_in: u32,
  n_out: u32,
  x_batch: u32,    // elements of x per batch entry (0: one x for all)
  w_batch: u32,    // elements of W per batch entry (0: one W for all)
  dw_tiles: u32,   // column tiles of dw: ceil(n_in / TILE)
  dw_groups: u32,  // workgroups of the dw part (0: no dw, db)
  dx_tiles: u32,   // column tiles of dx: ceil(n_in / TILE)
  has_db: u32,
}

@group(0) @binding(0) var<uniform> p: LinearGrad;
@group(0) @binding(1) var<storage, read> x: array<f32>;   // (G?, B, in)
@group(0) @binding(2) var<storage, read> w: array<f32>;   // (G?, out, in)
@group(0) @binding(3) var<storage, read> y: array<f32>;   // (G, B, out): the layer's output (act' reads it)
@group(0) @binding(4) var<storage, read> dy: array<f32>;  // (G, B, out)
@group(0) @binding(5) var<storage, read_write> dx: array<f32>; // (G, B, in)
@group(0) @binding(6) var<storage, read_write> dw: array<f32>; // (G, out, in)
@group(0) @binding(7) var<storage, read_write> db: array<f32>; // (G, out)

// dz at element `at` of dy (and y).
fn dz_at(at: u32) -> f32 {
  let g = dy[at];
  if (ACT == ACT_RELU) { return select(0.0, g, y[at] > 0.0); }
  if (ACT == ACT_SIGMOID) {
    let s = y[at];
    return g * s * (1.0 - s);
  }
  return g;
}

// 4 entries of dz at offsets `at` (a row's 4 columns, or a column's 4 rows).
fn dz4(at: vec4u) -> vec4f {
  return vec4f(dz_at(at.x), dz_at(at.y), dz_at(at.z), dz_at(at.w));
}

// 8 columns of a row of x, at element offsets lo (the first 4) and hi.
fn x_cols8(lo: vec4u, hi: vec4u) -> array<vec4f, 2> {
  return array<vec4f, 2>(vec4f(x[lo.x], x[lo.y], x[lo.z], x[lo.w]), vec4f(x[hi.x], x[hi.y], x[hi.z], x[hi.w]));
}

// 8 columns of a row of W, at element offsets lo (the first 4) and hi.
fn w_cols8(lo: vec4u, hi: vec4u) -> array<vec4f, 2> {
  return array<vec4f, 2>(vec4f(w[lo.x], w[lo.y], w[lo.z], w[lo.w]), vec4f(w[hi.x], w[hi.y], w[hi.z], w[hi.w]));
}

// A 4x8 block (4 rows of vec4 pairs) as an accumulator.
struct Block {
  r0: array<vec4f, 2>,
  r1: array<vec4f, 2>,
  r2: array<vec4f, 2>,
  r3: array<vec4f, 2>,
}

// blk += d (4 rows) times v (8 columns), one fma per element.
fn rank1(blk: ptr<function, Block>, d: vec4f, v: array<vec4f, 2>) {
  (*blk).r0[0] = fma(vec4f(d.x), v[0], (*blk).r0[0]);
  (*blk).r0[1] = fma(vec4f(d.x), v[1], (*blk).r0[1]);
  (*blk).r1[0] = fma(vec4f(d.y), v[0], (*blk).r1[0]);
  (*blk).r1[1] = fma(vec4f(d.y), v[1], (*blk).r1[1]);
  (*blk).r2[0] = fma(vec4f(d.z), v[0], (*blk).r2[0]);
  (*blk).r2[1] = fma(vec4f(d.z), v[1], (*blk).r2[1]);
  (*blk).r3[0] = fma(vec4f(d.w), v[0], (*blk).r3[0]);
  (*blk).r3[1] = fma(vec4f(d.w), v[1], (*blk).r3[1]);
}

// Row j (0..3) of the block, columns c (0..7).
fn block_at(blk: Block, j: u32, c: u32) -> f32 {
  var row = blk.r0;
  if (j == 1u) { row = blk.r1; }
  if (j == 2u) { row = blk.r2; }
  if (j == 3u) { row = blk.r3; }
  return row[c / 4u][c % 4u];
}

@compute @workgroup_size(64)
fn linear_backward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wg.z; // batch entry
  let r4 = vec4u(0u, 1u, 2u, 3u);
  let dy_base = e * p.rows * p.n_out;
  var blk = Block();
  let dw_part = wg.x < p.dw_groups;
  // the thread's block: rows j0..j0+3 (outputs o of dw, or rows r of dx), input columns i0..i0+7
  var g = wg.x;
  var tiles = p.dw_tiles;
  var n_j = p.n_out;
  if (!dw_part) {
    g = wg.x - p.dw_groups;
    tiles = p.dx_tiles;
    n_j = p.rows;
  }
  let j0 = (g / tiles) * TILE_ROWS + (li / 8u) * 4u;
  let i0 = (g % tiles) * TILE_COLS + (li % 8u) * 8u;
  if (j0 >= n_j || i0 >= p.n_in) { return; }
  let jc = min(j0 + r4, vec4u(n_j - 1u));
  let lo = min(i0 + r4, vec4u(p.n_in - 1u));
  let hi = min(i0 + 4u + r4, vec4u(p.n_in - 1u));
  var bsum = vec4f(0.0);
  if (dw_part) {
    // dw[o, i] = sum over rows r of dz[r, o] x[r, i]; db[o] = sum over rows r of dz[r, o]
    let oc = dy_base + jc;
    let xb = e * p.x_batch;
    for (var r = 0u; r < p.rows; r++) {
      let d = dz4(oc + r * p.n_out);
      let at = xb + r * p.n_in;
      rank1(&blk, d, x_cols8(lo + at, hi + at));
      bsum += d;
    }
  } else {
    // dx[r, i] = sum over outputs o of dz[r, o] W[o, i]
    let rc = dy_base + jc * p.n_out;
    let wb = e * p.w_batch;
    for (var o = 0u; o < p.n_out; o++) {
      let at = wb + o * p.n_in;
      rank1(&blk, dz4(rc + o), w_cols8(lo + at, hi + at));
    }
  }
  let n_i = min(8u, p.n_in - i0);
  for (var j = 0u; j < 4u; j++) {
    let row = j0 + j;
    if (row >= n_j) { break; }
    if (dw_part) {
      let at = e * p.n_out * p.n_in + row * p.n_in + i0;
      for (var c = 0u; c < n_i; c++) { dw[at + c] = block_at(blk, j, c); }
      if (p.has_db != 0u && i0 == 0u) { db[e * p.n_out + row] = bsum[j]; }
    } else {
      let at = e * p.rows * p.n_in + row * p.n_in + i0;
      for (var c = 0u; c < n_i; c++) { dx[at + c] = block_at(blk, j, c); }
    }
  }
}

