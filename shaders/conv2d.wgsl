// 2-D convolution of NHWC activations with HWIO weights, for G independent weight sets at once (G is the
// grid's z): forward, and the two backward kernels (the bias gradient is a sum, src/ops/conv.ts).
// Per weight set g, with x (N, H, W, Cin), weight (KH, KW, Cin, Cout), y and dy (N, OH, OW, Cout):
//
//   y[n, oh, ow, co] = bias[co] + sum_{kh, kw, ci} x[n, oh*sh - pt + kh, ow*sw - pl + kw, ci] * weight[kh, kw, ci, co]
//
// where x is 0 outside the image (padding). Each kernel is a matrix product C = A B whose A is never stored
// (implicit GEMM): its elements are read from x or dy by index arithmetic.
//
//   conv_forward          y   (N*OH*OW, Cout)  = patches of x (N*OH*OW, KH*KW*Cin)   @ weight (KH*KW*Cin, Cout)
//   conv_backward_input   dx  (N*H*W, Cin)     = patches of dy (N*H*W, KH*KW*Cout)   @ weight^T (KH*KW*Cout, Cin)
//   conv_backward_weight  dw  (KH*KW*Cin, Cout) = patches of x^T (KH*KW*Cin, N*OH*OW) @ dy (N*OH*OW, Cout)
//
// In conv_backward_input, dy[n, oh, ow, co] reaches dx[n, ih, iw, ci] through tap (kh, kw) when
// ih = oh*sh - pt + kh, i.e. oh = (ih + pt - kh) / sh when that divides exactly (a transposed convolution).
//
// Tiling. A workgroup computes 64 x 16 tiles of C (workgroup_id.x: the row block, .y: the column block,
// .z: the weight set), each thread a 4 x 4 block of a tile: rows ty + 16 i and columns tx + 4 j, for
// thread t = 4 ty + tx of 64. K is walked in chunks: the workgroup stages a chunk of A (K x 64) and of B
// (K x 16) in workgroup memory (zeros outside the matrices, so any shape works), waits, and multiplies.
//   conv_forward, conv_backward_input: 64 threads, chunks of 16; a workgroup does `row_tiles` row tiles
//     one after the other (1 on a GPU; more on a CPU adapter, where each workgroup has a fixed cost).
//   conv_backward_weight: 256 threads in 4 slices of 64, chunks of 32; slice s does rank-1 updates
//     8 s .. 8 s + 7 of each chunk, and at the end the slices' partial tiles are added in workgroup memory.
//     Its C is small (a filter bank) and its K long (every output pixel of the batch), so this split of K
//     keeps 4 times as many threads busy within ONE dispatch. The sum's order is fixed, so results do not
//     depend on G.
//
// Every shape is a uniform: a new shape never builds a new pipeline. (Locals and parameters are never named
// like a global binding: wgsl_reflect would count them as a use.)

const TM = 64u;      // rows of C per workgroup
const TN = 16u;      // columns of C per workgroup
const TK = 16u;      // conv_forward, conv_backward_input: depth of one staged chunk of K
const WK = 32u;      // conv_backward_weight: depth of one staged chunk of K
const SLICE_K = 8u;  // conv_backward_weight: rank-1 updates per slice and chunk (WK / 4)

struct Conv {
  n: u32,
  in_h: u32,
  in_w: u32,
  c_in: u32,
  out_h: u32,
  out_w: u32,
  c_out: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_top: u32,
  pad_left: u32,
  has_bias: u32,  // conv_forward: 1 adds bias
  row_tiles: u32, // conv_forward, conv_backward_input: row tiles per workgroup, one after the other
}

@group(0) @binding(0) var<uniform> p: Conv;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // (G, N, H, W, Cin)
@group(0) @binding(2) var<storage, read> weight: array<f32>;   // (G, KH, KW, Cin, Cout)
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (G, Cout)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // (G, N, OH, OW, Cout)
@group(0) @binding(5) var<storage, read> dy: array<f32>;       // (G, N, OH, OW, Cout)
@group(0) @binding(6) var<storage, read_write> dx: array<f32>; // (G, N, H, W, Cin)
@group(0) @binding(7) var<storage, read_write> dw: array<f32>; // (G, KH, KW, Cin, Cout)

// The staged chunks: A at [kk * TM + mm], B at [kk * TN + nn]. conv_backward_weight has its own, deeper
// ones (slab_a is reused at its end to add the slices' partial tiles): an entry point's workgroup memory
// is zeroed at the start of every workgroup, which SwiftShader does slowly, so the kernels with many
// workgroups keep theirs small.
var<workgroup> tile_a: array<f32, 1024>; // TK * TM
var<workgroup> tile_b: array<f32, 256>;  // TK * TN
var<workgroup> slab_a: array<f32, 2048>; // WK * TM
var<workgroup> slab_b: array<f32, 512>;  // WK * TN

// The patch matrix of x at (row, col): row = (n, oh, ow) an output pixel, col = (kh, kw, ci) a tap and an
// input channel; 0 outside the image or outside the matrix (rows x cols). `base` starts weight set g in x.
fn x_patch(base: u32, row: u32, col: u32, rows: u32, cols: u32) -> f32 {
  if (row >= rows || col >= cols) { return 0.0; }
  let ci = col % p.c_in;
  let tap = col / p.c_in;
  let ow = row % p.out_w;
  let rest = row / p.out_w;
  let oh = rest % p.out_h;
  let img = rest / p.out_h;
  let ih = i32(oh * p.stride_h + tap / p.k_w) - i32(p.pad_top);
  let iw = i32(ow * p.stride_w + tap % p.k_w) - i32(p.pad_left);
  if (ih < 0 || iw < 0 || ih >= i32(p.in_h) || iw >= i32(p.in_w)) { return 0.0; }
  return x[base + ((img * p.in_h + u32(ih)) * p.in_w + u32(iw)) * p.c_in + ci];
}

// The patch matrix of dy at (row, col): row = (n, ih, iw) an input pixel, col = (kh, kw, co); the dy value
// that reaches the pixel through that tap, or 0 if none does.
fn dy_patch(base: u32, row: u32, col: u32, rows: u32, cols: u32) -> f32 {
  if (row >= rows || col >= cols) { return 0.0; }
  let co = col % p.c_out;
  let tap = col / p.c_out;
  let iw = row % p.in_w;
  let rest = row / p.in_w;
  let ih = rest % p.in_h;
  let img = rest / p.in_h;
  let th = i32(ih + p.pad_top) - i32(tap / p.k_w); // = oh * stride_h
  let tw = i32(iw + p.pad_left) - i32(tap % p.k_w);
  if (th < 0 || tw < 0) { return 0.0; }
  let oh = u32(th) / p.stride_h;
  let ow = u32(tw) / p.stride_w;
  if (oh * p.stride_h != u32(th) || ow * p.stride_w != u32(tw) || oh >= p.out_h || ow >= p.out_w) { return 0.0; }
  return dy[base + ((img * p.out_h + oh) * p.out_w + ow) * p.c_out + co];
}

// A thread's 4 x 4 block of C: row i is r<i>, its columns j the vector's components.
struct Block {
  r0: vec4f,
  r1: vec4f,
  r2: vec4f,
  r3: vec4f,
}

fn row_of(acc: Block, i: u32) -> vec4f {
  switch i {
    case 0u: { return acc.r0; }
    case 1u: { return acc.r1; }
    case 2u: { return acc.r2; }
    default: { return acc.r3; }
  }
}

// acc += a b^T: a holds the block's 4 rows of one column of A, b its 4 columns of one row of B.
fn rank1(a: vec4f, b: vec4f, acc: Block) -> Block {
  return Block(fma(vec4f(a.x), b, acc.r0), fma(vec4f(a.y), b, acc.r1), fma(vec4f(a.z), b, acc.r2),
               fma(vec4f(a.w), b, acc.r3));
}

// The TK rank-1 updates of thread t's block from the staged chunk (tile_a, tile_b).
fn multiply(t: u32, acc: Block) -> Block {
  var c = acc;
  let tx = t % 4u;
  let ty = t / 4u;
  for (var kk = 0u; kk < TK; kk++) {
    let ta = kk * TM + ty;
    let tb = kk * TN + tx;
    let av = vec4f(tile_a[ta], tile_a[ta + 16u], tile_a[ta + 32u], tile_a[ta + 48u]);
    c = rank1(av, vec4f(tile_b[tb], tile_b[tb + 4u], tile_b[tb + 8u], tile_b[tb + 12u]), c);
  }
  return c;
}

// Rank-1 updates kk = k_first .. k_first + SLICE_K - 1 of thread t's block from the slabs.
fn multiply_slab(k_first: u32, t: u32, acc: Block) -> Block {
  var c = acc;
  let tx = t % 4u;
  let ty = t / 4u;
  for (var kk = k_first; kk < k_first + SLICE_K; kk++) {
    let ta = kk * TM + ty;
    let tb = kk * TN + tx;
    let av = vec4f(slab_a[ta], slab_a[ta + 16u], slab_a[ta + 32u], slab_a[ta + 48u]);
    c = rank1(av, vec4f(slab_b[tb], slab_b[tb + 4u], slab_b[tb + 8u], slab_b[tb + 12u]), c);
  }
  return c;
}

// A partial block in slab_a from `at`: element (i, j) of thread t at at + (4 i + j) * 64 + t.
fn store_row(at: u32, v: vec4f) {
  slab_a[at] = v.x;
  slab_a[at + 64u] = v.y;
  slab_a[at + 128u] = v.z;
  slab_a[at + 192u] = v.w;
}

fn load_row(at: u32) -> vec4f {
  return vec4f(slab_a[at], slab_a[at + 64u], slab_a[at + 128u], slab_a[at + 192u]);
}

fn store_partial(at: u32, acc: Block) {
  store_row(at, acc.r0);
  store_row(at + 256u, acc.r1);
  store_row(at + 512u, acc.r2);
  store_row(at + 768u, acc.r3);
}

fn add_partial(at: u32, acc: Block) -> Block {
  return Block(acc.r0 + load_row(at), acc.r1 + load_row(at + 256u), acc.r2 + load_row(at + 512u),
               acc.r3 + load_row(at + 768u));
}

// Adds the 4 slices' partial blocks, (s0 + s2) + (s1 + s3); slice 0 returns the total. Call from uniform
// control flow, after the K loop's last barrier.
fn sum_slices(s: u32, t: u32, acc: Block) -> Block {
  var c = acc;
  if (s >= 2u) { store_partial((s - 2u) * 1024u + t, c); }
  workgroupBarrier();
  if (s < 2u) { c = add_partial(s * 1024u + t, c); }
  workgroupBarrier();
  if (s == 1u) { store_partial(t, c); }
  workgroupBarrier();
  if (s == 0u) { c = add_partial(t, c); }
  return c;
}

fn zero_block() -> Block {
  return Block(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
}

// One 64 x 16 tile of y: rows row0.., columns col0.. of weight set g.
fn forward_tile(row0: u32, col0: u32, g: u32, t: u32) {
  let rows = p.n * p.out_h * p.out_w;
  let depth = p.k_h * p.k_w * p.c_in;
  let x_base = g * p.n * p.in_h * p.in_w * p.c_in;
  let w_base = g * depth * p.c_out;
  var acc = zero_block();
  for (var k0 = 0u; k0 < depth; k0 += TK) {
    for (var l = t; l < TK * TM; l += 64u) { // k fastest: x is contiguous along ci
      let kk = l % TK;
      let mm = l / TK;
      tile_a[kk * TM + mm] = x_patch(x_base, row0 + mm, k0 + kk, rows, depth);
    }
    for (var l = t; l < TK * TN; l += 64u) { // n fastest: weight is contiguous along co
      let nn = l % TN;
      let kk = l / TN;
      var v = 0.0;
      if (k0 + kk < depth && col0 + nn < p.c_out) { v = weight[w_base + (k0 + kk) * p.c_out + col0 + nn]; }
      tile_b[kk * TN + nn] = v;
    }
    workgroupBarrier();
    acc = multiply(t, acc);
    workgroupBarrier();
  }
  let y_base = g * rows * p.c_out;
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + t / 4u + 16u * i;
    if (row >= rows) { break; }
    let v = row_of(acc, i);
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + t % 4u + 4u * j;
      if (col >= p.c_out) { break; }
      var b = 0.0;
      if (p.has_bias == 1u) { b = bias[g * p.c_out + col]; }
      y[y_base + row * p.c_out + col] = v[j] + b;
    }
  }
}

@compute @workgroup_size(64)
fn conv_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let tiles = (p.n * p.out_h * p.out_w + TM - 1u) / TM;
  let last = min((wg.x + 1u) * p.row_tiles, tiles);
  for (var rt = wg.x * p.row_tiles; rt < last; rt++) { forward_tile(rt * TM, wg.y * TN, wg.z, t); }
}

// One 64 x 16 tile of dx: rows row0.., columns col0.. of weight set g.
fn backward_input_tile(row0: u32, col0: u32, g: u32, t: u32) {
  let rows = p.n * p.in_h * p.in_w;
  let depth = p.k_h * p.k_w * p.c_out;
  let dy_base = g * p.n * p.out_h * p.out_w * p.c_out;
  let w_base = g * depth * p.c_in;
  var acc = zero_block();
  for (var k0 = 0u; k0 < depth; k0 += TK) {
    for (var l = t; l < TK * TM; l += 64u) { // k fastest: dy is contiguous along co
      let kk = l % TK;
      let mm = l / TK;
      tile_a[kk * TM + mm] = dy_patch(dy_base, row0 + mm, k0 + kk, rows, depth);
    }
    for (var l = t; l < TK * TN; l += 64u) { // k fastest: weight is contiguous along co
      let kk = l % TK;
      let nn = l / TK;
      let kg = k0 + kk; // (kh, kw, co)
      let ci = col0 + nn;
      var v = 0.0;
      if (kg < depth && ci < p.c_in) {
        v = weight[w_base + ((kg / p.c_out) * p.c_in + ci) * p.c_out + kg % p.c_out];
      }
      tile_b[kk * TN + nn] = v;
    }
    workgroupBarrier();
    acc = multiply(t, acc);
    workgroupBarrier();
  }
  let dx_base = g * rows * p.c_in;
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + t / 4u + 16u * i;
    if (row >= rows) { break; }
    let v = row_of(acc, i);
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + t % 4u + 4u * j;
      if (col >= p.c_in) { break; }
      dx[dx_base + row * p.c_in + col] = v[j];
    }
  }
}

// dx = dy (*) weight, a transposed convolution: dx[n, ih, iw, ci] = sum_{kh, kw, co} dy[...] * weight[kh, kw, ci, co]
@compute @workgroup_size(64)
fn conv_backward_input(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let tiles = (p.n * p.in_h * p.in_w + TM - 1u) / TM;
  let last = min((wg.x + 1u) * p.row_tiles, tiles);
  for (var rt = wg.x * p.row_tiles; rt < last; rt++) { backward_input_tile(rt * TM, wg.y * TN, wg.z, t); }
}

// dw = x (*) dy, a correlation: dw[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*sh - pt + kh, ow*sw - pl + kw, ci] * dy[n, oh, ow, co]
@compute @workgroup_size(256)
fn conv_backward_weight(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let s = li / 64u; // slice
  let t = li % 64u;
  let rows = p.k_h * p.k_w * p.c_in;
  let depth = p.n * p.out_h * p.out_w;
  let row0 = wg.x * TM;
  let col0 = wg.y * TN;
  let x_base = wg.z * p.n * p.in_h * p.in_w * p.c_in;
  let dy_base = wg.z * depth * p.c_out;
  var acc = zero_block();
  for (var k0 = 0u; k0 < depth; k0 += WK) {
    for (var l = li; l < WK * TM; l += 256u) { // m fastest: x is contiguous along ci
      let mm = l % TM;
      let kk = l / TM;
      slab_a[kk * TM + mm] = x_patch(x_base, k0 + kk, row0 + mm, depth, rows);
    }
    for (var l = li; l < WK * TN; l += 256u) { // n fastest: dy is contiguous along co
      let nn = l % TN;
      let kk = l / TN;
      var v = 0.0;
      if (k0 + kk < depth && col0 + nn < p.c_out) { v = dy[dy_base + (k0 + kk) * p.c_out + col0 + nn]; }
      slab_b[kk * TN + nn] = v;
    }
    workgroupBarrier();
    acc = multiply_slab(s * SLICE_K, t, acc);
    workgroupBarrier();
  }
  acc = sum_slices(s, t, acc);
  if (s != 0u) { return; }
  let dw_base = wg.z * rows * p.c_out;
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + t / 4u + 16u * i;
    if (row >= rows) { break; }
    let v = row_of(acc, i);
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + t % 4u + 4u * j;
      if (col >= p.c_out) { break; }
      dw[dw_base + row * p.c_out + col] = v[j];
    }
  }
}
