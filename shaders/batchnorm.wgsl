// Batch normalisation over any set of reduced axes. src/ops/batchnorm.ts merges adjacent axes so that x
// reads as kept dims (the features, up to 4) and reduced dims (up to 4), each with its size and stride:
// feature f, reduced position j (0..n_red) address x[base_of(f) + offset_of(j)].
//
//   stats_rows / stats_wide          batch mean and biased variance of each feature, in two passes (the
//                                    mean, then the squared deviations from it); a thread per feature for
//                                    short reductions, a 64-thread workgroup per feature for long ones
//   update_running                   running = keep * running + (1 - keep) * batch, in place (the running
//                                    variance takes the batch variance times `unbias`)
//   normalize                        y = (x - mean) / sqrt(var + eps) * scale + offset, a thread per value
//   train_rows                       the three above in one dispatch, a thread per feature (short
//                                    reductions in training): the same formulas in the same order, so the
//                                    same values to the bit, where three dispatches cost more on SwiftShader
//                                    than a small batch's arithmetic
//   backward_rows / backward_wide    dx, dscale, doffset; in training through the batch statistics
//
// With affine = 0 there is no scale or offset: the op then binds another buffer to those names and the
// kernels never read it. (Locals and parameters are never named like a global binding: wgsl_reflect would
// count them as a use.)
// The ranks of the kept and the reduced dims are pipeline constants (KEPT_RANK, RED_RANK: 0 to 4), so their
// index arithmetic is straight-line code (see unravel4).
// From shaders/prelude.wgsl: flat_index, strided_offset, unravel4.

override KEPT_RANK: u32 = 1u;
override RED_RANK: u32 = 1u;

struct BatchNorm {
  n_feat: u32,   // features (outputs of the reduction)
  n_red: u32,    // values per feature
  n: u32,        // all values, n_feat * n_red
  affine: u32,   // 1: scale and offset are bound
  training: u32, // backward: 1 differentiates through the batch statistics
  eps: f32,
  keep: f32,     // update_running: the weight of the old running value
  unbias: f32,   // update_running: n / (n - 1) for PyTorch's unbiased running variance, else 1
  running: u32,  // train_rows: 1 updates run_mean and run_var
  kept_shape: vec4u,
  kept_stride: vec4u, // strides in x, in elements
  red_shape: vec4u,
  red_stride: vec4u,
}

@group(0) @binding(0) var<uniform> p: BatchNorm;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean_out: array<f32>; // stats
@group(0) @binding(3) var<storage, read_write> var_out: array<f32>;  // stats
@group(0) @binding(4) var<storage, read> mean_in: array<f32>;        // the statistics used to normalise
@group(0) @binding(5) var<storage, read> var_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> run_mean: array<f32>; // update_running
@group(0) @binding(7) var<storage, read_write> run_var: array<f32>;
@group(0) @binding(8) var<storage, read> scale: array<f32>;
@group(0) @binding(9) var<storage, read> offset: array<f32>;
@group(0) @binding(10) var<storage, read_write> y: array<f32>;       // normalize
@group(0) @binding(11) var<storage, read> dy: array<f32>;            // backward
@group(0) @binding(12) var<storage, read_write> dx: array<f32>;
@group(0) @binding(13) var<storage, read_write> dscale: array<f32>;
@group(0) @binding(14) var<storage, read_write> doffset: array<f32>;

// Where feature f's values start in x, and where its reduced position j lies from there.
fn base_of(f: u32) -> u32 { return strided_offset(f, KEPT_RANK, p.kept_shape, p.kept_stride); }

fn offset_of(j: u32) -> u32 { return strided_offset(j, RED_RANK, p.red_shape, p.red_stride); }

// The feature of flat position i of x.
fn feature_of(i: u32) -> u32 {
  var f = 0u;
  if (KEPT_RANK >= 1u) { f = (i / p.kept_stride.x) % p.kept_shape.x; }
  if (KEPT_RANK >= 2u) { f = f * p.kept_shape.y + (i / p.kept_stride.y) % p.kept_shape.y; }
  if (KEPT_RANK >= 3u) { f = f * p.kept_shape.z + (i / p.kept_stride.z) % p.kept_shape.z; }
  if (KEPT_RANK >= 4u) { f = f * p.kept_shape.w + (i / p.kept_stride.w) % p.kept_shape.w; }
  return f;
}

fn rstd_of(f: u32) -> f32 { return 1.0 / sqrt(var_in[f] + p.eps); }

fn scale_of(f: u32) -> f32 { return select(1.0, scale[f], p.affine == 1u); }

// ---- statistics ------------------------------------------------------------------------------------

@compute @workgroup_size(64)
fn stats_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let f = flat_index(wg, nwg, li);
  if (f >= p.n_feat) { return; }
  let base = base_of(f);
  var s = 0.0;
  for (var j = 0u; j < p.n_red; j++) { s += x[base + offset_of(j)]; }
  let m = s / f32(p.n_red);
  var q = 0.0;
  for (var j = 0u; j < p.n_red; j++) {
    let u = x[base + offset_of(j)] - m;
    q += u * u;
  }
  mean_out[f] = m;
  var_out[f] = q / f32(p.n_red);
}

var<workgroup> partial: array<vec2f, 64>;
var<workgroup> wide_mean: f32;

// Sums partial[0..64) into partial[0] (every thread must call it).
fn tree_sum(li: u32) {
  workgroupBarrier();
  for (var half = 32u; half > 0u; half >>= 1u) {
    if (li < half) { partial[li] += partial[li + half]; }
    workgroupBarrier();
  }
}

// Workgroup f (flattened over x and y) reduces feature f.
@compute @workgroup_size(64)
fn stats_wide(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let f = wg.y * nwg.x + wg.x;
  let base = base_of(min(f, p.n_feat - 1u));
  var s = 0.0;
  for (var j = li; j < p.n_red; j += 64u) { s += x[base + offset_of(j)]; }
  partial[li] = vec2f(s, 0.0);
  tree_sum(li);
  if (li == 0u) { wide_mean = partial[0].x / f32(p.n_red); }
  workgroupBarrier();
  let m = wide_mean;
  var q = 0.0;
  for (var j = li; j < p.n_red; j += 64u) {
    let u = x[base + offset_of(j)] - m;
    q += u * u;
  }
  partial[li] = vec2f(q, 0.0);
  tree_sum(li);
  if (li == 0u && f < p.n_feat) {
    mean_out[f] = m;
    var_out[f] = partial[0].x / f32(p.n_red);
  }
}

@compute @workgroup_size(64)
fn update_running(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let f = flat_index(wg, nwg, li);
  if (f >= p.n_feat) { return; }
  run_mean[f] = p.keep * run_mean[f] + (1.0 - p.keep) * mean_in[f];
  run_var[f] = p.keep * run_var[f] + (1.0 - p.keep) * (var_in[f] * p.unbias);
}

// ---- forward ---------------------------------------------------------------------------------------

@compute @workgroup_size(64)
fn normalize(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let f = feature_of(i);
  let xhat = (x[i] - mean_in[f]) * rstd_of(f);
  if (p.affine == 1u) {
    y[i] = xhat * scale[f] + offset[f];
  } else {
    y[i] = xhat;
  }
}

// A thread per feature: stats_rows, then update_running (when `running`), then normalize of the feature's
// values.
@compute @workgroup_size(64)
fn train_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let f = flat_index(wg, nwg, li);
  if (f >= p.n_feat) { return; }
  let base = base_of(f);
  var s = 0.0;
  for (var j = 0u; j < p.n_red; j++) { s += x[base + offset_of(j)]; }
  let m = s / f32(p.n_red);
  var q = 0.0;
  for (var j = 0u; j < p.n_red; j++) {
    let u = x[base + offset_of(j)] - m;
    q += u * u;
  }
  let v = q / f32(p.n_red);
  mean_out[f] = m;
  var_out[f] = v;
  if (p.running == 1u) {
    run_mean[f] = p.keep * run_mean[f] + (1.0 - p.keep) * m;
    run_var[f] = p.keep * run_var[f] + (1.0 - p.keep) * (v * p.unbias);
  }
  let rstd = 1.0 / sqrt(v + p.eps);
  for (var j = 0u; j < p.n_red; j++) {
    let i = base + offset_of(j);
    let xhat = (x[i] - m) * rstd;
    if (p.affine == 1u) {
      y[i] = xhat * scale[f] + offset[f];
    } else {
      y[i] = xhat;
    }
  }
}

// ---- backward --------------------------------------------------------------------------------------
// With xhat = (x - mean) * rstd and n values per feature:
//   doffset = sum dy,  dscale = sum dy * xhat
//   training: dx = scale * rstd * (dy - (doffset + xhat * dscale) / n)   (mean and var depend on x)
//   eval:     dx = scale * rstd * dy                                      (running statistics are constants)

@compute @workgroup_size(64)
fn backward_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let f = flat_index(wg, nwg, li);
  if (f >= p.n_feat) { return; }
  let base = base_of(f);
  let m = mean_in[f];
  let r = rstd_of(f);
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = 0u; j < p.n_red; j++) {
    let at = base + offset_of(j);
    let g = dy[at];
    sg += g;
    sgx += g * (x[at] - m) * r;
  }
  doffset[f] = sg;
  dscale[f] = sgx;
  let k = scale_of(f) * r;
  let nf = f32(p.n_red);
  for (var j = 0u; j < p.n_red; j++) {
    let at = base + offset_of(j);
    if (p.training == 1u) {
      dx[at] = k * (dy[at] - (sg + (x[at] - m) * r * sgx) / nf);
    } else {
      dx[at] = k * dy[at];
    }
  }
}

@compute @workgroup_size(64)
fn backward_wide(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let f = wg.y * nwg.x + wg.x;
  let fc = min(f, p.n_feat - 1u);
  let base = base_of(fc);
  let m = mean_in[fc];
  let r = rstd_of(fc);
  var acc = vec2f(0.0);
  for (var j = li; j < p.n_red; j += 64u) {
    let at = base + offset_of(j);
    let g = dy[at];
    acc += vec2f(g, g * (x[at] - m) * r);
  }
  partial[li] = acc;
  tree_sum(li);
  let sums = partial[0];
  if (f >= p.n_feat) { return; }
  if (li == 0u) {
    doffset[f] = sums.x;
    dscale[f] = sums.y;
  }
  let k = scale_of(f) * r;
  let nf = f32(p.n_red);
  for (var j = li; j < p.n_red; j += 64u) {
    let at = base + offset_of(j);
    if (p.training == 1u) {
      dx[at] = k * (dy[at] - (sums.x + (x[at] - m) * r * sums.y) / nf);
    } else {
      dx[at] = k * dy[at];
    }
  }
}
