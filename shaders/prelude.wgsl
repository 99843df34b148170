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
// kept and the reduced dims of their input this way (src/ops/reduce.ts, reductionPlan). pos < the product of
// the sizes.
fn strided_offset(pos: u32, rank: u32, dims: vec4u, steps: vec4u) -> u32 {
  if (rank == 1u) { return pos * steps[0]; }
  var rest = pos;
  var at = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    at += (rest % dims[d]) * steps[d];
    rest /= dims[d];
  }
  return at;
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
