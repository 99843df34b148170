// The fast gradient sign step of an adversarial attack over a grid of step sizes (src/ops/fgsm.ts):
//
//   perturb   out[e, i] = clamp(x[i] + eps[e] * sign(grad[i]), lo, hi), thread per output value
//
// sign(0) = 0: a pixel the loss does not depend on stays as it is. Composed from elementwise ops this needs
// a sign op (there is none) and three passes per step size; here it is one pass for the whole grid.
// From shaders/prelude.wgsl: flat_index.

struct Fgsm {
  n: u32,       // values per image set (x and grad)
  steps: u32,   // step sizes in eps
  lo: f32,      // the valid range of a pixel
  hi: f32,
}

@group(0) @binding(0) var<uniform> p: Fgsm;
@group(0) @binding(1) var<storage, read> x: array<f32>;      // (n)
@group(0) @binding(2) var<storage, read> grad: array<f32>;   // (n)
@group(0) @binding(3) var<storage, read> eps: array<f32>;    // (steps)
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // (steps, n)

@compute @workgroup_size(64)
fn perturb(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) li: u32) {
  let o = flat_index(wg, nwg, li);
  if (o >= p.n * p.steps) { return; }
  let i = o % p.n;
  out[o] = clamp(x[i] + eps[o / p.n] * sign(grad[i]), p.lo, p.hi);
}
