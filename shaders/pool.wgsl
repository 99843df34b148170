// 2-D max and average pooling of NHWC activations (leading dims folded into N by src/ops/pool.ts), with
// TensorFlow's padding: a window may hang over the image's edge (pad_top / pad_left cells before it,
// the rest after), and those padded cells take no part: never the max, not counted in the average.
//
//   max_pool_forward    one thread per output: the max of its window's real cells, and where it was
//                       (kh * k_w + kw, the first on ties) for the backward
//   max_pool_backward   one thread per input cell: the sum of dy over the outputs whose max it was
//   avg_pool_forward    one thread per output: the mean of its window's real cells
//   avg_pool_backward   one thread per input cell: sum of dy / count over the windows that hold it
//   max_pool_tiled_forward, max_pool_tiled_backward
//                       windows that tile the input exactly (stride = size, no padding, in = out x size:
//                       the 2x2 pools of the MNIST nets): a thread per output, or per pixel on a CPU adapter
//                       (its channels one after the other), the window's size a pipeline constant (TILE_H,
//                       TILE_W), and the backward writes the window's cells (dy to the max, 0 to the rest)
//                       instead of searching for covering windows
//   max_pool_2x2_forward, max_pool_2x2_backward
//                       the same for 2x2 windows, written out
//
// The backward kernels gather (each input cell reads the outputs that cover it) rather than scatter, so
// overlapping windows (stride < size) need no atomics and no zero-fill, and the sums run in a fixed order.
// (Locals and parameters are never named like a global binding: wgsl_reflect would count them as a use.)
// From shaders/prelude.wgsl: flat_index.

struct Pool {
  n: u32,  // images, with any leading dims folded in
  in_h: u32,
  in_w: u32,
  c: u32,
  out_h: u32,
  out_w: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_top: u32,
  pad_left: u32,
  run: u32,     // tiled kernels: channels a thread takes (tile_run), and threads a pixel
  chunks: u32,
}

@group(0) @binding(0) var<uniform> p: Pool;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (N, H, W, C)
@group(0) @binding(2) var<storage, read_write> y: array<f32>;    // (N, OH, OW, C)
@group(0) @binding(3) var<storage, read_write> arg: array<i32>;  // (N, OH, OW, C): kh * k_w + kw of the max
@group(0) @binding(4) var<storage, read> arg_in: array<i32>;     // the same, read by the backward
@group(0) @binding(5) var<storage, read> dy: array<f32>;         // (N, OH, OW, C)
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;   // (N, H, W, C)

// The window of output (oh, ow) clipped to the image: first row, end row, first column, end column (input
// coordinates, end exclusive).
fn window(oh: u32, ow: u32) -> vec4i {
  let h0 = i32(oh * p.stride_h) - i32(p.pad_top);
  let w0 = i32(ow * p.stride_w) - i32(p.pad_left);
  return vec4i(max(h0, 0), min(h0 + i32(p.k_h), i32(p.in_h)), max(w0, 0), min(w0 + i32(p.k_w), i32(p.in_w)));
}

// The outputs whose windows hold input (ih, iw): first oh, end oh, first ow, end ow (end exclusive).
fn covering(ih: u32, iw: u32) -> vec4u {
  // oh * s - pad <= ih < oh * s - pad + k  <=>  (ih + pad - k) / s < oh <= (ih + pad) / s
  let th = i32(ih + p.pad_top) - i32(p.k_h);
  let tw = i32(iw + p.pad_left) - i32(p.k_w);
  let oh0 = select(0u, u32(th) / p.stride_h + 1u, th >= 0);
  let ow0 = select(0u, u32(tw) / p.stride_w + 1u, tw >= 0);
  let oh1 = min((ih + p.pad_top) / p.stride_h + 1u, p.out_h);
  let ow1 = min((iw + p.pad_left) / p.stride_w + 1u, p.out_w);
  return vec4u(oh0, oh1, ow0, ow1);
}

// Flat position i of an (N, h, w, C) tensor (x: h, w = in_h, in_w; y and dy: out_h, out_w): image, row,
// column, channel.
struct Cell {
  img: u32,
  row: u32,
  col: u32,
  ch: u32,
}

fn cell_of(i: u32, h: u32, w: u32) -> Cell {
  return Cell(i / (p.c * w * h), (i / (p.c * w)) % h, (i / p.c) % w, i % p.c);
}

// The flat position of input cell (ih, iw) of image `img`, channel `ch`.
fn x_index(img: u32, ih: i32, iw: i32, ch: u32) -> u32 {
  return ((img * p.in_h + u32(ih)) * p.in_w + u32(iw)) * p.c + ch;
}

// The flat position of output (oh, ow) of image `img`, channel `ch`.
fn y_index(img: u32, oh: u32, ow: u32, ch: u32) -> u32 {
  return ((img * p.out_h + oh) * p.out_w + ow) * p.c + ch;
}

@compute @workgroup_size(64)
fn max_pool_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = flat_index(wg, nwg, li);
  if (o >= p.n * p.out_h * p.out_w * p.c) { return; }
  let oc = cell_of(o, p.out_h, p.out_w); // the output cell
  let win = window(oc.row, oc.col);
  // the window's first cell, padding included
  let h0 = i32(oc.row * p.stride_h) - i32(p.pad_top);
  let w0 = i32(oc.col * p.stride_w) - i32(p.pad_left);
  var best = 0.0;
  var at = -1;
  for (var ih = win.x; ih < win.y; ih++) {
    for (var iw = win.z; iw < win.w; iw++) {
      let v = x[x_index(oc.img, ih, iw, oc.ch)];
      if (at < 0 || v > best) {
        best = v;
        at = (ih - h0) * i32(p.k_w) + (iw - w0); // position in the full window
      }
    }
  }
  y[o] = best;
  arg[o] = at;
}

// dx[i] = sum of dy[o] over the outputs o whose max was input i
@compute @workgroup_size(64)
fn max_pool_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n * p.in_h * p.in_w * p.c) { return; }
  let ic = cell_of(i, p.in_h, p.in_w); // the input cell
  let cov = covering(ic.row, ic.col);
  var s = 0.0;
  for (var oh = cov.x; oh < cov.y; oh++) {
    for (var ow = cov.z; ow < cov.w; ow++) {
      let o = y_index(ic.img, oh, ow, ic.ch);
      let kh = i32(ic.row + p.pad_top) - i32(oh * p.stride_h);
      let kw = i32(ic.col + p.pad_left) - i32(ow * p.stride_w);
      if (arg_in[o] == kh * i32(p.k_w) + kw) { s += dy[o]; }
    }
  }
  dx[i] = s;
}

@compute @workgroup_size(64)
fn avg_pool_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = flat_index(wg, nwg, li);
  if (o >= p.n * p.out_h * p.out_w * p.c) { return; }
  let oc = cell_of(o, p.out_h, p.out_w); // the output cell
  let win = window(oc.row, oc.col);
  var s = 0.0;
  for (var ih = win.x; ih < win.y; ih++) {
    for (var iw = win.z; iw < win.w; iw++) { s += x[x_index(oc.img, ih, iw, oc.ch)]; }
  }
  y[o] = s / f32((win.y - win.x) * (win.w - win.z));
}

// dx[i] = sum of dy[o] / count[o] over the outputs o whose windows hold input i
@compute @workgroup_size(64)
fn avg_pool_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n * p.in_h * p.in_w * p.c) { return; }
  let ic = cell_of(i, p.in_h, p.in_w); // the input cell
  let cov = covering(ic.row, ic.col);
  var s = 0.0;
  for (var oh = cov.x; oh < cov.y; oh++) {
    for (var ow = cov.z; ow < cov.w; ow++) {
      let win = window(oh, ow);
      s += dy[y_index(ic.img, oh, ow, ic.ch)] / f32((win.y - win.x) * (win.w - win.z));
    }
  }
  dx[i] = s;
}

// ---- windows that tile the input exactly ------------------------------------------------------------------

override TILE_H: u32 = 2;
override TILE_W: u32 = 2;

// What thread t of a tiled kernel takes: `run` consecutive channels of one output pixel (`chunks` =
// ceil(c / run) threads a pixel; src/ops/pool.ts tileRun), so that the pixel's window is found once for all of
// them (integer division is slow on a CPU adapter). x: the flat position in x of the window's first cell,
// channel 0 (each window's rows TILE_H input rows down: in_h = out_h * TILE_H, in_w = out_w * TILE_W); y: the
// output's, channel 0; z, w: the first and end channel.
fn tile_run(t: u32) -> vec4u {
  let q = t / p.chunks; // output pixel: image * out_h * out_w + row * out_w + column
  let first = (t - q * p.chunks) * p.run;
  let r = q / p.out_w; // image * out_h + output row
  let ow = q - r * p.out_w;
  return vec4u((r * TILE_H * p.in_w + ow * TILE_W) * p.c, q * p.c, first, min(first + p.run, p.c));
}

@compute @workgroup_size(64)
fn max_pool_tiled_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  if (t >= p.n * p.out_h * p.out_w * p.chunks) { return; }
  let span = tile_run(t);
  var ch = span.z;
  loop { // span.z < span.w
    let first = span.x + ch;
    var best = x[first];
    var at = 0u;
    for (var kh = 0u; kh < TILE_H; kh++) {
      for (var kw = 0u; kw < TILE_W; kw++) {
        let v = x[first + (kh * p.in_w + kw) * p.c];
        let more = v > best; // the first of equal maxima, as max_pool_forward
        best = select(best, v, more);
        at = select(at, kh * TILE_W + kw, more);
      }
    }
    y[span.y + ch] = best;
    arg[span.y + ch] = i32(at);
    continuing {
      ch++;
      break if ch >= span.w;
    }
  }
}

@compute @workgroup_size(64)
fn max_pool_tiled_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  if (t >= p.n * p.out_h * p.out_w * p.chunks) { return; }
  let span = tile_run(t);
  var ch = span.z;
  loop { // span.z < span.w
    let first = span.x + ch;
    let g = dy[span.y + ch];
    let at = u32(arg_in[span.y + ch]);
    for (var kh = 0u; kh < TILE_H; kh++) {
      for (var kw = 0u; kw < TILE_W; kw++) {
        dx[first + (kh * p.in_w + kw) * p.c] = select(0.0, g, kh * TILE_W + kw == at);
      }
    }
    continuing {
      ch++;
      break if ch >= span.w;
    }
  }
}

// The same for 2x2 windows (the MNIST nets' pools), written out: the loops above run their bodies once more
// than their trip count on SwiftShader, which took half the kernels' time (the hypernetwork's first pool,
// forward and backward: 6.7-8.1 and 4.2-4.5 ms with the loops, 2.0-2.3 and 1.2-1.3 written out). Dispatched
// without pipeline constants: tile_run's TILE_H and TILE_W keep their defaults, 2.

@compute @workgroup_size(64)
fn max_pool_2x2_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  if (t >= p.n * p.out_h * p.out_w * p.chunks) { return; }
  let span = tile_run(t);
  let down = p.in_w * p.c; // a row of x
  var ch = span.z;
  loop { // span.z < span.w
    let first = span.x + ch;
    let v1 = x[first + p.c];
    let v2 = x[first + down];
    let v3 = x[first + down + p.c];
    // the first of equal maxima, as max_pool_forward
    var best = x[first];
    var at = 0u;
    var more = v1 > best;
    best = select(best, v1, more);
    at = select(at, 1u, more);
    more = v2 > best;
    best = select(best, v2, more);
    at = select(at, 2u, more);
    more = v3 > best;
    best = select(best, v3, more);
    at = select(at, 3u, more);
    y[span.y + ch] = best;
    arg[span.y + ch] = i32(at);
    continuing {
      ch++;
      break if ch >= span.w;
    }
  }
}

@compute @workgroup_size(64)
fn max_pool_2x2_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = flat_index(wg, nwg, li);
  if (t >= p.n * p.out_h * p.out_w * p.chunks) { return; }
  let span = tile_run(t);
  let down = p.in_w * p.c;
  var ch = span.z;
  loop { // span.z < span.w
    let first = span.x + ch;
    let g = dy[span.y + ch];
    let at = u32(arg_in[span.y + ch]);
    dx[first] = select(0.0, g, at == 0u);
    dx[first + p.c] = select(0.0, g, at == 1u);
    dx[first + down] = select(0.0, g, at == 2u);
    dx[first + down + p.c] = select(0.0, g, at == 3u);
    continuing {
      ch++;
      break if ch >= span.w;
    }
  }
}
