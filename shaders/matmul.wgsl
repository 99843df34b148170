// Batched matrix multiply: c = op(a) @ op(b), op(a) (M, K), op(b) (K, N), c (M, N) row-major, per batch.
// Not here: 1-D operands, broadcasting rules and autodiff (src/ops/matmul.ts).
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
// matmul_small gives each output element one thread that walks K, with no workgroup memory at all.
//
// (Locals and parameters are never named like a global binding: wgsl_reflect would count them as a use.)

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
}

@group(0) @binding(0) var<uniform> p: Matmul;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// tile_a[kk * TILE_M + mm] = op(a)[row0 + mm, k0 + kk];  tile_b[kk * TILE_N + nn] = op(b)[k0 + kk, col0 + nn]
var<workgroup> tile_a: array<f32, TILE_K * TILE_M>; // (TILE_K, TILE_M)
var<workgroup> tile_b: array<f32, TILE_K * TILE_N>; // (TILE_K, TILE_N)

@compute @workgroup_size(8, 8)
fn matmul(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
          @builtin(local_invocation_index) li: u32) {
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
      if (col < p.n) { c[c_base + row * p.n + col] = acc[i][j]; }
    }
  }
}

@compute @workgroup_size(64)
fn matmul_small(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + li; // flat index into c: (batch, m, n)
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
  c[i] = s;
}

// Register blocking without workgroup memory: the same 32x32 tile per workgroup and 4x4 block per thread
// as `matmul`, but each thread reads its 4 values of op(a) and 4 of op(b) per k straight from the buffers.
// No barriers: on a CPU implementation (SwiftShader) a barrier means switching between all 64 threads
// of the workgroup, which costs more than the reuse it buys; its caches do what workgroup memory would.
@compute @workgroup_size(8, 8)
fn matmul_regs(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wg.y * TILE_M + lid.y;
  let col0 = wg.x * TILE_N + lid.x;
  let a_base = wg.z * p.a_batch;
  let b_base = wg.z * p.b_batch;
  // rows row0 + 8 i, columns col0 + 8 j; out-of-range rows and columns read row/column 0 and are not written
  var ra = vec4u(0u);
  var cb = vec4u(0u);
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + i * THREADS_Y;
    ra[i] = a_base + select(0u, r, r < p.m) * p.a_row;
    let q = col0 + i * THREADS_X;
    cb[i] = b_base + select(0u, q, q < p.n) * p.b_col;
  }
  var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var kk = 0u; kk < p.k; kk++) {
    let ka = kk * p.a_col;
    let kb = kk * p.b_row;
    let bv = vec4f(b[cb.x + kb], b[cb.y + kb], b[cb.z + kb], b[cb.w + kb]);
    acc[0] = fma(vec4f(a[ra.x + ka]), bv, acc[0]);
    acc[1] = fma(vec4f(a[ra.y + ka]), bv, acc[1]);
    acc[2] = fma(vec4f(a[ra.z + ka]), bv, acc[2]);
    acc[3] = fma(vec4f(a[ra.w + ka]), bv, acc[3]);
  }
  let c_base = wg.z * p.m * p.n;
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + i * THREADS_Y;
    if (row >= p.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + j * THREADS_X;
      if (col < p.n) { c[c_base + row * p.n + col] = acc[i][j]; }
    }
  }
}
