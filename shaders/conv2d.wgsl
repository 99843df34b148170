// 2-D convolution of NHWC activations with HWIO weights, for G independent weight sets at once (G is the
// grid's z): the layout kernels every product reads through, and the design of the family. The products
// are in shaders/conv2d-forward.wgsl (the forward and the input gradient) and
// shaders/conv2d-weight-grad.wgsl (the weight and bias gradients); the dispatch order is in
// src/ops/conv.ts and the files it names. Per weight set g, with x (N, H, W, Cin), weight
// (KH, KW, Cin, Cout), y and dy (N, OH, OW, Cout):
//
//   y[n, oh, ow, co] = bias[co] + sum_{kh, kw, ci} x[n, oh*sh - pt + kh, ow*sw - pl + kw, ci] * weight[kh, kw, ci, co]
//
// where x is 0 outside the image. `pad` first copies x into xp with those zeros in place, (N, PH, PW, Cin)
// with PH = (OH-1)*sh + KH rows, so that no inner loop tests a bound. Each product is then a matrix product
// whose patch matrix is read from xp by index arithmetic, never stored (implicit GEMM):
//
//   conv_forward16/32  y  (N*OH*OW, Cout)    = patches of xp (N*OH*OW, KH*KW*Cin)   @ weight (KH*KW*Cin, Cout)
//   conv_weight_grad   dw (KH*KW*Cin, Cout)  = patches of xp^T (KH*KW*Cin, N*OH*OW) @ dy (N*OH*OW, Cout)
//
// The input gradient is a forward convolution as well, with stride 1 (src/ops/conv-input-grad.ts):
//
//   dx[n, ih, iw, ci] = sum_{kh, kw, co} dyp[n, ih + kh, iw + kw, co] * wt[kh, kw, co, ci]
//
// where dyp is dy dilated by the stride and padded (`pad`, or `pad_dilated` for a stride above 1: dy[oh, ow]
// lands at row KH-1-pt + oh*sh) and wt = `flip` of the weights (kh, kw reversed, Cin and Cout swapped).
// The weight gradient's K (every output pixel) is long and its output small, so K is split into runs of
// output rows, each summed by its own threads, and `sum_splits` adds the runs in a fixed order (the split
// depends on the shapes of one weight set only, so results do not depend on G).
//
// Design. The products read storage straight, with no workgroup memory and no barrier (as matmul_regs),
// which is what CPU implementations of WebGPU run best; bench/conv-sweep.ts measured the choices on
// SwiftShader. SwiftShader runs 4 consecutive invocations as one SIMD vector: a load is one instruction
// when the 4 lanes read the same word (a broadcast) or 4 consecutive words, and 4 otherwise; it runs both
// sides of every `if` under a lane mask, and a loop's body once more than its trip count. Each product's
// file says how its lanes are laid out for that.
//
// Every shape is a uniform: a new shape never builds a new pipeline. (Locals and parameters are never named
// like a global binding: wgsl_reflect would count them as a use.)
// From shaders/prelude.wgsl: flat_index.

struct Layout {
  n: u32,          // images per weight set
  in_h: u32,       // pad: the source (x, or dy for the input gradient)
  in_w: u32,
  c_in: u32,       // channels of the source and of the output; flip: Cin of the weights
  c_out: u32,      // flip: Cout of the weights
  k_h: u32,        // flip
  k_w: u32,
  pad_h: u32,      // rows and columns of the padded output
  pad_w: u32,
  before_h: u32,   // pad: zero rows and columns before the first source row and column
  before_w: u32,
  dil_h: u32,      // pad_dilated: source rows land every dil_h rows
  dil_w: u32,
  splits: u32,     // sum_splits: terms per output
  size: u32,       // pad_dilated, flip, sum_splits: output elements per weight set
}

@group(0) @binding(0) var<uniform> p: Layout;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

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
