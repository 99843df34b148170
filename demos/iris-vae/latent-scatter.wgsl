// The latent scatter's points: one instanced quad a point (6 vertices, two triangles), cut to a disc with a
// dark rim in the fragment shader. Positions are in data units (the two principal axes); `view.transform`
// takes them to clip space (the fit of the data to the canvas, then the user's pan and zoom: gl-matrix's
// mat3, column-major, each column padded to a vec4 as WGSL's mat3x3f is laid out in a uniform buffer).
// The radius is in pixels, so zooming spreads the points without growing them.
//
// Not a compute shader: it only draws, and reads nothing but its vertex buffer and this uniform.

struct View {
  transform: mat3x3f, // data -> clip
  viewport: vec2f, // canvas size in pixels
  radius: f32, // point radius in pixels
}

@group(0) @binding(0) var<uniform> view: View;

struct Varyings {
  @builtin(position) position: vec4f,
  @location(0) local: vec2f, // the corner's offset from the centre, in radii: (+-1, +-1)
  @location(1) color: vec4f,
}

@vertex
fn vs_point(@builtin(vertex_index) v: u32, @location(0) at: vec2f, @location(1) color: vec4f) -> Varyings {
  var corners = array<vec2f, 6>(
    vec2f(-1.0, -1.0), vec2f(1.0, -1.0), vec2f(-1.0, 1.0),
    vec2f(-1.0, 1.0), vec2f(1.0, -1.0), vec2f(1.0, 1.0),
  );
  let corner = corners[v];
  let centre = view.transform * vec3f(at, 1.0);
  var out: Varyings;
  // (radius + 1) pixels: one pixel of margin for the anti-aliased edge
  out.position = vec4f(centre.xy + corner * (view.radius + 1.0) * 2.0 / view.viewport, 0.0, 1.0);
  out.local = corner * (view.radius + 1.0) / view.radius;
  out.color = color;
  return out;
}

@fragment
fn fs_point(in: Varyings) -> @location(0) vec4f {
  let r = length(in.local); // 1 at the disc's edge
  let px = 1.0 / view.radius; // one pixel, in radii
  let coverage = clamp((1.0 - r) / px + 0.5, 0.0, 1.0);
  if (coverage <= 0.0) {
    discard;
  }
  // a rim of about one pixel, darker than the fill, so light colours show on the white background
  let rim = clamp((r - (1.0 - 1.5 * px)) / px, 0.0, 1.0);
  let rgb = mix(in.color.rgb, in.color.rgb * 0.45, rim);
  let alpha = in.color.a * coverage;
  return vec4f(rgb * alpha, alpha); // premultiplied
}
