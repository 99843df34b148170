// The kernels the tensor layer itself needs: fill a tensor with one value, and add a gradient into an
// accumulator in place. Both are 1-D jobs (flat_index, shaders/prelude.wgsl) whose invocations each step
// values i, i + threads, ... (threads <= n; src/gpu/groups.ts strideThreads).

struct Fill {
  n: u32,
  bits: u32, // the value's bit pattern (an f32 or an i32)
  threads: u32,
}

@group(0) @binding(0) var<uniform> fp: Fill;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(64)
fn fill(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  var i = flat_index(wg, nwg, li);
  if (i >= fp.threads) { return; }
  loop {
    out[i] = fp.bits;
    continuing {
      i += fp.threads;
      break if i >= fp.n;
    }
  }
}

struct Acc {
  n: u32,
  threads: u32,
}

@group(0) @binding(2) var<uniform> ap: Acc;
@group(0) @binding(3) var<storage, read_write> acc: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;

// acc += g
@compute @workgroup_size(64)
fn accumulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  var i = flat_index(wg, nwg, li);
  if (i >= ap.threads) { return; }
  loop {
    acc[i] = acc[i] + g[i];
    continuing {
      i += ap.threads;
      break if i >= ap.n;
    }
  }
}
