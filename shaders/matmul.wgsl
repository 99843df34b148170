// Batched matrix multiply: c = op(a) @ op(b), op(a) (M, K), op(b) (K, N), c (M, N) row-major, per batch,
// with an optional fused epilogue for linear layers: + bias[col] (per batch entry when bias_batch > 0),
// then ReLU or sigmoid (finish() below), so that a layer is one dispatch.
// Not here: 1-D operands, broadcasting rules and autodiff (src/ops/matmul.ts).
//
// Workgroups are 1-D (64 threads) everywhere, with the 2-D position computed from the index: on
// SwiftShader a 2-D workgroup size costs ~60 us more per dispatch (measured: the same kernel at
// @workgroup_size(64) 16 us, at (16, 4) 85 us), which dominated the small products of a training step.
//
// Tiling. An 8x8 workgroup computes one 32x32 tile of c (workgroup_id.x: the tile's column block,
// .y: its row block, .z: the batch), each thread a 4x4 block held in registers. The K dimension is walked
// in steps of 16: every step the workgroup stages a 16x32 slice of op(a) and a 16x32 slice of op(b) in
// workgroup memory (8 loads per thread for each, zero outside the matrix, so any M, N, K works), waits,
// and every thread does 16 rank-1 updates of its 4x4 block from them: 8 workgroup-memory reads for 16
// multiply-adds. Thread (tx, ty) owns rows ty + 8 i and columns tx + 8 j (i, j < 4), not a contiguous
// block, so that neighbouring threads read neighbouring words of the staged tiles and write neighbouring
// words of c. (8x8 threads rather than 16x16 on a 64x64 tile: the matrices of small models and of the
// backward passes of a batch leave most of a larger tile as padding.)
//
// Strides. Element (m, k) of op(a) is a[batch * a_batch + m * a_row + k * a_col]: a transposed operand
// only swaps its row and column strides, and an operand broadcast over the batch has a_batch = 0. Every
// shape and stride is a uniform, so a new shape never builds a new pipeline. The staging loads walk the
// operand's contiguous dimension fastest (the col stride is 1, or else the rows are), so that
// neighbouring threads read neighbouring words of the operand.
//
// Small outputs. When M or N is below 8, most of a 32x32 tile would be padding, and the barriers of the
// tiled kernel cost more than the arithmetic (a population of 500 tiny networks is 500 such products):
// matmul_small gives each output element one thread that walks K, with no workgroup memory at all, and
// matmul_small4 (on SwiftShader) a 4x4 block of them.
//
// (Locals and parameters are never named like a global binding: wgsl_reflect would count them as a use.)
// From shaders/prelude.wgsl: flat_index.

const TILE_M = 32u;  // rows of c per workgroup (src/ops/matmul.ts sizes the dispatch by it)
const TILE_N = 32u;  // columns of c per workgroup
const TILE_K = 16u;  // depth of each staged slice
const THREADS_X = 8u;
const THREADS_Y = 8u;
const THREADS = 64u; // THREADS_X * THREADS_Y

struct Matmul {
  m: u32,
  n: u32,
  k: u32,
  a_batch: u32, // strides of op(a) in elements: per batch (0: broadcast), per row, per column
  a_row: u32,
  a_col: u32,
  b_batch: u32, // the same for op(b)
  b_row: u32,
  b_col: u32,
  batch: u32,   // batch entries (matmul_small's bound; matmul takes it from the grid)
  bias_batch: u32, // the epilogue: bias stride per batch entry (0: one bias row for all)
}

const ACT_NONE = 0u; // read by src/ops/matmul.ts as ACTIVATIONS
const ACT_RELU = 1u;
const ACT_SIGMOID = 2u;

// The epilogue, as pipeline constants: whether a bias is added (0: the bias binding is a placeholder, never
// read) and the activation. On SwiftShader a branch on a uniform value runs its body under a mask even when
// no lane takes it, so read from the uniforms they cost every store a bias gather and a sigmoid; as
// constants the branches fold away (measured 2026-12-01, one process, the two versions alternated: the
// zoos' (64, 100, 4) @ (64, 4, 5) 656 -> 413 us, the fine-tuning's (4000, 16, 4) @ (4000, 4, 5) 5.6 -> 3.0
// ms, with a bias and a sigmoid 5.6 -> 3.5 ms; the VAE's 16-row products 0-13% less).
override HAS_BIAS: u32 = 0u;
override ACT: u32 = ACT_NONE;

@group(0) @binding(0) var<uniform> p: Matmul;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// c's value at (batch entry z, column col) from the product v: the fused epilogue. The activations are
// those of shaders/elementwise.wgsl, to the bit.
fn finish(v: f32, z: u32, col: u32) -> f32 {
  var r = v;
  if (HAS_BIAS != 0u) { r += bias[z * p.bias_batch + col]; }
  if (ACT == ACT_RELU) { r = max(r, 0.0); }
  if (ACT == ACT_SIGMOID) { r = 1.0 / (1.0 + exp(-r)); }
  return r;
}

// tile_a[kk * TILE_M + mm] = op(a)[row0 + mm, k0 + kk];  tile_b[kk * TILE_N + nn] = op(b)[k0 + kk, col0 + nn]
var<workgroup> tile_a: array<f32, TILE_K * TILE_M>; // (TILE_K, TILE_M)
var<workgroup> tile_b: array<f32, TILE_K * TILE_N>; // (TILE_K, TILE_N)

@compute @workgroup_size(64)
fn matmul(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let lid = vec2u(li % THREADS_X, li / THREADS_X); // the thread's column and row in the 8x8 workgroup
  let row0 = wg.y * TILE_M;
  let col0 = wg.x * TILE_N;
  let a_base = wg.z * p.a_batch;
  let b_base = wg.z * p.b_batch;
  // acc[i][j]: c[row0 + lid.y + 8 i, col0 + lid.x + 8 j]
  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));

  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    for (var l = li; l < TILE_K * TILE_M; l += THREADS) {
      var kk = l % TILE_K; // a row-major op(a): k fastest
      var mm = l / TILE_K;
      if (p.a_col != 1u) { // a transposed op(a): m fastest
        mm = l % TILE_M;
        kk = l / TILE_M;
      }
      let row = row0 + mm;
      let kg = k0 + kk;
      var v = 0.0;
      if (row < p.m && kg < p.k) { v = a[a_base + row * p.a_row + kg * p.a_col]; }
      tile_a[kk * TILE_M + mm] = v;
    }
    for (var l = li; l < TILE_K * TILE_N; l += THREADS) {
      var nn = l % TILE_N; // a row-major op(b): n fastest
      var kk = l / TILE_N;
      if (p.b_col != 1u) { // a transposed op(b): k fastest
        kk = l % TILE_K;
        nn = l / TILE_K;
      }
      let col = col0 + nn;
      let kg = k0 + kk;
      var v = 0.0;
      if (col < p.n && kg < p.k) { v = b[b_base + kg * p.b_row + col * p.b_col]; }
      tile_b[kk * TILE_N + nn] = v;
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TILE_K; kk++) {
      let ta = kk * TILE_M + lid.y;
      let tb = kk * TILE_N + lid.x;
      let bv = vec4f(tile_b[tb], tile_b[tb + THREADS_X], tile_b[tb + 2u * THREADS_X], tile_b[tb + 3u * THREADS_X]);
      acc[0] = fma(vec4f(tile_a[ta]), bv, acc[0]);
      acc[1] = fma(vec4f(tile_a[ta + THREADS_Y]), bv, acc[1]);
      acc[2] = fma(vec4f(tile_a[ta + 2u * THREADS_Y]), bv, acc[2]);
      acc[3] = fma(vec4f(tile_a[ta + 3u * THREADS_Y]), bv, acc[3]);
    }
    workgroupBarrier();
  }

  let c_base = wg.z * p.m * p.n;
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y + i * THREADS_Y;
    if (row >= p.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + j * THREADS_X;
      if (col < p.n) { c[c_base + row * p.n + col] = finish(acc[i][j], wg.z, col); }
    }
  }
}

@compute @workgroup_size(64)
fn matmul_small(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li); // into c: (batch, m, n)
  if (i >= p.batch * p.m * p.n) { return; }
  let col = i % p.n;
  let row = (i / p.n) % p.m;
  let e = i / (p.m * p.n);
  var ia = e * p.a_batch + row * p.a_row;
  var ib = e * p.b_batch + col * p.b_col;
  var s = 0.0;
  for (var kk = 0u; kk < p.k; kk++) {
    s = fma(a[ia], b[ib], s);
    ia += p.a_col;
    ib += p.b_row;
  }
  c[i] = finish(s, e, col);
}

// matmul_small with a 4x4 block of c a thread, for a CPU adapter (SwiftShader). There every storage load is
// a gather, lane by lane, and costs far more than a multiply-add: a thread per output loads 2 words per
// multiply-add, a 4x4 block 8 per 16. The blocks are numbered without gaps (columns fastest, then rows,
// then batch entries), so every lane of a SIMD group holds one: a tiled kernel's 32x32 tile on an output
// 5 wide would leave most lanes idle. Each sum runs in order of k, one fma at a time, as in matmul_small,
// to the bit.
@compute @workgroup_size(64)
fn matmul_small4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li); // into the blocks of c: (batch, ceil(m / 4), ceil(n / 4))
  let col_blocks = (p.n + 3u) / 4u;
  let row_blocks = (p.m + 3u) / 4u;
  if (i >= p.batch * row_blocks * col_blocks) { return; }
  let col0 = (i % col_blocks) * 4u;
  let row0 = ((i / col_blocks) % row_blocks) * 4u;
  let e = i / (col_blocks * row_blocks);
  // rows and columns past the edge read the last one (in bounds) and are never stored
  let r = vec4u(0u, 1u, 2u, 3u);
  let ra = e * p.a_batch + min(row0 + r, vec4u(p.m - 1u)) * p.a_row;
  let cb = e * p.b_batch + min(col0 + r, vec4u(p.n - 1u)) * p.b_col;
  var acc = mat4x4f();
  var ka = 0u;
  var kb = 0u;
  for (var kk = 0u; kk < p.k; kk++) {
    let x = a_k(ra, ka);
    let y = b_row(cb, kb);
    acc = mat4x4f(fma(vec4f(x.x), y, acc[0]), fma(vec4f(x.y), y, acc[1]), fma(vec4f(x.z), y, acc[2]),
                  fma(vec4f(x.w), y, acc[3]));
    ka += p.a_col;
    kb += p.b_row;
  }
  store_block(e, row0, col0, acc);
}

// Register blocking without workgroup memory, for CPU implementations of WebGPU (SwiftShader). Each
// thread owns a 16x8 block of c, as eight 4x4 blocks held in mat4x4f accumulators, and reads op(a) and
// op(b) straight from the buffers: no workgroup memory and no barriers. On a CPU a barrier means switching
// between the workgroup's threads, which costs more than the reuse it buys, and the caches share what
// workgroup memory would. k is walked 4 at a time: a 4x4 block of op(a) and one of op(b) are gathered
// into matrices and one mat4x4f product does their 64 multiply-adds; a remainder loop takes the last
// k % 4 steps one at a time. 16x8 outputs a thread, on 16x4 threads (a 64x128 tile of c), won the
// sweep in bench/matmul-variants.ts: 3-4x the 4x4-per-thread kernel it replaced.
//
// In the 4x4 blocks, column r of a matrix is row r of the block (WGSL matrices are column-major): with
// A[r][q] = op(a)[row r, k + q] and B[q][j] = op(b)[k + q, col j], (B * A)[r][j] is sum_q op(a) op(b),
// which is c's block with column r holding row r.

const REGS_ROWS = 16u;  // rows of c per thread: four 4-row blocks
const REGS_COLS = 8u;   // columns of c per thread: two 4-column blocks
const REGS_WG_X = 16u;  // threads along columns (src/ops/matmul.ts sizes the dispatch by all four)
const REGS_WG_Y = 4u;   // threads along rows

// Rows `at` (element offsets of 4 rows of op(a)), columns k..k+3 at element offset ka: column r = row r.
fn a_block(at: vec4u, ka: u32) -> mat4x4f {
  return mat4x4f(a_run(at.x + ka), a_run(at.y + ka), a_run(at.z + ka), a_run(at.w + ka));
}

// 4 consecutive k of one row of op(a).
fn a_run(at: u32) -> vec4f {
  let s = p.a_col;
  return vec4f(a[at], a[at + s], a[at + 2u * s], a[at + 3u * s]);
}

// Rows k..k+3 of op(b) (k at element offset kb), columns `at` (element offsets of 4 columns): column q = row k + q.
fn b_block(at: vec4u, kb: u32) -> mat4x4f {
  let s = p.b_row;
  return mat4x4f(b_row(at, kb), b_row(at, kb + s), b_row(at, kb + 2u * s), b_row(at, kb + 3u * s));
}

// One row of op(b) (at element offset kb) at 4 columns.
fn b_row(at: vec4u, kb: u32) -> vec4f {
  return vec4f(b[at.x + kb], b[at.y + kb], b[at.z + kb], b[at.w + kb]);
}

// One k of op(a) at 4 rows.
fn a_k(at: vec4u, ka: u32) -> vec4f {
  return vec4f(a[at.x + ka], a[at.y + ka], a[at.z + ka], a[at.w + ka]);
}

// The rank-1 update x y^T as a 4x4 block (column r = x[r] * y).
fn outer(x: vec4f, y: vec4f) -> mat4x4f {
  return mat4x4f(x.x * y, x.y * y, x.z * y, x.w * y);
}

@compute @workgroup_size(64)
fn matmul_regs(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row0 = (wg.y * REGS_WG_Y + li / REGS_WG_X) * REGS_ROWS;
  let col0 = (wg.x * REGS_WG_X + li % REGS_WG_X) * REGS_COLS;
  if (row0 >= p.m || col0 >= p.n) { return; }
  let a_base = wg.z * p.a_batch;
  let b_base = wg.z * p.b_batch;
  // element offsets of this thread's rows of op(a) and columns of op(b); rows and columns past the edge
  // read the last one (in bounds) and are never stored
  let last_row = p.m - 1u;
  let last_col = p.n - 1u;
  let r = vec4u(0u, 1u, 2u, 3u);
  let ra0 = a_base + min(row0 + r, vec4u(last_row)) * p.a_row;
  let ra1 = a_base + min(row0 + 4u + r, vec4u(last_row)) * p.a_row;
  let ra2 = a_base + min(row0 + 8u + r, vec4u(last_row)) * p.a_row;
  let ra3 = a_base + min(row0 + 12u + r, vec4u(last_row)) * p.a_row;
  let cb0 = b_base + min(col0 + r, vec4u(last_col)) * p.b_col;
  let cb1 = b_base + min(col0 + 4u + r, vec4u(last_col)) * p.b_col;
  // acc_ij: rows 4i.., columns 4j.. of the thread's block
  var acc_00 = mat4x4f(); var acc_01 = mat4x4f();
  var acc_10 = mat4x4f(); var acc_11 = mat4x4f();
  var acc_20 = mat4x4f(); var acc_21 = mat4x4f();
  var acc_30 = mat4x4f(); var acc_31 = mat4x4f();
  var ka = 0u;
  var kb = 0u;
  var kk = 0u;
  for (; kk + 4u <= p.k; kk += 4u) {
    let b0 = b_block(cb0, kb);
    let b1 = b_block(cb1, kb);
    let a0 = a_block(ra0, ka);
    acc_00 += b0 * a0; acc_01 += b1 * a0;
    let a1 = a_block(ra1, ka);
    acc_10 += b0 * a1; acc_11 += b1 * a1;
    let a2 = a_block(ra2, ka);
    acc_20 += b0 * a2; acc_21 += b1 * a2;
    let a3 = a_block(ra3, ka);
    acc_30 += b0 * a3; acc_31 += b1 * a3;
    ka += 4u * p.a_col;
    kb += 4u * p.b_row;
  }
  for (; kk < p.k; kk++) {
    let y0 = b_row(cb0, kb);
    let y1 = b_row(cb1, kb);
    let x0 = a_k(ra0, ka);
    acc_00 += outer(x0, y0); acc_01 += outer(x0, y1);
    let x1 = a_k(ra1, ka);
    acc_10 += outer(x1, y0); acc_11 += outer(x1, y1);
    let x2 = a_k(ra2, ka);
    acc_20 += outer(x2, y0); acc_21 += outer(x2, y1);
    let x3 = a_k(ra3, ka);
    acc_30 += outer(x3, y0); acc_31 += outer(x3, y1);
    ka += p.a_col;
    kb += p.b_row;
  }
  let z = wg.z;
  store_block(z, row0, col0, acc_00); store_block(z, row0, col0 + 4u, acc_01);
  store_block(z, row0 + 4u, col0, acc_10); store_block(z, row0 + 4u, col0 + 4u, acc_11);
  store_block(z, row0 + 8u, col0, acc_20); store_block(z, row0 + 8u, col0 + 4u, acc_21);
  store_block(z, row0 + 12u, col0, acc_30); store_block(z, row0 + 12u, col0 + 4u, acc_31);
}

// Writes the parts of a 4x4 block (column r = row r) of batch entry z that lie inside c. Every index into
// the block is a constant: on SwiftShader a loop variable indexing a local matrix reads it back through
// memory, lane by lane (this epilogue in loops took a fifth of a VAE step's products). The bias of the
// block's 4 columns is read once (finish() reads it per element).
fn store_block(z: u32, row0: u32, col0: u32, blk: mat4x4f) {
  var bv = vec4f(0.0);
  if (HAS_BIAS != 0u) {
    let at = z * p.bias_batch + min(col0 + vec4u(0u, 1u, 2u, 3u), vec4u(p.n - 1u));
    bv = vec4f(bias[at.x], bias[at.y], bias[at.z], bias[at.w]);
  }
  store_row4(z, row0, col0, blk[0], bv);
  store_row4(z, row0 + 1u, col0, blk[1], bv);
  store_row4(z, row0 + 2u, col0, blk[2], bv);
  store_row4(z, row0 + 3u, col0, blk[3], bv);
}

// Writes v (plus the bias bv, then the activation: finish()'s steps, to the bit) to c[row, col0..col0 + 3]
// of batch entry z, the columns inside c.
fn store_row4(z: u32, row: u32, col0: u32, v: vec4f, bv: vec4f) {
  if (row >= p.m) { return; }
  var r = v;
  if (HAS_BIAS != 0u) { r += bv; }
  if (ACT == ACT_RELU) { r = max(r, vec4f(0.0)); }
  if (ACT == ACT_SIGMOID) { r = 1.0 / (1.0 + exp(-r)); }
  let at = z * p.m * p.n + row * p.n + col0;
  if (col0 < p.n) { c[at] = r.x; }
  if (col0 + 1u < p.n) { c[at + 1u] = r.y; }
  if (col0 + 2u < p.n) { c[at + 2u] = r.z; }
  if (col0 + 3u < p.n) { c[at + 3u] = r.w; }
}

// matmul_regs with 4x4 outputs a thread (one mat4x4f accumulator) on 8x8 threads: a 32x32 tile of c. The
// products of a small model's training step (batch 32, layers of 15-128 units) fill one or two 64x128
// tiles, which leaves a core idle and each thread a long serial chain; this kernel splits them into 4x
// more workgroups and 8x fewer outputs a thread (measured on a VAE step: 15-30% less time a product).
const REGS4_TILE = 32u; // rows and columns of c per workgroup (src/ops/matmul.ts sizes the dispatch by it)

@compute @workgroup_size(64)
fn matmul_regs4(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * REGS4_TILE + (li / 8u) * 4u;
  let col0 = wg.x * REGS4_TILE + (li % 8u) * 4u;
  if (row0 >= p.m || col0 >= p.n) { return; }
  let a_base = wg.z * p.a_batch;
  let b_base = wg.z * p.b_batch;
  let r = vec4u(0u, 1u, 2u, 3u);
  let ra0 = a_base + min(row0 + r, vec4u(p.m - 1u)) * p.a_row;
  let cb0 = b_base + min(col0 + r, vec4u(p.n - 1u)) * p.b_col;
  var acc = mat4x4f();
  var ka = 0u;
  var kb = 0u;
  var kk = 0u;
  for (; kk + 4u <= p.k; kk += 4u) {
    acc += b_block(cb0, kb) * a_block(ra0, ka);
    ka += 4u * p.a_col;
    kb += 4u * p.b_row;
  }
  for (; kk < p.k; kk++) {
    acc += outer(a_k(ra0, ka), b_row(cb0, kb));
    ka += p.a_col;
    kb += p.b_row;
  }
  store_block(wg.z, row0, col0, acc);
}

// matmul_regs with vec4 loads, for row-major op(a) and op(b) with K and N multiples of 4 (src/ops/matmul.ts
// takes it then, on SwiftShader): a row of op(a) is read 4 k at a time and a row of op(b) 4 columns at a
// time, one vec4 load each where matmul_regs gathers 4 words (measured in bench/, interleaved: 1.3-1.4x
// at 256^3 to 1024^3). a4 and b4 are the buffers of a and b seen as vec4s; no entry point binds both views.
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;

@compute @workgroup_size(64)
fn matmul_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row0 = (wg.y * REGS_WG_Y + li / REGS_WG_X) * REGS_ROWS;
  let col0 = (wg.x * REGS_WG_X + li % REGS_WG_X) * REGS_COLS;
  if (row0 >= p.m || col0 >= p.n) { return; }
  let k4 = p.k / 4u; // vec4s per row of op(a)
  let n4 = p.n / 4u; // vec4s per row of op(b)
  // vec4 offsets of this thread's 16 rows of op(a) and 2 column blocks of op(b); past the edge, the last
  let r = vec4u(0u, 1u, 2u, 3u);
  let last = vec4u(p.m - 1u);
  let ra0 = (wg.z * p.a_batch) / 4u + min(row0 + r, last) * k4;
  let ra1 = (wg.z * p.a_batch) / 4u + min(row0 + 4u + r, last) * k4;
  let ra2 = (wg.z * p.a_batch) / 4u + min(row0 + 8u + r, last) * k4;
  let ra3 = (wg.z * p.a_batch) / 4u + min(row0 + 12u + r, last) * k4;
  let cb0 = (wg.z * p.b_batch) / 4u + col0 / 4u;
  let cb1 = (wg.z * p.b_batch) / 4u + min(col0 / 4u + 1u, n4 - 1u);
  var acc_00 = mat4x4f(); var acc_01 = mat4x4f();
  var acc_10 = mat4x4f(); var acc_11 = mat4x4f();
  var acc_20 = mat4x4f(); var acc_21 = mat4x4f();
  var acc_30 = mat4x4f(); var acc_31 = mat4x4f();
  var kb = 0u; // vec4 offset of row k of op(b)
  for (var k = 0u; k < k4; k++) {
    let b0 = mat4x4f(b4[cb0 + kb], b4[cb0 + kb + n4], b4[cb0 + kb + 2u * n4], b4[cb0 + kb + 3u * n4]);
    let b1 = mat4x4f(b4[cb1 + kb], b4[cb1 + kb + n4], b4[cb1 + kb + 2u * n4], b4[cb1 + kb + 3u * n4]);
    let a0 = mat4x4f(a4[ra0.x + k], a4[ra0.y + k], a4[ra0.z + k], a4[ra0.w + k]);
    acc_00 += b0 * a0; acc_01 += b1 * a0;
    let a1 = mat4x4f(a4[ra1.x + k], a4[ra1.y + k], a4[ra1.z + k], a4[ra1.w + k]);
    acc_10 += b0 * a1; acc_11 += b1 * a1;
    let a2 = mat4x4f(a4[ra2.x + k], a4[ra2.y + k], a4[ra2.z + k], a4[ra2.w + k]);
    acc_20 += b0 * a2; acc_21 += b1 * a2;
    let a3 = mat4x4f(a4[ra3.x + k], a4[ra3.y + k], a4[ra3.z + k], a4[ra3.w + k]);
    acc_30 += b0 * a3; acc_31 += b1 * a3;
    kb += 4u * n4;
  }
  let z = wg.z;
  store_block(z, row0, col0, acc_00); store_block(z, row0, col0 + 4u, acc_01);
  store_block(z, row0 + 4u, col0, acc_10); store_block(z, row0 + 4u, col0 + 4u, acc_11);
  store_block(z, row0 + 8u, col0, acc_20); store_block(z, row0 + 8u, col0 + 4u, acc_21);
  store_block(z, row0 + 12u, col0, acc_30); store_block(z, row0 + 12u, col0 + 4u, acc_31);
}
