// The weight and bias gradients of the 2-D convolution (shaders/conv2d.wgsl has the layout kernels and
// the family's design; src/ops/conv-weight-grad.ts the plan):
//
//   dw (KH*KW*Cin, Cout) = patches of xp^T (KH*KW*Cin, N*OH*OW) @ dy (N*OH*OW, Cout)
//
// per weight set z (the grid's z), over the output rows of one split: part[z, split] (sum_splits adds the
// splits in order). The lanes, for SwiftShader's 4-wide SIMD (measured in bench/conv-sweep.ts): lane l of
// a group of 4 owns rows r0 + l + 4 i of dw (consecutive channels of one tap: consecutive words of xp) and
// every thread 16 columns (broadcasts of dy), in mat4x4f blocks (column r: one row's 4 columns).
// `bias_grad` sums dy over the same splits.
//
// (Locals and parameters are never named like a global binding: wgsl_reflect would count them as a use.)
// From shaders/prelude.wgsl: flat_index.

struct WeightGrad {
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
  col_tiles: u32,  // output channels / 16, rounded up
  tiles: u32,      // rows of dw / 32, rounded up
  chunk: u32,      // output rows (image, oh) a split sums
  splits: u32,     // splits of K
}

@group(0) @binding(0) var<uniform> p: WeightGrad;
@group(0) @binding(1) var<storage, read> xp: array<f32>;         // (G, N, PH, PW, Cin)
@group(0) @binding(2) var<storage, read> dy: array<f32>;         // (G, N, OH, OW, Cout)
@group(0) @binding(3) var<storage, read_write> part: array<f32>; // (G, splits, KH*KW*Cin or 1, Cout)

// acc + a b^T: column r of the block gains a[r] * b.
fn rank1(acc: mat4x4f, a: vec4f, b: vec4f) -> mat4x4f {
  return mat4x4f(fma(vec4f(a.x), b, acc[0]), fma(vec4f(a.y), b, acc[1]), fma(vec4f(a.z), b, acc[2]),
                 fma(vec4f(a.w), b, acc[3]));
}

// xp at 4 offsets
fn xp4(at: vec4u) -> vec4f {
  return vec4f(xp[at.x], xp[at.y], xp[at.z], xp[at.w]);
}

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

// Stores 4 blocks of one thread (rows `rows`, columns cols0 + 4 b of block b) of the partial sums.
fn store_rows(base: u32, rows: vec4u, n_rows: u32, cols0: vec4u, b0: mat4x4f, b1: mat4x4f, b2: mat4x4f,
              b3: mat4x4f) {
  store_part(base, rows, n_rows, cols0, b0);
  store_part(base, rows, n_rows, cols0 + 4u, b1);
  store_part(base, rows, n_rows, cols0 + 8u, b2);
  store_part(base, rows, n_rows, cols0 + 12u, b3);
}

// The patch offsets of 4 rows of dw (rows past the last read the last one: never stored).
fn patch_offsets(rows: vec4u, n_rows: u32) -> vec4u {
  let r = min(rows, vec4u(n_rows - 1u));
  return vec4u(patch_offset(r.x), patch_offset(r.y), patch_offset(r.z), patch_offset(r.w));
}

// The output pixels of a split, walked one at a time without a division: `xb` the patch's offset in xp,
// (oh, ow) the pixel. `jumps`: to the next pixel, from a row's end to the next row (u32 arithmetic wraps),
// from an image's end to the next image.
struct PixelWalk {
  xb: u32,
  oh: u32,
  ow: u32,
}

fn walk_jumps() -> vec3u {
  let xrow = p.pad_w * p.c_in;
  let xstep = p.stride_w * p.c_in;
  return vec3u(xstep, p.stride_h * xrow - p.out_w * xstep, (p.pad_h - p.out_h * p.stride_h) * xrow);
}

fn walk_start(g: u32, line0: u32) -> PixelWalk {
  let xrow = p.pad_w * p.c_in;
  let oh = line0 % p.out_h;
  return PixelWalk(g * p.n * p.pad_h * xrow + ((line0 / p.out_h) * p.pad_h + oh * p.stride_h) * xrow, oh, 0u);
}

fn walk_step(w: PixelWalk, jumps: vec3u) -> PixelWalk {
  var xb = w.xb + jumps.x;
  let ow = w.ow + 1u;
  let wrap = ow == p.out_w;
  var oh = select(w.oh, w.oh + 1u, wrap);
  xb = select(xb, xb + jumps.y, wrap);
  let wrap_img = oh == p.out_h;
  xb = select(xb, xb + jumps.z, wrap_img);
  return PixelWalk(xb, select(oh, 0u, wrap_img), select(ow, 0u, wrap));
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
  let off_lo = patch_offsets(rows_lo, n_rows);
  let off_hi = patch_offsets(rows_hi, n_rows);
  let c0 = (q % p.col_tiles) * 16u;
  let c_last = vec4u(p.c_out - 1u);
  let cols0 = vec4u(c0, c0 + 1u, c0 + 2u, c0 + 3u);
  let d0 = min(cols0, c_last);
  let d1 = min(cols0 + 4u, c_last);
  let d2 = min(cols0 + 8u, c_last);
  let d3 = min(cols0 + 12u, c_last);
  var lo0 = mat4x4f(); var lo1 = mat4x4f(); var lo2 = mat4x4f(); var lo3 = mat4x4f();
  var hi0 = mat4x4f(); var hi1 = mat4x4f(); var hi2 = mat4x4f(); var hi3 = mat4x4f();
  let line0 = split * p.chunk; // first output row (image, oh)
  let count = (min(line0 + p.chunk, p.n * p.out_h) - line0) * p.out_w;
  let jumps = walk_jumps();
  var w = walk_start(g, line0);
  var db = (g * p.n * p.out_h + line0) * p.out_w * p.c_out; // the pixel's offset in dy
  var k = 0u;
  loop { // count >= 1
    let a_lo = xp4(w.xb + off_lo);
    let a_hi = xp4(w.xb + off_hi);
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
    w = walk_step(w, jumps);
    db += p.c_out;
    continuing {
      k++;
      break if k >= count;
    }
  }
  let base = (g * p.splits + split) * n_rows * p.c_out;
  store_rows(base, rows_lo, n_rows, cols0, lo0, lo1, lo2, lo3);
  store_rows(base, rows_hi, n_rows, cols0, hi0, hi1, hi2, hi3);
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
