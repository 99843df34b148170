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
// The grid. Workgroups along x first cover dw in tiles (dw_groups of them; the threads of the first
// column tile also sum db over the rows they walk), then dx in tiles of the same shape; z is the batch
// entry of a population of layers (W (G, out, in), x (G, B, in) or one x for all, b (G, 1, out)). Each of
// the 64 threads owns an 8x8 block of its tile and walks the shared dimension (B for dw, out for dx)
// alone: no workgroup memory, no barriers (on a CPU a barrier costs more than the reuse it buys, as in
// matmul.wgsl's register kernels). A tile is tx blocks wide and 64 / tx high, tx (1, 2, 4 or 8) the
// fewest that span the n_in columns: a narrow layer (15 inputs) keeps its threads busy.
//
// What the block size buys on SwiftShader: a thread's storage loads there are gathers, lane by lane, and
// cost far more than its fmas; each step of the walk loads 8 entries of dz (8 more of y with an
// activation) and 8 of x or W for 64 products. The block's entries are only ever named by constant
// indices (four mat4x4f in a Block; column r of one = row r of its 4x4 part): a loop variable indexing a
// local matrix reads it back through memory, lane by lane. Indices past the edge read the last row or
// column (in bounds) and are never stored. Sums run in order of the shared dimension, one fma at a time.
//
// Not here: the forward pass (matmul.wgsl's linear epilogue), a gradient for an x shared by a population
// (src/ops/linear.ts leaves that case to matmul.ts).
// (Locals are never named like a binding: wgsl_reflect would count them as a use.)

const BLOCK = 8u; // rows and columns of dw or dx a thread owns (src/ops/linear.ts sizes the grid by it)
const THREADS = 64u; // threads a workgroup: tx across a tile's columns, 64 / tx down its rows

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
  tx: u32,         // blocks across a tile (1, 2, 4 or 8)
  col_tiles: u32,  // tiles across dw and dx: ceil(n_in / (tx BLOCK))
  dw_groups: u32,  // workgroups of the dw part (0: no dw, db)
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

fn x4(at: vec4u) -> vec4f {
  return vec4f(x[at.x], x[at.y], x[at.z], x[at.w]);
}

fn w4(at: vec4u) -> vec4f {
  return vec4f(w[at.x], w[at.y], w[at.z], w[at.w]);
}

// acc + d v^T: column r of the block gains d[r] * v.
fn rank1(acc: mat4x4f, d: vec4f, v: vec4f) -> mat4x4f {
  return mat4x4f(fma(vec4f(d.x), v, acc[0]), fma(vec4f(d.y), v, acc[1]), fma(vec4f(d.z), v, acc[2]),
                 fma(vec4f(d.w), v, acc[3]));
}

// Writes row `row` (of n_j) of dw or dx, columns i0..i0+3 (those inside n_in), from v; `at` is the offset
// of the row's column 0.
fn store_row4(to_dw: bool, at: u32, row: u32, n_j: u32, i0: u32, v: vec4f) {
  if (row >= n_j) { return; }
  let n = p.n_in;
  if (to_dw) {
    if (i0 < n) { dw[at + i0] = v.x; }
    if (i0 + 1u < n) { dw[at + i0 + 1u] = v.y; }
    if (i0 + 2u < n) { dw[at + i0 + 2u] = v.z; }
    if (i0 + 3u < n) { dw[at + i0 + 3u] = v.w; }
  } else {
    if (i0 < n) { dx[at + i0] = v.x; }
    if (i0 + 1u < n) { dx[at + i0 + 1u] = v.y; }
    if (i0 + 2u < n) { dx[at + i0 + 2u] = v.z; }
    if (i0 + 3u < n) { dx[at + i0 + 3u] = v.w; }
  }
}

// Writes a 4x4 part (rows j0.., columns i0..) of dw or dx of the matrix starting at `base`.
fn store_block(to_dw: bool, base: u32, j0: u32, n_j: u32, i0: u32, blk: mat4x4f) {
  let n = p.n_in;
  store_row4(to_dw, base + j0 * n, j0, n_j, i0, blk[0]);
  store_row4(to_dw, base + (j0 + 1u) * n, j0 + 1u, n_j, i0, blk[1]);
  store_row4(to_dw, base + (j0 + 2u) * n, j0 + 2u, n_j, i0, blk[2]);
  store_row4(to_dw, base + (j0 + 3u) * n, j0 + 3u, n_j, i0, blk[3]);
}

// Writes the entries of db for outputs j0..j0+3 (those below n_out) of batch entry e.
fn store_db(e: u32, j0: u32, s: vec4f) {
  let at = e * p.n_out + j0;
  if (j0 < p.n_out) { db[at] = s.x; }
  if (j0 + 1u < p.n_out) { db[at + 1u] = s.y; }
  if (j0 + 2u < p.n_out) { db[at + 2u] = s.z; }
  if (j0 + 3u < p.n_out) { db[at + 3u] = s.w; }
}

// A thread's 8x8 block: part ab holds rows from ja (a = 0) or jb, columns from ia (b = 0) or ib; s0, s1
// the sums of dz over the rows walked (db) for outputs ja and jb.
struct Block {
  a00: mat4x4f,
  a01: mat4x4f,
  a10: mat4x4f,
  a11: mat4x4f,
  s0: vec4f,
  s1: vec4f,
}

// The block gains d0 and d1 (dz at rows ja and jb) times v0 and v1 (columns ia and ib).
fn update(b: Block, d0: vec4f, d1: vec4f, v0: vec4f, v1: vec4f) -> Block {
  return Block(rank1(b.a00, d0, v0), rank1(b.a01, d0, v1), rank1(b.a10, d1, v0), rank1(b.a11, d1, v1),
               b.s0 + d0, b.s1 + d1);
}

// dw[o, i] = sum over rows r of dz[r, o] x[r, i], outputs o at ja and jb, inputs i at ia and ib; db's
// sums come along.
fn walk_dw(e: u32, ja: vec4u, jb: vec4u, ia: vec4u, ib: vec4u) -> Block {
  var b = Block();
  let dy_base = e * p.rows * p.n_out;
  let xb = e * p.x_batch;
  for (var r = 0u; r < p.rows; r++) {
    let at_dz = dy_base + r * p.n_out;
    let at_x = xb + r * p.n_in;
    b = update(b, dz4(at_dz + ja), dz4(at_dz + jb), x4(at_x + ia), x4(at_x + ib));
  }
  return b;
}

// dx[r, i] = sum over outputs o of dz[r, o] W[o, i], rows r at ja and jb, inputs i at ia and ib.
fn walk_dx(e: u32, ja: vec4u, jb: vec4u, ia: vec4u, ib: vec4u) -> Block {
  var b = Block();
  let dy_base = e * p.rows * p.n_out;
  let at_a = dy_base + ja * p.n_out;
  let at_b = dy_base + jb * p.n_out;
  let wb = e * p.w_batch;
  for (var o = 0u; o < p.n_out; o++) {
    let at_w = wb + o * p.n_in;
    b = update(b, dz4(at_a + o), dz4(at_b + o), w4(at_w + ia), w4(at_w + ib));
  }
  return b;
}

@compute @workgroup_size(64)
fn linear_backward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wg.z; // batch entry
  let dw_part = wg.x < p.dw_groups;
  // the thread's block: rows j0..j0+7 (outputs o of dw, or rows r of dx), input columns i0..i0+7
  var g = wg.x;
  var n_j = p.n_out;
  if (!dw_part) {
    g = wg.x - p.dw_groups;
    n_j = p.rows;
  }
  let j0 = (g / p.col_tiles) * (THREADS / p.tx) * BLOCK + (li / p.tx) * BLOCK;
  let i0 = (g % p.col_tiles) * p.tx * BLOCK + (li % p.tx) * BLOCK;
  if (j0 >= n_j || i0 >= p.n_in) { return; }
  let r4 = vec4u(0u, 1u, 2u, 3u);
  let ja = min(j0 + r4, vec4u(n_j - 1u));
  let jb = min(j0 + 4u + r4, vec4u(n_j - 1u));
  let ia = min(i0 + r4, vec4u(p.n_in - 1u));
  let ib = min(i0 + 4u + r4, vec4u(p.n_in - 1u));
  var b: Block;
  var base: u32;
  if (dw_part) {
    b = walk_dw(e, ja, jb, ia, ib);
    base = e * p.n_out * p.n_in;
    if (p.has_db != 0u && i0 == 0u) {
      store_db(e, j0, b.s0);
      store_db(e, j0 + 4u, b.s1);
    }
  } else {
    b = walk_dx(e, ja, jb, ia, ib);
    base = e * p.rows * p.n_in;
  }
  store_block(dw_part, base, j0, n_j, i0, b.a00);
  store_block(dw_part, base, j0, n_j, i0 + 4u, b.a01);
  store_block(dw_part, base, j0 + 4u, n_j, i0, b.a10);
  store_block(dw_part, base, j0 + 4u, n_j, i0 + 4u, b.a11);
}
