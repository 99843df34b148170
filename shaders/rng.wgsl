// Counter-based random numbers: Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", 2011). Value i of a call comes from the counter (i, stream, 0, attempt) under the key (seed),
// so it depends on nothing but (seed, stream, i): the same in every thread order, on every device, and
// in the CPU reference (src/tensor/rng.ts), which the tests hold this file to.
// From shaders/prelude.wgsl: flat_index.

struct Rng {
  n: u32,
  seed_lo: u32,
  seed_hi: u32,
  stream: u32,
  a: f32, // uniform: low;  normal: mean
  b: f32, // uniform: high; normal: standard deviation
}

@group(0) @binding(0) var<uniform> p: Rng;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

// (hi, lo) words of the 64-bit product a * b, from 16-bit halves (WGSL has no 64-bit integers).
fn mulhilo(a: u32, b: u32) -> vec2u {
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let t = a1 * b0 + ((a0 * b0) >> 16u);
  let w = (t & 0xffffu) + a0 * b1;
  return vec2u(a1 * b1 + (t >> 16u) + (w >> 16u), a * b);
}

fn philox(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2u(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

fn unit(x: u32) -> f32 { return f32(x >> 8u) * (1.0 / 16777216.0); } // [0, 1)

fn gauss(r: vec4u) -> f32 { // Box-Muller
  let u1 = f32((r.x >> 8u) + 1u) * (1.0 / 16777216.0); // (0, 1]
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * unit(r.y));
}

@compute @workgroup_size(64)
fn rand_uniform(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let r = philox(vec4u(i, p.stream, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
  out[i] = p.a + (p.b - p.a) * unit(r.x);
}

@compute @workgroup_size(64)
fn rand_normal(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  let r = philox(vec4u(i, p.stream, 0u, 0u), vec2u(p.seed_lo, p.seed_hi));
  out[i] = p.a + p.b * gauss(r);
}

// Values beyond two standard deviations are drawn again (as TensorFlow's truncated_normal does), with
// the next attempt number in the counter; after 64 misses (p < 1e-80) the last draw is clipped.
@compute @workgroup_size(64)
fn rand_truncated_normal(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat_index(wg, nwg, li);
  if (i >= p.n) { return; }
  var z = 0.0;
  for (var attempt = 0u; attempt < 64u; attempt++) {
    z = gauss(philox(vec4u(i, p.stream, 0u, attempt), vec2u(p.seed_lo, p.seed_hi)));
    if (abs(z) < 2.0) { break; }
  }
  out[i] = p.a + p.b * clamp(z, -2.0, 2.0);
}
