// Softmax, log-softmax and cross-entropy over the last axis: the input reads as `rows` rows of `cols`
// contiguous values. Every row subtracts its maximum before exp, so no input overflows.
//
//   softmax_forward / log_softmax_forward     one thread per row: max, sum of exp, then the row
//   softmax_backward / log_softmax_backward   one thread per row: one dot product, then the row
//   cross_entropy_forward                     one thread per row: its loss, and (max, log sum exp) for the
//                                             backward; src/ops/loss.ts sums the losses (reduce.wgsl)
//   cross_entropy_backward                    one thread per logit, gradient of the summed/averaged loss
//
// A label outside [0, cols) gives a NaN loss for its row and NaN gradients for that row's logits.
// (Helper functions name their parameters u, v, ...: a parameter named like a global binding would be
// taken by wgsl_reflect for a use of that binding.)
// From shaders/prelude.wgsl: flat_index, nan_f32.

struct Rows {
  rows: u32,
  cols: u32,
  scale: f32, // cross_entropy_backward only: 1 for a sum, 1/rows for a mean
}

@group(0) @binding(0) var<uniform> p: Rows;
@group(0) @binding(1) var<storage, read> x: array<f32>;              // input / logits (rows, cols)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;      // forward output (rows, cols)
@group(0) @binding(3) var<storage, read> y: array<f32>;              // forward output, read by the backward
@group(0) @binding(4) var<storage, read> dy: array<f32>;             // (rows, cols); cross-entropy: one value
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;       // (rows, cols)
@group(0) @binding(6) var<storage, read> labels: array<i32>;         // (rows)
@group(0) @binding(7) var<storage, read_write> loss_rows: array<f32>; // (rows)
@group(0) @binding(8) var<storage, read_write> stats_out: array<vec2f>; // (rows): max, log sum exp(x - max)
@group(0) @binding(9) var<storage, read> stats: array<vec2f>;        // the same, read by the backward

// (max, sum of exp(x - max)) of the row starting at x[u].
fn row_max_sumexp(u: u32) -> vec2f {
  var m = x[u];
  for (var j = 1u; j < p.cols; j++) { m = max(m, x[u + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += exp(x[u + j] - m); }
  return vec2f(m, s);
}

// y = exp(x - max) / sum exp(x - max)
@compute @workgroup_size(64)
fn softmax_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = flat_index(wg, nwg, li);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let ms = row_max_sumexp(base);
  for (var j = 0u; j < p.cols; j++) { out[base + j] = exp(x[base + j] - ms.x) / ms.y; }
}

// y = x - max - log sum exp(x - max)
@compute @workgroup_size(64)
fn log_softmax_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = flat_index(wg, nwg, li);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let ms = row_max_sumexp(base);
  let log_s = log(ms.y);
  for (var j = 0u; j < p.cols; j++) { out[base + j] = (x[base + j] - ms.x) - log_s; }
}

// dx = y * (dy - sum(dy * y)) per row
@compute @workgroup_size(64)
fn softmax_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = flat_index(wg, nwg, li);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var d = 0.0;
  for (var j = 0u; j < p.cols; j++) { d += dy[base + j] * y[base + j]; }
  for (var j = 0u; j < p.cols; j++) { dx[base + j] = y[base + j] * (dy[base + j] - d); }
}

// dx = dy - softmax(x) * sum(dy) per row, with softmax(x) = exp(y)
@compute @workgroup_size(64)
fn log_softmax_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = flat_index(wg, nwg, li);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var d = 0.0;
  for (var j = 0u; j < p.cols; j++) { d += dy[base + j]; }
  for (var j = 0u; j < p.cols; j++) { dx[base + j] = dy[base + j] - exp(y[base + j]) * d; }
}

// loss[r] = log sum exp(x[r]) - x[r, label[r]] = log sum exp(x[r] - max) + (max - x[r, label[r]])
@compute @workgroup_size(64)
fn cross_entropy_forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = flat_index(wg, nwg, li);
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let ms = row_max_sumexp(base);
  let log_s = log(ms.y);
  stats_out[r] = vec2f(ms.x, log_s);
  let label = labels[r];
  if (label < 0 || u32(label) >= p.cols) {
    loss_rows[r] = nan_f32();
    return;
  }
  loss_rows[r] = log_s + (ms.x - x[base + u32(label)]);
}

// dx[r, j] = (softmax(x[r])[j] - (j == label[r])) * dy * scale, with dy the loss's gradient (one value)
@compute @workgroup_size(64)
fn cross_entropy_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.rows * p.cols) { return; }
  let r = i / p.cols;
  let j = i % p.cols;
  let st = stats[r];
  let label = labels[r];
  if (label < 0 || u32(label) >= p.cols) {
    dx[i] = nan_f32();
    return;
  }
  let prob = exp((x[i] - st.x) - st.y);
  dx[i] = (prob - select(0.0, 1.0, j == u32(label))) * dy[0] * p.scale;
}
