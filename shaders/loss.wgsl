// The mean squared error as two kernels (src/ops/loss.ts, mse):
//
//   mse_forward    out[0] = scale * sum over i of (a[i] - b[i])^2     (scale: 1 for a sum, 1/n for a mean)
//   mse_backward   da = (dy scale) ((a - b) 2), db = -da              (dy: the scalar gradient of out)
//
// Composed from sub, square and sum it took three dispatches forward and four backward (expand, two muls, a
// neg); on SwiftShader each costs tens of microseconds, more than the arithmetic of a weight VAE's batch.
// The forward is one workgroup: thread t sums elements t, t + 64, ..., then thread 0 adds the 64 partial
// sums in order, so the result is the same at every run (src/ops/loss.ts takes this path up to
// FUSED_MAX elements, where one workgroup still keeps up). The backward's formula is the composed one's,
// to the bit. Not here: cross-entropy (softmax.wgsl).
// From shaders/prelude.wgsl: flat_index.

const FUSED_MAX = 65536u; // elements up to which src/ops/loss.ts uses these kernels

struct Mse {
  n: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Mse;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;        // (1): the gradient of the loss
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // forward: (1); backward: da
@group(0) @binding(5) var<storage, read_write> out2: array<f32>; // backward: db

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn mse_forward(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var i = li; i < p.n; i += 64u) {
    let d = a[i] - b[i];
    s += d * d;
  }
  partial[li] = s;
  workgroupBarrier();
  if (li == 0u) {
    var t = 0.0;
    for (var k = 0u; k < 64u; k++) { t += partial[k]; }
    out[0] = t * p.scale;
  }
}

@compute @workgroup_size(64)
fn mse_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let g = dy[0] * p.scale;
  let da = g * ((a[i] - b[i]) * 2.0);
  out[i] = da;
  out2[i] = -da;
}
