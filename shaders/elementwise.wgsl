// Elementwise ops. The op is a pipeline constant (OP), so each op is its own compiled pipeline and the
// switch below folds away; shapes and scalars travel in the uniform, so a new shape never recompiles.
//
//   unary        out[i] = f(x[i])                         (alpha, beta: the op's scalars)
//   binary_flat  out[i] = g(a[i], b[i])                   (same shapes)
//   binary       out[i] = g(a[ia], b[ib])                 (broadcasting: strides of 0 repeat a value)
//
// binary's index space has RANK dims (a pipeline constant: 1 to 4, each its own pipeline whose index
// arithmetic is straight-line code; 0 for 5 to 8 dims, a loop). src/ops/elementwise.ts merges dims first
// (collapseDims), so most broadcasts have 2.
//
// The *_BWD ops are the backward rules that need the forward input or output (src/ops/elementwise.ts).
// Their codes are the constants below, which UNARY and BINARY there read (SHADER_CONSTS, generated).
// (Helper functions name their parameters u, v: a parameter named like a global binding would be taken by
// wgsl_reflect for a use of that binding.)
// From shaders/prelude.wgsl: flat_index, unravel4.

override OP: u32 = 0u;
override RANK: u32 = 0u;

// unary ops
const NEG = 0u;
const EXP = 1u;
const LOG = 2u;
const SQRT = 3u;
const ABS = 4u;
const RELU = 5u;
const LEAKY_RELU = 6u; // alpha: negative slope
const SIGMOID = 7u;
const TANH = 8u;
const CLAMP = 9u;      // [alpha, beta]
const ADD_S = 10u;     // x + alpha
const MUL_S = 11u;     // x * alpha
const POW_S = 12u;     // x ^ alpha
const RSUB_S = 13u;    // alpha - x
const RDIV_S = 14u;    // alpha / x
const SQUARE = 15u;
const SIGN = 16u;

// binary ops
const ADD = 0u;
const SUB = 1u;
const MUL = 2u;
const DIV = 3u;
const POW = 4u;
const RELU_BWD = 5u;       // (x, dy) -> dy * (x > 0)
const LEAKY_RELU_BWD = 6u; // (x, dy) -> dy * (x > 0 ? 1 : alpha)
const CLAMP_BWD = 7u;      // (x, dy) -> dy * (alpha <= x <= beta)
const SIGMOID_BWD = 8u;    // (y, dy) -> dy * y * (1 - y)
const TANH_BWD = 9u;       // (y, dy) -> dy * (1 - y^2)

// x^y with the real-valued answers WGSL's pow leaves undefined: a negative base with an integer power,
// and a zero base.
fn power(u: f32, v: f32) -> f32 {
  if (v == 0.0) { return 1.0; }
  if (u == 0.0) { return select(0.0, 1.0 / u, v < 0.0); } // 0, or inf (computed at run time: WGSL constants cannot be inf)
  if (u < 0.0) {
    if (v != round(v)) { return sqrt(u); } // NaN (u < 0), as in PyTorch
    let r = pow(-u, v);
    return select(r, -r, (i32(v) & 1) == 1);
  }
  return pow(u, v);
}

fn unary_op(v: f32, alpha: f32, beta: f32) -> f32 {
  switch OP {
    case NEG: { return -v; }
    case EXP: { return exp(v); }
    case LOG: { return log(v); }
    case SQRT: { return sqrt(v); }
    case ABS: { return abs(v); }
    case RELU: { return max(v, 0.0); }
    case LEAKY_RELU: { return select(alpha * v, v, v > 0.0); }
    case SIGMOID: { return 1.0 / (1.0 + exp(-v)); }
    case TANH: { // tanh from exp of a non-positive number: no overflow
      let e = exp(-2.0 * abs(v));
      return sign(v) * (1.0 - e) / (1.0 + e);
    }
    case CLAMP: { return clamp(v, alpha, beta); }
    case ADD_S: { return v + alpha; }
    case MUL_S: { return v * alpha; }
    case POW_S: { return power(v, alpha); }
    case RSUB_S: { return alpha - v; }
    case RDIV_S: { return alpha / v; }
    case SQUARE: { return v * v; }
    case SIGN: { return sign(v); }
    default: { return 0.0; }
  }
}

fn binary_op(u: f32, v: f32, alpha: f32, beta: f32) -> f32 {
  switch OP {
    case ADD: { return u + v; }
    case SUB: { return u - v; }
    case MUL: { return u * v; }
    case DIV: { return u / v; }
    case POW: { return power(u, v); }
    case RELU_BWD: { return select(0.0, v, u > 0.0); }
    case LEAKY_RELU_BWD: { return select(alpha * v, v, u > 0.0); }
    case CLAMP_BWD: { return select(0.0, v, u >= alpha && u <= beta); }
    case SIGMOID_BWD: { return v * u * (1.0 - u); }
    case TANH_BWD: { return v * (1.0 - u * u); }
    default: { return 0.0; }
  }
}

struct Unary {
  n: u32,
  alpha: f32,
  beta: f32,
  threads: u32, // invocations: each steps i, i + threads, ... (threads <= n; src/gpu/groups.ts strideThreads)
}

@group(0) @binding(0) var<uniform> up: Unary;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn unary(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  var i = flat_index(wg, nwg, li);
  if (i >= up.threads) { return; }
  loop {
    out[i] = unary_op(x[i], up.alpha, up.beta);
    continuing {
      i += up.threads;
      break if i >= up.n;
    }
  }
}

struct Binary {
  n: u32,
  rank: u32,
  alpha: f32,
  beta: f32,
  threads: u32,           // as Unary's
  shape: array<vec4u, 2>, // output shape, up to 8 dims (innermost last)
  sa: array<vec4u, 2>,    // strides of a in elements, 0 where a is broadcast
  sb: array<vec4u, 2>,
}

@group(0) @binding(3) var<uniform> bp: Binary;
@group(0) @binding(4) var<storage, read> a: array<f32>;
@group(0) @binding(5) var<storage, read> b: array<f32>;

@compute @workgroup_size(64)
fn binary_flat(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  var i = flat_index(wg, nwg, li);
  if (i >= bp.threads) { return; }
  loop {
    out[i] = binary_op(a[i], b[i], bp.alpha, bp.beta);
    continuing {
      i += bp.threads;
      break if i >= bp.n;
    }
  }
}

// Output i of a broadcast: its position unravelled over the output shape, read through each side's strides.
fn binary_at(i: u32) -> f32 {
  if (RANK != 0u) {
    let k = unravel4(i, bp.shape[0], RANK);
    return binary_op(a[dot(k, bp.sa[0])], b[dot(k, bp.sb[0])], bp.alpha, bp.beta);
  }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(bp.rank) - 1; d >= 0; d--) {
    let size = bp.shape[d / 4][d % 4];
    let k = rest % size;
    rest = rest / size;
    ia += k * bp.sa[d / 4][d % 4];
    ib += k * bp.sb[d / 4][d % 4];
  }
  return binary_op(a[ia], b[ib], bp.alpha, bp.beta);
}

@compute @workgroup_size(64)
fn binary(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  var i = flat_index(wg, nwg, li);
  if (i >= bp.threads) { return; }
  loop {
    out[i] = binary_at(i);
    continuing {
      i += bp.threads;
      break if i >= bp.n;
    }
  }
}
