// The two Gaussian pieces of a VAE's loss, each one elementwise pass (src/ops/gaussian.ts):
//
//   kl_sum            out[0] = the sum over every element of -1/2 (1 + lv - mu^2 - exp(lv)), in one
//                     workgroup (up to FUSED_MAX elements: thread t sums elements t, t + 64, ..., then
//                     thread 0 adds the 64 partial sums in order)
//   kl_terms          the same terms, per element, for reduce.ts's sum (longer inputs)
//   kl_backward       dmu = g mu, dlv = g (exp(lv) - 1) / 2, g = the scalar gradient of the sum
//   reparameterize    z = mu + exp(lv / 2) eps
//   reparameterize_backward   dlv = dz eps exp(lv / 2) / 2   (dmu = dz needs no pass)
//
// Composed from elementwise ops, the KL term and the sample took 11 dispatches forward and about as many
// backward; on SwiftShader every dispatch costs tens of microseconds whatever its size.
// From shaders/prelude.wgsl: flat_index.

const FUSED_MAX = 65536u; // elements up to which src/ops/gaussian.ts sums the KL in one workgroup

struct Gaussian {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Gaussian;
@group(0) @binding(1) var<storage, read> mu: array<f32>;
@group(0) @binding(2) var<storage, read> lv: array<f32>;
@group(0) @binding(3) var<storage, read> eps: array<f32>;    // the standard normal draw (reparameterize)
@group(0) @binding(4) var<storage, read> grad: array<f32>;   // the incoming gradient (one value for kl)
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> out2: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn kl_sum(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var i = li; i < p.n; i += 64u) {
    let m = mu[i];
    let v = lv[i];
    s += -0.5 * (1.0 + v - m * m - exp(v));
  }
  partial[li] = s;
  workgroupBarrier();
  if (li == 0u) {
    var t = 0.0;
    for (var k = 0u; k < 64u; k++) { t += partial[k]; }
    out[0] = t;
  }
}

@compute @workgroup_size(64)
fn kl_terms(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let m = mu[i];
  let v = lv[i];
  out[i] = -0.5 * (1.0 + v - m * m - exp(v));
}

@compute @workgroup_size(64)
fn kl_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let g = grad[0];
  out[i] = g * mu[i];
  out2[i] = g * 0.5 * (exp(lv[i]) - 1.0);
}

@compute @workgroup_size(64)
fn reparameterize(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  out[i] = mu[i] + exp(0.5 * lv[i]) * eps[i];
}

@compute @workgroup_size(64)
fn reparameterize_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                           @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  out[i] = grad[i] * eps[i] * 0.5 * exp(0.5 * lv[i]);
}
