// The forward product of the 2-D convolution, and through it the input gradient (shaders/conv2d.wgsl has
// the layout kernels and the family's design; src/ops/conv-forward.ts and conv-input-grad.ts the plans):
//
//   y (N*OH*OW, Cout) = patches of xp (N*OH*OW, KH*KW*Cin) @ weight (KH*KW*Cin, Cout) (+ bias)
//
// per weight set z (the grid's z), xp the input padded by `pad`. The lanes, for SwiftShader's 4-wide SIMD
// (measured in bench/conv-sweep.ts):
//  - the 4 lanes of a group share their pixels (x values are broadcasts) and own consecutive output
//    channels (weights are consecutive words): lane l owns channels c0 + l + 4 j;
//  - each thread accumulates a block in mat4x4f registers, column r holding one pixel's 4 channels:
//    conv_forward16 16 pixels x 4 channels a lane (a group: 16 x 16), conv_forward32 8 x 8 (8 x 32);
//  - one flat loop walks k = (kh, kw, ci): a kernel row of a patch is KW*Cin contiguous words of xp and
//    the offset jumps to the next one by a select, so there is no inner loop to enter and leave; loops
//    test their condition at the end (`break if`), which saves that extra masked pass;
//  - k one at a time: stepping k 4 at a time where Cin % 4 == 0, as matmul_vec4 does (a pixel's next 4 k
//    values one vec4 of xp, the weights of those 4 k a mat4x4f, each block of 4 pixels gaining that
//    matrix times the pixels' vec4s: a quarter of the loop and address arithmetic), was no faster on
//    SwiftShader at layer 2's shapes (measured side by side in bench/conv-sweep.ts, 2026-11-30), so the
//    lanes keep one k a step;
//  - a thread does `tiles_per_thread` tiles of consecutive pixels one after the other (its columns, their
//    bias and the pixel walk carried from tile to tile): fewer, longer threads on a CPU, 1 or 2 on a GPU,
//    where many short ones fill the machine.
//
// (Locals and parameters are never named like a global binding: wgsl_reflect would count them as a use.)
// From shaders/prelude.wgsl: flat_index.

struct Forward {
  n: u32,          // images per weight set
  out_h: u32,      // output rows and columns
  out_w: u32,
  c_in: u32,       // channels of xp
  c_out: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,      // rows and columns of xp
  pad_w: u32,
  has_bias: u32,   // 1 adds bias
  col_tiles: u32,  // output channels / channels a tile holds, rounded up
  tiles: u32,      // pixel tiles per weight set
  tiles_per_thread: u32,
}

@group(0) @binding(0) var<uniform> p: Forward;
@group(0) @binding(1) var<storage, read> xp: array<f32>;       // (G, N, PH, PW, Cin)
@group(0) @binding(2) var<storage, read> weight: array<f32>;   // (G, KH, KW, Cin, Cout)
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (G, Cout)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // (G, N, OH, OW, Cout)

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

