// Optimizer updates, each ONE dispatch over every parameter: the parameters, their gradients and the
// optimizer's state each live in one flat buffer (src/optim/arena.ts), so a step costs one dispatch
// whatever the number of tensors. The formulas are PyTorch 1.13's, operation for operation.
//
// Every constant derived from the hyper-parameters (1 - beta, the bias corrections, the step size) is
// computed in double on the CPU and arrives as a uniform, rounded once to f32: computed here in f32,
// 1 - beta2 came out 1.3e-5 relatively too small at beta2 = 0.999 (1 - f32(0.999) = 0.00099998713).
// From shaders/prelude.wgsl: flat_index.

struct Adam {
  n: u32,
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  eps: f32,
  weight_decay: f32,
  step_size: f32,   // lr / (1 - beta1^t)
  bc2_sqrt: f32,    // sqrt(1 - beta2^t)
  threads: u32,     // invocations: each steps elements i, i + threads, ... (src/gpu/groups.ts strideThreads)
}

@group(0) @binding(0) var<uniform> ap: Adam;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(64)
fn adam(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  var i = flat_index(wg, nwg, li);
  if (i >= ap.threads) { return; } // threads <= n
  loop { // elements i, i + threads, ...
    let g = grad[i] + ap.weight_decay * param[i];          // L2 added to the gradient, as torch.optim.Adam
    let mi = ap.beta1 * m[i] + ap.one_minus_beta1 * g;
    let vi = ap.beta2 * v[i] + ap.one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] - ap.step_size * mi / (sqrt(vi) / ap.bc2_sqrt + ap.eps);
    continuing {
      i += ap.threads;
      break if i >= ap.n;
    }
  }
}

struct Sgd {
  n: u32,
  lr: f32,
  momentum: f32,
  one_minus_dampening: f32,
  weight_decay: f32,
  first: u32,       // 1 on the first step: the momentum buffer starts as the gradient
  nesterov: u32,
  threads: u32,
}

@group(0) @binding(5) var<uniform> sp: Sgd;
@group(0) @binding(6) var<storage, read_write> buf: array<f32>;

@compute @workgroup_size(64)
fn sgd(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  var i = flat_index(wg, nwg, li);
  if (i >= sp.threads) { return; } // threads <= n
  loop { // elements i, i + threads, ...
    var d = grad[i] + sp.weight_decay * param[i];
    if (sp.momentum != 0.0) {
      var b = d;
      if (sp.first == 0u) { b = sp.momentum * buf[i] + sp.one_minus_dampening * d; }
      buf[i] = b;
      d = select(b, d + sp.momentum * b, sp.nesterov == 1u);
    }
    param[i] = param[i] - sp.lr * d;
    continuing {
      i += sp.threads;
      break if i >= sp.n;
    }
  }
}
