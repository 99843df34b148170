// Reductions over any set of axes. src/ops/reduce.ts merges adjacent axes so that the input reads as
// kept dims (up to 4) and reduced dims (up to 4), each with its size and stride. Output o, reduced
// position j (0..n_red) address input element  base(o) + offset(j).
//
//   sum_rows / max_rows   one thread per output, looping over its n_red inputs (short reductions)
//   sum_wide / max_wide   one 64-thread workgroup per output, then a tree in workgroup memory (long ones)
//   max_backward          dx[at argmax of o] = dy[o], into a zeroed dx (each input belongs to one output)
//
// max also writes j of the maximum (the first on ties) so that its gradient can be routed.
// The ranks of the kept and the reduced dims are pipeline constants (KEPT_RANK, RED_RANK: 0 to 4), so their
// index arithmetic is straight-line code (see unravel4).
// From shaders/prelude.wgsl: flat_index, strided_offset, unravel4.

override KEPT_RANK: u32 = 1u;
override RED_RANK: u32 = 1u;

struct Reduce {
  n_out: u32,
  n_red: u32,
  kept_shape: vec4u,
  kept_stride: vec4u,
  red_shape: vec4u,
  red_stride: vec4u,
  scale: f32, // sum only: multiplies the result (1/n for a mean)
}

@group(0) @binding(0) var<uniform> p: Reduce;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> arg: array<i32>;   // max: j of the maximum
@group(0) @binding(4) var<storage, read> argmax_in: array<i32>;   // max_backward
@group(0) @binding(5) var<storage, read> dy: array<f32>;          // max_backward
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;    // max_backward

// Where output o's inputs start in x, and where its reduced position j lies from there.
fn base_of(o: u32) -> u32 { return strided_offset(o, KEPT_RANK, p.kept_shape, p.kept_stride); }

fn offset_of(j: u32) -> u32 { return strided_offset(j, RED_RANK, p.red_shape, p.red_stride); }

@compute @workgroup_size(64)
fn sum_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = flat_index(wg, nwg, li);
  if (o >= p.n_out) { return; }
  let base = base_of(o);
  // eight running sums (j mod 8), then added pairwise: an eighth of one running sum's rounding error on
  // long rows (a CPU adapter sums rows of hundreds here, reduce.ts), and independent additions in flight
  var a = vec4f(0.0);
  var b = vec4f(0.0);
  var j = 0u;
  for (; j + 8u <= p.n_red; j += 8u) {
    a += vec4f(x[base + offset_of(j)], x[base + offset_of(j + 1u)], x[base + offset_of(j + 2u)], x[base + offset_of(j + 3u)]);
    b += vec4f(x[base + offset_of(j + 4u)], x[base + offset_of(j + 5u)], x[base + offset_of(j + 6u)], x[base + offset_of(j + 7u)]);
  }
  var s = 0.0;
  for (; j < p.n_red; j++) { s += x[base + offset_of(j)]; }
  let ab = a + b;
  out[o] = (s + ((ab.x + ab.y) + (ab.z + ab.w))) * p.scale;
}

@compute @workgroup_size(64)
fn max_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = flat_index(wg, nwg, li);
  if (o >= p.n_out) { return; }
  let base = base_of(o);
  var m = x[base];
  var at = 0u;
  for (var j = 1u; j < p.n_red; j++) {
    let v = x[base + offset_of(j)];
    if (v > m) { m = v; at = j; }
  }
  out[o] = m;
  arg[o] = i32(at);
}

var<workgroup> partial: array<f32, 64>;
var<workgroup> partial_at: array<u32, 64>;

// Workgroup o (flattened over x and y) reduces output o.
@compute @workgroup_size(64)
fn sum_wide(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = wg.y * nwg.x + wg.x;
  let base = base_of(min(o, p.n_out - 1u));
  var s = 0.0;
  for (var j = li; j < p.n_red; j += 64u) { s += x[base + offset_of(j)]; }
  partial[li] = s;
  workgroupBarrier();
  for (var half = 32u; half > 0u; half >>= 1u) {
    if (li < half) { partial[li] += partial[li + half]; }
    workgroupBarrier();
  }
  if (li == 0u && o < p.n_out) { out[o] = partial[0] * p.scale; }
}

@compute @workgroup_size(64)
fn max_wide(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = wg.y * nwg.x + wg.x;
  let base = base_of(min(o, p.n_out - 1u));
  var m = -3.402823e38;
  var at = 0xffffffffu;
  for (var j = li; j < p.n_red; j += 64u) {
    let v = x[base + offset_of(j)];
    if (v > m || at == 0xffffffffu) { m = v; at = j; }
  }
  partial[li] = m;
  partial_at[li] = at;
  workgroupBarrier();
  for (var half = 32u; half > 0u; half >>= 1u) {
    if (li < half) {
      let m2 = partial[li + half];
      let a2 = partial_at[li + half];
      // keep the larger; on ties the smaller j (the first occurrence); threads with no input have j = max
      if (a2 != 0xffffffffu && (m2 > partial[li] || (m2 == partial[li] && a2 < partial_at[li]) || partial_at[li] == 0xffffffffu)) {
        partial[li] = m2;
        partial_at[li] = a2;
      }
    }
    workgroupBarrier();
  }
  if (li == 0u && o < p.n_out) {
    out[o] = partial[0];
    arg[o] = i32(partial_at[0]);
  }
}

@compute @workgroup_size(64)
fn max_backward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = flat_index(wg, nwg, li);
  if (o >= p.n_out) { return; }
  dx[base_of(o) + offset_of(u32(argmax_in[o]))] = dy[o];
}
