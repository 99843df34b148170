// The prelude: WGSL that every module in shaders/ shares. WGSL has no include, so esbuild.config.mjs puts
// this file in front of each shaders/<name>.wgsl when it writes src/gpu/shaders.gen.ts. It is not a kernel
// module (no bindings, no entry points; not a ShaderName), and it holds only what two or more modules would
// otherwise copy. A compile error in these lines names shaders/prelude.wgsl (src/gpu/kernels.ts).
//
// Rules for what goes here, which the generator checks:
//  - declarations start at column 0, as in every file of shaders/;
//  - no parameter or local is named like a binding of any module: wgsl_reflect takes such a name, in a
//    function an entry point calls, for a use of the binding;
//  - a module that declares one of these names keeps its own: the generator leaves the prelude's out of that
//    module (and says so when it runs).

// ---- 1-D jobs ----------------------------------------------------------------------------------------
// A 1-D job of n threads runs in workgroups of 64 spread over the grid's x and y, since one dimension holds
// at most 65,535 workgroups (groups1d in src/gpu/groups.ts sizes the grid). Its entry points are
// @workgroup_size(64) and take the flat index of their invocation from the built-ins:
fn flat_index(wg: vec3u, nwg: vec3u, li: u32) -> u32 {
  return (wg.y * nwg.x + wg.x) * 64u + li;
}

// ---- strided addressing --------------------------------------------------------------------------------
// Position `pos` of an index space of `rank` dims (at most 4, innermost last) with sizes `dims`, read through
// `steps` (element strides): sum over d of pos_d * steps[d]. Reductions and batch normalisation address the
// kept and the reduced dims of their input this way (src/ops/reduce.ts, reductionPlan), with their ranks as
// pipeline constants (KEPT_RANK, RED_RANK: see unravel4). pos < the product of the sizes.
fn strided_offset(pos: u32, rank: u32, dims: vec4u, steps: vec4u) -> u32 {
  return dot(unravel4(pos, dims, rank), steps);
}

// ---- a flat index split into its dims --------------------------------------------------------------------
// The position of flat index i in an index space of `rank` <= 4 dims with sizes `dims` (innermost at
// rank - 1), as a vec4u (dims past the rank 0), ready for dot() with a vec4u of strides. Called with a
// pipeline constant for the rank, every test below folds away: on SwiftShader this costs a seventh of a loop
// over a uniform rank that indexes its arrays by the loop variable (measured on a (128, 800) broadcast).
fn unravel4(i: u32, dims: vec4u, rank: u32) -> vec4u {
  var k = vec4u(0u);
  var rest = i;
  if (rank >= 4u) { k.w = rest % dims.w; rest /= dims.w; }
  if (rank >= 3u) { k.z = rest % dims.z; rest /= dims.z; }
  if (rank >= 2u) { k.y = rest % dims.y; rest /= dims.y; }
  k.x = rest;
  return k;
}

// ---- NaN -----------------------------------------------------------------------------------------------
// The bit pattern of the quiet NaN the kernels write where a result is undefined (an index out of range),
// for kernels that move raw u32 words.
const NAN_BITS = 0x7fc00000u;

// The same NaN as an f32, made at run time: a constant expression may not be NaN.
fn nan_f32() -> f32 {
  var bits = NAN_BITS;
  return bitcast<f32>(bits);
}
