// 2-D convolution of NHWC activations with HWIO weights, for G independent weight sets at once (G is the
// grid's z): the forward, and the input, weight and bias gradients (the dispatch order: src/ops/conv.ts).
// Per weight set g, with x (N, H, W, Cin), weight (KH, KW, Cin, Cout), y and dy (N, OH, OW, Cout):
//
//   y[n, oh, ow, co] = bias[co] + sum_{kh, kw, ci} x[n, oh*sh - pt + kh, ow*sw - pl + kw, ci] * weight[kh, kw, ci, co]
//
// where x is 0 outside the image. `pad` first copies x into xp with those zeros in place, (N, PH, PW, Cin)
// with PH = (OH-1)*sh + KH rows, so that no inner loop tests a bound. Each kernel is then a matrix product
// whose patch matrix is read from xp by index arithmetic, never stored (implicit GEMM):
//
//   conv_forward16/32  y  (N*OH*OW, Cout)    = patches of xp (N*OH*OW, KH*KW*Cin)   @ weight (KH*KW*Cin, Cout)
//   conv_weight_grad   dw (KH*KW*Cin, Cout)  = patches of xp^T (KH*KW*Cin, N*OH*OW) @ dy (N*OH*OW, Cout)
//
// The input gradient is a forward convolution as well, with stride 1 (src/ops/conv.ts):
//
//   dx[n, ih, iw, ci] = sum_{kh, kw, co} dyp[n, ih + kh, iw + kw, co] * wt[kh, kw, co, ci]
//
// where dyp is dy dilated by the stride and padded (`pad`, or `pad_dilated` for a stride above 1: dy[oh, ow]
// lands at row KH-1-pt + oh*sh) and wt = `flip` of the weights (kh, kw reversed, Cin and Cout swapped).
//
// Design. These kernels read storage straight, with no workgroup memory and no barrier (as matmul_regs),
// which is what CPU implementations of WebGPU run best; bench/conv-sweep.ts measured the choices below on
// SwiftShader. SwiftShader runs 4 consecutive invocations as one SIMD vector: a load is one instruction
// when the 4 lanes read the same word (a broadcast) or 4 consecutive words, and 4 otherwise; it runs both
// sides of every `if` under a lane mask, and a loop's body once more than its trip count. So:
//  - the 4 lanes of a group share their pixels (x values are broadcasts) and own consecutive output
//    channels (weights are consecutive words): lane l owns channels c0 + l + 4 j;
//  - each thread accumulates a block in mat4x4f registers, column r holding one pixel's 4 channels:
//    conv_forward16 16 pixels x 4 channels a lane (a group: 16 x 16), conv_forward32 8 x 8 (8 x 32);
//  - one flat loop walks k = (kh, kw, ci): a kernel row of a patch is KW*Cin contiguous words of xp and
//    the offset jumps to the next one by a select, so there is no inner loop to enter and leave; loops
//    test their condition at the end (`break if`), which saves that extra masked pass;
//  - a thread does `tiles_per_thread` tiles of consecutive pixels one after the other (its columns, their
//    bias and the pixel walk carried from tile to tile): fewer, longer threads on a CPU, 1 or 2 on a GPU,
//    where many short ones fill the machine;
//  - conv_weight_grad puts the lanes on rows of dw instead: lane l owns rows r0 + l + 4 i (consecutive
//    channels of one tap: consecutive words of xp) and every thread 16 columns (broadcasts of dy). Its K
//    (every output pixel) is long and its output small, so K is split into `splits` runs of `chunk` output
//    rows, each summed by its own threads; `sum_splits` adds the runs in a fixed order (the split depends on
//    the shapes of one weight set only, so results do not depend on G). `bias_grad` sums dy the same way.
//
// Every shape is a uniform: a new shape never builds a new pipeline. (Locals and parameters are never named
// like a global binding: wgsl_reflect would count them as a use.)

struct Conv {
  n: u32,          // images per weight set
  in_h: u32,       // pad: the source (x, or dy for the input gradient)
  in_w: u32,
  c_in: u32,       // channels of the source and of xp; flip: Cin of the weights
  out_h: u32,      // output rows and columns (forward, weight gradient)
  out_w: u32,
  c_out: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,      // rows and columns of xp
  pad_w: u32,
  before_h: u32,   // pad: zero rows and columns before the first source row and column
  before_w: u32,
  dil_h: u32,      // pad_dilated: source rows land every dil_h rows
  dil_w: u32,
  has_bias: u32,   // forward: 1 adds bias
  col_tiles: u32,  // output channels / channels a tile holds, rounded up
  tiles: u32,      // forward: pixel tiles per weight set; weight gradient: rows of dw / 32, rounded up
  tiles_per_thread: u32,
  chunk: u32,      // weight gradient: output rows (image, oh) a split sums
  splits: u32,     // weight gradient: splits of K; sum_splits: terms per output
  size: u32,       // pad, flip, sum_splits: output elements per weight set
}

@group(0) @binding(0) var<uniform> p: Conv;
@group(0) @binding(1) var<storage, read> src: array<f32>;        // pad, flip, sum_splits
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;  // pad, flip, sum_splits
@group(0) @binding(3) var<storage, read> xp: array<f32>;         // (G, N, PH, PW, Cin)
@group(0) @binding(4) var<storage, read> weight: array<f32>;     // (G, KH, KW, Cin, Cout)
@group(0) @binding(5) var<storage, read> bias: array<f32>;       // (G, Cout)
@group(0) @binding(6) var<storage, read_write> y: array<f32>;    // (G, N, OH, OW, Cout)
@group(0) @binding(7) var<storage, read> dy: array<f32>;         // (G, N, OH, OW, Cout)
@group(0) @binding(8) var<storage, read_write> part: array<f32>; // (G, splits, KH*KW*Cin or 1, Cout)

// ---- data movement: pad, flip, sum_splits ------------------------------------------------------------

// dst (N, PH, PW, C) of weight set z = src (N, H, W, C) after before_h rows and before_w columns of zeros,
// zeros after. Four lanes copy one row of dst, 4 consecutive words at a time: no division per element.
@compute @workgroup_size(64)
fn pad(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
       @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  let row = t / 4u; // (image, h) of dst
  if (row >= p.n * p.pad_h) { return; }
  let len = p.pad_w * p.c_in;
  let ih = i32(row % p.pad_h) - i32(p.before_h);
  let img = row / p.pad_h;
  let row_ok = ih >= 0 && ih < i32(p.in_h);
  let lo = p.before_w * p.c_in; // dst words [lo, hi) of the row come from the source row
  let hi = lo + p.in_w * p.c_in;
  let src_row = wg.z * p.n * p.in_h * p.in_w * p.c_in + (img * p.in_h + u32(max(ih, 0))) * p.in_w * p.c_in;
  let to = (wg.z * p.n * p.pad_h + row) * len;
  for (var e = t % 4u; e < len; e += 4u) {
    let inside = row_ok && e >= lo && e < hi;
    dst[to + e] = select(0.0, src[select(0u, src_row + e - lo, inside)], inside);
  }
}

// pad with the source dilated: src[ih, iw] lands at dst[before_h + ih*dil_h, before_w + iw*dil_w] and every
// other word is 0 (dy of a strided convolution, for the input gradient).
@compute @workgroup_size(64)
fn pad_dilated(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.size) { return; }
  let c = i % p.c_in;
  let j = (i / p.c_in) % p.pad_w;
  let h = (i / p.c_in / p.pad_w) % p.pad_h;
  let img = i / p.c_in / p.pad_w / p.pad_h;
  let a = i32(h) - i32(p.before_h);
  let b = i32(j) - i32(p.before_w);
  let ih = u32(max(a, 0)) / p.dil_h;
  let iw = u32(max(b, 0)) / p.dil_w;
  let inside = a >= 0 && b >= 0 && ih * p.dil_h == u32(a) && iw * p.dil_w == u32(b) && ih < p.in_h && iw < p.in_w;
  let at = ((wg.z * p.n + img) * p.in_h + ih) * p.in_w * p.c_in + iw * p.c_in + c;
  dst[wg.z * p.size + i] = select(0.0, src[select(0u, at, inside)], inside);
}

// dst (KH, KW, Cout, Cin) [kh, kw, co, ci] = src (KH, KW, Cin, Cout) [KH-1-kh, KW-1-kw, ci, co]
@compute @workgroup_size(64)
fn flip(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.size) { return; }
  let ci = i % p.c_in;
  let co = (i / p.c_in) % p.c_out;
  let tap = i / p.c_in / p.c_out; // kh * KW + kw
  let flipped = p.k_h * p.k_w - 1u - tap;
  dst[wg.z * p.size + i] = src[wg.z * p.size + (flipped * p.c_in + ci) * p.c_out + co];
}

// dst[z, e] = sum over s in order of src[z, s, e]: the splits of the weight or the bias gradient
@compute @workgroup_size(64)
fn sum_splits(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let e = flat_index(wg, nwg, li);
  if (e >= p.size) { return; }
  var at = wg.z * p.splits * p.size + e;
  var acc = 0.0;
  for (var s = 0u; s < p.splits; s++) {
    acc += src[at];
    at += p.size;
  }
  dst[wg.z * p.size + e] = acc;
}

// ---- shared by the kernels ---------------------------------------------------------------------------

// acc + a b^T: column r of the block gains a[r] * b.
fn rank1(acc: mat4x4f, a: vec4f, b: vec4f) -> mat4x4f {
  return mat4x4f(fma(vec4f(a.x), b, acc[0]), fma(vec4f(a.y), b, acc[1]), fma(vec4f(a.z), b, acc[2]),
                 fma(vec4f(a.w), b, acc[3]));
}

// xp at 4 offsets
fn xp4(at: vec4u) -> vec4f {
  return vec4f(xp[at.x], xp[at.y], xp[at.z], xp[at.w]);
}

// The weights of one k at 4 columns (`row`: the offset of row k of the (K, Cout) weight matrix).
fn weight4(row: u32, cols: vec4u) -> vec4f {
  return vec4f(weight[row + cols.x], weight[row + cols.y], weight[row + cols.z], weight[row + cols.w]);
}

// Output pixels walked in order without a division: image, row and column of the next one.
struct Walk {
  img: u32,
  oh: u32,
  ow: u32,
}

fn walk_from(pixel: u32) -> Walk {
  return Walk(pixel / p.out_w / p.out_h, (pixel / p.out_w) % p.out_h, pixel % p.out_w);
}

// The offset in xp (weight set at xp_base) of the next pixel's patch, and a step to the pixel after it.
// Past the last image it repeats an in-bounds one (those outputs are never stored).
fn patch_next(w: ptr<function, Walk>, xp_base: u32) -> u32 {
  let at = xp_base + ((min((*w).img, p.n - 1u) * p.pad_h + (*w).oh * p.stride_h) * p.pad_w +
                      (*w).ow * p.stride_w) * p.c_in;
  let ow = (*w).ow + 1u;
  let wrap = ow == p.out_w;
  let oh = select((*w).oh, (*w).oh + 1u, wrap);
  let wrap_img = oh == p.out_h;
  *w = Walk(select((*w).img, (*w).img + 1u, wrap_img), select(oh, 0u, wrap_img), select(ow, 0u, wrap));
  return at;
}

// The patch offsets of the next 4 pixels.
fn patch_quad(w: ptr<function, Walk>, xp_base: u32) -> vec4u {
  let a = patch_next(w, xp_base);
  let b = patch_next(w, xp_base);
  let c = patch_next(w, xp_base);
  return vec4u(a, b, c, patch_next(w, xp_base));
}

// Stores a pixel's 4 channels `cols` (v + the bias b) where inside y. `at`: the pixel's offset in y.
fn store_pixel(at: u32, ok: bool, cols: vec4u, v: vec4f) {
  if (ok) {
    if (cols.x < p.c_out) { y[at + cols.x] = v.x; }
    if (cols.y < p.c_out) { y[at + cols.y] = v.y; }
    if (cols.z < p.c_out) { y[at + cols.z] = v.z; }
    if (cols.w < p.c_out) { y[at + cols.w] = v.w; }
  }
}

// Stores 4 pixels from `pixel` (a block, column r: pixel + r) plus the bias b.
fn store_quad(y_base: u32, pixel: u32, rows: u32, cols: vec4u, acc: mat4x4f, b: vec4f) {
  store_pixel(y_base + pixel * p.c_out, pixel < rows, cols, acc[0] + b);
  store_pixel(y_base + (pixel + 1u) * p.c_out, pixel + 1u < rows, cols, acc[1] + b);
  store_pixel(y_base + (pixel + 2u) * p.c_out, pixel + 2u < rows, cols, acc[2] + b);
  store_pixel(y_base + (pixel + 3u) * p.c_out, pixel + 3u < rows, cols, acc[3] + b);
}

// The bias at 4 columns, or 0 without one.
fn bias4(g: u32, cols: vec4u) -> vec4f {
  let at = g * p.c_out;
  let b = vec4f(bias[at + cols.x], bias[at + cols.y], bias[at + cols.z], bias[at + cols.w]);
  return select(vec4f(0.0), b, p.has_bias == 1u);
}

// The k loop of the forward kernels walks (kh, j), j along a kernel row of a patch (KW*Cin contiguous
// words of xp): `xo + j` is k's offset from a patch's start, `wo` the offset of row k of the weights.
struct KStep {
  xo: u32,
  j: u32,
  wo: u32,
}

fn k_next(s: KStep) -> KStep {
  let j = s.j + 1u;
  let wrap = j == p.k_w * p.c_in;
  return KStep(select(s.xo, s.xo + p.pad_w * p.c_in, wrap), select(j, 0u, wrap), s.wo + p.c_out);
}

// ---- the forward (and the input gradient) --------------------------------------------------------------

// 4 output channels of a lane: their columns of y (`cols`; past the last: never stored), the columns
// their weights are read from (`wcols`: past the last, the last), and their bias (`shift`).
struct Columns {
  cols: vec4u,
  wcols: vec4u,
  shift: vec4f,
}

fn columns(co: u32, g: u32) -> Columns {
  let cols = vec4u(co, co + 4u, co + 8u, co + 12u);
  let wcols = min(cols, vec4u(p.c_out - 1u));
  return Columns(cols, wcols, bias4(g, wcols));
}

// A tile of 16 pixels from `pixel` (its patches walked on from `walk`) x this lane's 4 channels, in 4
// blocks of 4 pixels.
fn forward16_tile(pixel: u32, walk: ptr<function, Walk>, c: Columns, xp_base: u32, g: u32) {
  let x0 = patch_quad(walk, xp_base);
  let x1 = patch_quad(walk, xp_base);
  let x2 = patch_quad(walk, xp_base);
  let x3 = patch_quad(walk, xp_base);
  var acc0 = mat4x4f();
  var acc1 = mat4x4f();
  var acc2 = mat4x4f();
  var acc3 = mat4x4f();
  let depth = p.k_h * p.k_w * p.c_in;
  var s = KStep(0u, 0u, g * depth * p.c_out);
  var k = 0u;
  loop { // depth >= 1
    let off = s.xo + s.j;
    let b = weight4(s.wo, c.wcols);
    acc0 = rank1(acc0, xp4(x0 + off), b);
    acc1 = rank1(acc1, xp4(x1 + off), b);
    acc2 = rank1(acc2, xp4(x2 + off), b);
    acc3 = rank1(acc3, xp4(x3 + off), b);
    s = k_next(s);
    continuing {
      k++;
      break if k >= depth;
    }
  }
  let rows = p.n * p.out_h * p.out_w;
  let y_base = g * rows * p.c_out;
  store_quad(y_base, pixel, rows, c.cols, acc0, c.shift);
  store_quad(y_base, pixel + 4u, rows, c.cols, acc1, c.shift);
  store_quad(y_base, pixel + 8u, rows, c.cols, acc2, c.shift);
  store_quad(y_base, pixel + 12u, rows, c.cols, acc3, c.shift);
}

// A tile of 8 pixels x this lane's 8 channels (lo: c0 + lane + 4 j, j < 4; hi: 4 <= j < 8).
fn forward32_tile(pixel: u32, walk: ptr<function, Walk>, lo: Columns, hi: Columns, xp_base: u32, g: u32) {
  let x0 = patch_quad(walk, xp_base);
  let x1 = patch_quad(walk, xp_base);
  var acc0_lo = mat4x4f();
  var acc0_hi = mat4x4f();
  var acc1_lo = mat4x4f();
  var acc1_hi = mat4x4f();
  let depth = p.k_h * p.k_w * p.c_in;
  var s = KStep(0u, 0u, g * depth * p.c_out);
  var k = 0u;
  loop { // depth >= 1
    let off = s.xo + s.j;
    let b_lo = weight4(s.wo, lo.wcols);
    let b_hi = weight4(s.wo, hi.wcols);
    let a0 = xp4(x0 + off);
    acc0_lo = rank1(acc0_lo, a0, b_lo);
    acc0_hi = rank1(acc0_hi, a0, b_hi);
    let a1 = xp4(x1 + off);
    acc1_lo = rank1(acc1_lo, a1, b_lo);
    acc1_hi = rank1(acc1_hi, a1, b_hi);
    s = k_next(s);
    continuing {
      k++;
      break if k >= depth;
    }
  }
  let rows = p.n * p.out_h * p.out_w;
  let y_base = g * rows * p.c_out;
  store_quad(y_base, pixel, rows, lo.cols, acc0_lo, lo.shift);
  store_quad(y_base, pixel, rows, hi.cols, acc0_hi, hi.shift);
  store_quad(y_base, pixel + 4u, rows, lo.cols, acc1_lo, lo.shift);
  store_quad(y_base, pixel + 4u, rows, hi.cols, acc1_hi, hi.shift);
}

// The run of pixel tiles a group of 4 lanes does, [first, last), and its column tile: t / 4 =
// run * col_tiles + column tile. `tiles`: pixel tiles per weight set.
fn tile_run(t: u32) -> vec3u {
  let q = t / 4u;
  let first = (q / p.col_tiles) * p.tiles_per_thread;
  return vec3u(first, min(first + p.tiles_per_thread, p.tiles), q % p.col_tiles);
}

// y = xp (*) weight + bias: tiles of 16 pixels x 16 channels (for Cout <= 16)
@compute @workgroup_size(64)
fn conv_forward16(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  let run = tile_run(t);
  if (run.x >= run.y) { return; }
  let g = wg.z;
  let c = columns(run.z * 16u + t % 4u, g);
  let xp_base = g * p.n * p.pad_h * p.pad_w * p.c_in;
  var tile = run.x;
  var walk = walk_from(tile * 16u); // the tiles of a run are consecutive: the walk goes on
  loop {
    forward16_tile(tile * 16u, &walk, c, xp_base, g);
    continuing {
      tile++;
      break if tile >= run.y;
    }
  }
}

// y = xp (*) weight + bias: tiles of 8 pixels x 32 channels (for Cout > 16)
@compute @workgroup_size(64)
fn conv_forward32(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  let run = tile_run(t);
  if (run.x >= run.y) { return; }
  let g = wg.z;
  let co = run.z * 32u + t % 4u;
  let lo = columns(co, g);
  let hi = columns(co + 16u, g);
  let xp_base = g * p.n * p.pad_h * p.pad_w * p.c_in;
  var tile = run.x;
  var walk = walk_from(tile * 8u);
  loop {
    forward32_tile(tile * 8u, &walk, lo, hi, xp_base, g);
    continuing {
      tile++;
      break if tile >= run.y;
    }
  }
}

// ---- the weight gradient -----------------------------------------------------------------------------

// The offset from a patch's start in xp of row `row` = (kh, kw, ci) of dw.
fn patch_offset(row: u32) -> u32 {
  let tap = row / p.c_in;
  return ((tap / p.k_w) * p.pad_w + tap % p.k_w) * p.c_in + row % p.c_in;
}

// dy at 4 columns of one pixel (`at`: the pixel's offset in dy)
fn dy4(at: u32, cols: vec4u) -> vec4f {
  return vec4f(dy[at + cols.x], dy[at + cols.y], dy[at + cols.z], dy[at + cols.w]);
}

// Stores a block (column r: row rows[r]; its 4 columns cols) of the partial sums where inside dw.
fn store_part(base: u32, rows: vec4u, n_rows: u32, cols: vec4u, acc: mat4x4f) {
  for (var r = 0u; r < 4u; r++) {
    if (rows[r] < n_rows) {
      let at = base + rows[r] * p.c_out;
      let v = acc[r];
      if (cols.x < p.c_out) { part[at + cols.x] = v.x; }
      if (cols.y < p.c_out) { part[at + cols.y] = v.y; }
      if (cols.z < p.c_out) { part[at + cols.z] = v.z; }
      if (cols.w < p.c_out) { part[at + cols.w] = v.w; }
    }
  }
}

// dw = xp (*) dy, a correlation: dw[kh, kw, ci, co] = sum_{n, oh, ow} xp[n, oh*sh + kh, ow*sw + kw, ci] * dy[n, oh, ow, co],
// the sum over the output rows of one split. A group of 4 lanes owns 32 rows x 16 columns of dw: lane l
// rows r0 + l + 4 i (i < 8, in two blocks of 4), columns c0 .. c0 + 15 (in 4 blocks of 4).
@compute @workgroup_size(64)
fn conv_weight_grad(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  let q = t / 4u; // the group: (split, row tile, column tile)
  let split = q / p.col_tiles / p.tiles;
  if (split >= p.splits) { return; }
  let g = wg.z;
  let n_rows = p.k_h * p.k_w * p.c_in;
  let r0 = ((q / p.col_tiles) % p.tiles) * 32u + t % 4u;
  let rows_lo = vec4u(r0, r0 + 4u, r0 + 8u, r0 + 12u);
  let rows_hi = rows_lo + 16u;
  let last = vec4u(n_rows - 1u); // rows past the last read the last one (never stored)
  let lo = min(rows_lo, last);
  let hi = min(rows_hi, last);
  let off_lo = vec4u(patch_offset(lo.x), patch_offset(lo.y), patch_offset(lo.z), patch_offset(lo.w));
  let off_hi = vec4u(patch_offset(hi.x), patch_offset(hi.y), patch_offset(hi.z), patch_offset(hi.w));
  let c0 = (q % p.col_tiles) * 16u;
  let c_last = vec4u(p.c_out - 1u);
  let cols0 = vec4u(c0, c0 + 1u, c0 + 2u, c0 + 3u);
  let d0 = min(cols0, c_last);
  let d1 = min(cols0 + 4u, c_last);
  let d2 = min(cols0 + 8u, c_last);
  let d3 = min(cols0 + 12u, c_last);
  var lo0 = mat4x4f();
  var lo1 = mat4x4f();
  var lo2 = mat4x4f();
  var lo3 = mat4x4f();
  var hi0 = mat4x4f();
  var hi1 = mat4x4f();
  var hi2 = mat4x4f();
  var hi3 = mat4x4f();
  // the output pixels of this split, walked one at a time: xb the patch's offset in xp, db dy's
  let line0 = split * p.chunk; // first output row (image, oh)
  let count = (min(line0 + p.chunk, p.n * p.out_h) - line0) * p.out_w;
  let xrow = p.pad_w * p.c_in;
  let xstep = p.stride_w * p.c_in;
  let row_jump = p.stride_h * xrow - p.out_w * xstep; // to the next output row (u32 arithmetic wraps)
  let img_jump = (p.pad_h - p.out_h * p.stride_h) * xrow; // and on to the next image
  var oh = line0 % p.out_h;
  var ow = 0u;
  var xb = g * p.n * p.pad_h * xrow + ((line0 / p.out_h) * p.pad_h + oh * p.stride_h) * xrow;
  var db = (g * p.n * p.out_h + line0) * p.out_w * p.c_out;
  var k = 0u;
  loop { // count >= 1
    let a_lo = xp4(xb + off_lo);
    let a_hi = xp4(xb + off_hi);
    let b0 = dy4(db, d0);
    lo0 = rank1(lo0, a_lo, b0);
    hi0 = rank1(hi0, a_hi, b0);
    let b1 = dy4(db, d1);
    lo1 = rank1(lo1, a_lo, b1);
    hi1 = rank1(hi1, a_hi, b1);
    let b2 = dy4(db, d2);
    lo2 = rank1(lo2, a_lo, b2);
    hi2 = rank1(hi2, a_hi, b2);
    let b3 = dy4(db, d3);
    lo3 = rank1(lo3, a_lo, b3);
    hi3 = rank1(hi3, a_hi, b3);
    xb += xstep;
    db += p.c_out;
    ow += 1u;
    let wrap = ow == p.out_w;
    ow = select(ow, 0u, wrap);
    oh = select(oh, oh + 1u, wrap);
    xb = select(xb, xb + row_jump, wrap);
    let wrap_img = oh == p.out_h;
    oh = select(oh, 0u, wrap_img);
    xb = select(xb, xb + img_jump, wrap_img);
    continuing {
      k++;
      break if k >= count;
    }
  }
  let base = (g * p.splits + split) * n_rows * p.c_out;
  store_part(base, rows_lo, n_rows, cols0, lo0);
  store_part(base, rows_lo, n_rows, cols0 + 4u, lo1);
  store_part(base, rows_lo, n_rows, cols0 + 8u, lo2);
  store_part(base, rows_lo, n_rows, cols0 + 12u, lo3);
  store_part(base, rows_hi, n_rows, cols0, hi0);
  store_part(base, rows_hi, n_rows, cols0 + 4u, hi1);
  store_part(base, rows_hi, n_rows, cols0 + 8u, hi2);
  store_part(base, rows_hi, n_rows, cols0 + 12u, hi3);
}

// ---- the bias gradient -------------------------------------------------------------------------------

// db = sum of dy over the output pixels of one split (the same splits as conv_weight_grad; sum_splits
// adds them): part[g, split, co]. Lane l of a group of 4 owns columns c0 + l + 4 j (j < 4).
@compute @workgroup_size(64)
fn bias_grad(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  let q = t / 4u; // the group: (split, column tile)
  let split = q / p.col_tiles;
  if (split >= p.splits) { return; }
  let co = (q % p.col_tiles) * 16u + t % 4u;
  let cols = vec4u(co, co + 4u, co + 8u, co + 12u);
  let d = min(cols, vec4u(p.c_out - 1u));
  let line0 = split * p.chunk;
  let count = (min(line0 + p.chunk, p.n * p.out_h) - line0) * p.out_w;
  var at = (wg.z * p.n * p.out_h + line0) * p.out_w * p.c_out;
  var acc = vec4f();
  for (var k = 0u; k < count; k++) {
    acc += dy4(at, d);
    at += p.c_out;
  }
  let base = (wg.z * p.splits + split) * p.c_out;
  if (cols.x < p.c_out) { part[base + cols.x] = acc.x; }
  if (cols.y < p.c_out) { part[base + cols.y] = acc.y; }
  if (cols.z < p.c_out) { part[base + cols.z] = acc.z; }
  if (cols.w < p.c_out) { part[base + cols.w] = acc.w; }
}
