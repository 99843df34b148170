// Moving values without arithmetic: one strided copy that serves permute, slice, its backward (a pad),
// concat and expand (broadcast), plus gathering rows by an index tensor and its backward.
//
// (Locals and parameters are never named like a global binding: wgsl_reflect would count them as a use.)
// Copies move bit patterns (u32), so they serve f32 and i32 tensors alike.
//
// copy_strided walks the index space `shape` (up to 8 dims); element k goes from
//   x[src_offset + sum_d k_d * src_stride_d]  to  out[dst_offset + sum_d k_d * dst_stride_d].
// Its index space has RANK dims (a pipeline constant: 1 to 4, straight-line index arithmetic; 0 for 5 to
// 8 dims, a loop); src/ops/shape.ts merges dims first (collapseDims).
// From shaders/prelude.wgsl: flat_index, unravel4, NAN_BITS.

override RANK: u32 = 0u;

struct Copy {
  n: u32,
  rank: u32,
  src_offset: u32,
  dst_offset: u32,
  threads: u32, // invocations: each copies elements i, i + threads, ... (threads <= n; src/gpu/groups.ts)
  shape: array<vec4u, 2>,
  src_stride: array<vec4u, 2>,
  dst_stride: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> cp: Copy;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

// Element i of the index space: where it is read from and written to.
fn copy_element(i: u32) {
  if (RANK != 0u) {
    let k = unravel4(i, cp.shape[0], RANK);
    out[cp.dst_offset + dot(k, cp.dst_stride[0])] = x[cp.src_offset + dot(k, cp.src_stride[0])];
    return;
  }
  var rest = i;
  var read_at = cp.src_offset;
  var write_at = cp.dst_offset;
  for (var d = i32(cp.rank) - 1; d >= 0; d--) {
    let k = rest % cp.shape[d / 4][d % 4];
    rest /= cp.shape[d / 4][d % 4];
    read_at += k * cp.src_stride[d / 4][d % 4];
    write_at += k * cp.dst_stride[d / 4][d % 4];
  }
  out[write_at] = x[read_at];
}

@compute @workgroup_size(64)
fn copy_strided(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  var i = flat_index(wg, nwg, li);
  if (i >= cp.threads) { return; }
  loop {
    copy_element(i);
    continuing {
      i += cp.threads;
      break if i >= cp.n;
    }
  }
}

struct Gather {
  n: u32,        // output elements: n_idx * row
  row: u32,      // elements per row
  n_rows: u32,   // rows in the source
  n_idx: u32,
}

@group(0) @binding(3) var<uniform> gp: Gather;
@group(0) @binding(4) var<storage, read> idx: array<i32>;
@group(0) @binding(5) var<storage, read> src: array<u32>;
@group(0) @binding(6) var<storage, read_write> dst: array<u32>;
@group(0) @binding(7) var<storage, read> dy: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;

// dst[i, :] = src[idx[i], :]; an index outside [0, n_rows) gives a row of NaN.
@compute @workgroup_size(64)
fn gather_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= gp.n) { return; }
  let r = idx[i / gp.row];
  if (r < 0 || u32(r) >= gp.n_rows) { dst[i] = NAN_BITS; return; }
  dst[i] = src[u32(r) * gp.row + i % gp.row];
}

// The backward of gather_rows: dx[r, c] = sum over i with idx[i] == r of dy[i, c].
// One thread per (r, c) scans the indices: no atomics, and the same order every time.
@compute @workgroup_size(64)
fn scatter_add_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= gp.n) { return; }
  let r = i32(i / gp.row);
  let c = i % gp.row;
  var s = 0.0;
  for (var k = 0u; k < gp.n_idx; k++) {
    if (idx[k] == r) { s += dy[k * gp.row + c]; }
  }
  dx[i] = s;
}
