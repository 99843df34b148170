// Convolution kernel variants for the sweep in conv-sweep.ts, generated as WGSL: implicit GEMMs with a
// block of outputs per thread held in registers and no workgroup memory (the design that won for matmul
// on SwiftShader, bench/matmul-variants.ts), over an input padded once so that the inner loops do no
// bounds checks. Each variant is checked against the float64 CPU references of src/ops/conv.ts before it
// is timed. Nothing here is used by the library: the winners were promoted by hand into
// shaders/conv2d-forward.wgsl (conv_forward16 = `fwdf 16x16 u1`, conv_forward32 = `fwdf 8x32 u1`, both with
// tiles one after the other) and shaders/conv2d-weight-grad.wgsl (conv_weight_grad = `dwrf 32x16 u1`).
//
// On SwiftShader four consecutive invocations run as one SIMD vector, and a load from storage is one
// instruction when the four lanes read the same word (a broadcast) or four consecutive words (a vector
// load); anything else is four scalar loads. Each family arranges its lanes for that:
//
//   fwd   y (pixels, Cout) = patches of xp @ w. Lane l of a group of 4 owns channels c0 + l + 4 j
//         (j < CJ: consecutive words of w) of R pixels (shared: broadcasts of xp). Nested: a loop over
//         kernel rows, in it one along the row (KW * Cin contiguous words of xp), U steps at a time.
//         `fwdf`: one flat loop over k, the row offset stepped by a select, the condition at the end.
//         t: tiles a thread does one after the other. dx is the same kernel on dy dilated and padded,
//         with the weights flipped and transposed.
//   fwdp  the forward with the lanes on pixels instead (the input padded channel-major, weights read as
//         broadcasts).
//   dw    dw (KH*KW*Cin, Cout) = patches of xp^T @ dy, lanes on columns (dy) and R rows (tap, ci)
//         shared; K (every output pixel) split into runs of output rows summed by their own threads
//         (about `target` groups of 4 per weight set), then a kernel adds the runs in a fixed order.
//   dwr   the same with the lanes on rows (consecutive channels of a tap: consecutive words of xp) and
//         every thread C columns (broadcasts of dy). `dwf`, `dwrf`: one flat loop over the pixels.
//
// What the sweep showed (SwiftShader on 2 shared cores, so every figure was noisy): SwiftShader runs
// both sides of every `if` and a loop's body once more than its trip count, so flat loops with the test
// at the end and fewer, longer threads (t) win at short K (layer 1: K = 25); unrolling k (U > 1) lost
// everywhere; 64 accumulators a lane beat 16, 32 and 128; lanes on rows won the weight gradient.

import { gpu } from '../src/gpu/index.js';
import type { ConvGeometry } from '../src/ops/conv.js';
import { Tensor } from '../src/tensor/index.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export interface FwdVariant {
  kind: 'fwd';
  name: string;
  r: number; // pixels per thread
  cj: number; // channels per lane (the 4 lanes own 4 * cj)
  u: number; // k steps per loop iteration
  t: number; // tiles per thread, one after the other (fewer workgroups)
  flat: boolean; // one loop over all of K (stepped offsets) instead of a loop per kernel row
}

export interface DwVariant {
  kind: 'dw';
  name: string;
  r: number; // rows (tap, ci) per thread
  cj: number; // columns per lane
  u: number; // pixels per loop iteration
  target: number; // SIMD groups of work per weight set (K is split until there are about this many)
  flat: boolean;
}

/** dw with the lanes over rows: lane l owns rows row0 + l + 4 i (i < ri) and columns c0 + j (j < c). */
export interface DwrVariant {
  kind: 'dwr';
  name: string;
  ri: number;
  c: number;
  u: number;
  target: number;
  flat: boolean;
}

/**
 * Forward with the lanes over pixels: the input padded channel-major (G, N, Cin, Hp, Wp), lane l owns
 * pixels ow0 + l + 4 i (i < ri) of one output row, and every thread columns c0 + j (j < c), read as
 * broadcasts.
 */
export interface FwdpVariant {
  kind: 'fwdp';
  name: string;
  ri: number;
  c: number;
  t: number;
}

export type ConvVariant = FwdVariant | DwVariant | DwrVariant | FwdpVariant;

export function fwdpVariant(ri: number, c: number, t = 1): FwdpVariant {
  return { kind: 'fwdp', name: `fwdp ${4 * ri}x${c}${t > 1 ? ` t${t}` : ''}`, ri, c, t };
}

export function fwdVariant(r: number, cj: number, u: number, t = 1, flat = false): FwdVariant {
  return { kind: 'fwd', name: `fwd${flat ? 'f' : ''} ${r}x${4 * cj} u${u}${t > 1 ? ` t${t}` : ''}`, r, cj, u, t, flat };
}

export function dwVariant(r: number, cj: number, u: number, target = 64, flat = false): DwVariant {
  return { kind: 'dw', name: `dw${flat ? 'f' : ''} ${r}x${4 * cj} u${u} t${target}`, r, cj, u, target, flat };
}

export function dwrVariant(ri: number, c: number, u: number, target = 64, flat = false): DwrVariant {
  return { kind: 'dwr', name: `dwr${flat ? 'f' : ''} ${4 * ri}x${c} u${u} t${target}`, ri, c, u, target, flat };
}

// ---- the support kernels: pad (and dilate), flip-transpose, sum of splits ---------------------------------

const SUPPORT = `
struct Support {
  total: u32,    // elements of the output
  c: u32,        // channels
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  before_h: u32, // zeros before the first input row / column
  before_w: u32,
  dil_h: u32,    // input rows land every dil_h rows
  dil_w: u32,
  k_h: u32,      // flip: the kernel
  k_w: u32,
  c_out: u32,
  parts: u32,    // sum: terms per output
}
@group(0) @binding(0) var<uniform> s: Support;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// dst (G*N, out_h, out_w, C) = src (G*N, in_h, in_w, C) dilated by (dil_h, dil_w), after before_h rows
// and before_w columns of zeros, zeros after.
@compute @workgroup_size(64)
fn pad(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + li;
  if (i >= s.total) { return; }
  let c = i % s.c;
  let px = i / s.c;
  let j = px % s.out_w;
  let rest = px / s.out_w;
  let h = rest % s.out_h;
  let img = rest / s.out_h;
  let a = i32(h) - i32(s.before_h);
  let b = i32(j) - i32(s.before_w);
  var v = 0.0;
  if (a >= 0 && b >= 0) {
    let ih = u32(a) / s.dil_h;
    let iw = u32(b) / s.dil_w;
    if (ih * s.dil_h == u32(a) && iw * s.dil_w == u32(b) && ih < s.in_h && iw < s.in_w) {
      v = src[((img * s.in_h + ih) * s.in_w + iw) * s.c + c];
    }
  }
  dst[i] = v;
}

// dst (G*N, C, out_h, out_w) = src (G*N, in_h, in_w, C) after before_h rows and before_w columns of
// zeros (channel-major: a row of one channel is contiguous)
@compute @workgroup_size(64)
fn pad_cmajor(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + li;
  if (i >= s.total) { return; }
  let j = i % s.out_w;
  var rest = i / s.out_w;
  let h = rest % s.out_h;
  rest = rest / s.out_h;
  let c = rest % s.c;
  let img = rest / s.c;
  let a = i32(h) - i32(s.before_h);
  let b = i32(j) - i32(s.before_w);
  var v = 0.0;
  if (a >= 0 && b >= 0 && u32(a) < s.in_h && u32(b) < s.in_w) {
    v = src[((img * s.in_h + u32(a)) * s.in_w + u32(b)) * s.c + c];
  }
  dst[i] = v;
}

// dst (G, KH, KW, Cout, Cin) [kh, kw, co, ci] = src (G, KH, KW, Cin, Cout) [KH-1-kh, KW-1-kw, ci, co]
@compute @workgroup_size(64)
fn flip(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + li;
  if (i >= s.total) { return; }
  let ci = i % s.c;
  var rest = i / s.c;
  let co = rest % s.c_out;
  rest = rest / s.c_out;
  let kw = rest % s.k_w;
  rest = rest / s.k_w;
  let kh = rest % s.k_h;
  let g = rest / s.k_h;
  dst[i] = src[((((g * s.k_h + s.k_h - 1u - kh) * s.k_w + s.k_w - 1u - kw) * s.c + ci) * s.c_out + co)];
}

// dst[g, e] = sum over parts q in order of src[g, q, e], e < c elements per group
@compute @workgroup_size(64)
fn sum_parts(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 64u + li;
  if (i >= s.total) { return; }
  let e = i % s.c;
  let g = i / s.c;
  var at = g * s.parts * s.c + e;
  var acc = 0.0;
  for (var q = 0u; q < s.parts; q++) {
    acc += src[at];
    at += s.c;
  }
  dst[i] = acc;
}
`;

const CONV_STRUCT = `
struct Conv {
  n: u32,
  out_h: u32,
  out_w: u32,
  c_in: u32,
  c_out: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,     // rows of xp (the padded input)
  pad_w: u32,     // columns of xp
  has_bias: u32,
  col_tiles: u32, // ceil(cols / (4 CJ))
  row_tiles: u32, // dw: ceil(KH*KW*Cin / R)
  chunk: u32,     // dw: output rows (image, oh) per split
  splits: u32,    // dw
}
@group(0) @binding(0) var<uniform> p: Conv;
`;

function fwdSource(v: FwdVariant): string {
  const { r: R, cj: CJ, u: U, t: T } = v;
  const H: string[] = [CONV_STRUCT];
  const L: string[] = [];
  H.push('@group(0) @binding(1) var<storage, read> xp: array<f32>;');
  H.push('@group(0) @binding(2) var<storage, read> weight: array<f32>;');
  H.push('@group(0) @binding(3) var<storage, read> bias: array<f32>;');
  H.push('@group(0) @binding(4) var<storage, read_write> y: array<f32>;');
  H.push('@compute @workgroup_size(64)');
  H.push(
    'fn conv(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {',
  );
  H.push('  let t = (wg.y * nwg.x + wg.x) * 64u + li;');
  H.push('  let lane = t % 4u;');
  H.push('  let rows = p.n * p.out_h * p.out_w;');
  H.push(`  for (var qi = 0u; qi < ${T}u; qi++) {`);
  L.push(`  let q = (t / 4u) * ${T}u + qi;`);
  L.push(`  let p0 = (q / p.col_tiles) * ${R}u;`);
  L.push('  if (p0 >= rows) { break; }');
  L.push(`  let co = (q % p.col_tiles) * ${4 * CJ}u + lane;`);
  L.push('  let g = wg.z;');
  L.push('  let row_len = p.k_w * p.c_in;');
  L.push('  let xrow = p.pad_w * p.c_in;');
  L.push('  let xp_base = g * p.n * p.pad_h * xrow;');
  // the pixels p0.. (image, oh, ow), stepped without divisions; past the last pixel, the last image
  L.push('  var ow = p0 % p.out_w;');
  L.push('  var oh = (p0 / p.out_w) % p.out_h;');
  L.push('  var img = p0 / p.out_w / p.out_h;');
  for (const r of range(R)) {
    L.push(
      `  let xb${r} = xp_base + ((min(img, p.n - 1u) * p.pad_h + oh * p.stride_h) * p.pad_w + ow * p.stride_w) * p.c_in;`,
    );
    if (r < R - 1) {
      L.push('  ow += 1u;');
      L.push('  if (ow == p.out_w) { ow = 0u; oh += 1u; }');
      L.push('  if (oh == p.out_h) { oh = 0u; img += 1u; }');
    }
  }
  for (const j of range(CJ)) L.push(`  let wc${j} = min(co + ${4 * j}u, p.c_out - 1u);`);
  for (const r of range(R)) for (const j of range(CJ)) L.push(`  var acc${r}_${j} = 0.0;`);
  L.push('  var wo = g * p.k_h * row_len * p.c_out;');
  // one k step: x at xb_r + off, the weights of row k at wo
  const step = (ind: string, u: number, off: string) => {
    for (const r of range(R)) L.push(`${ind}let a${r}_${u} = xp[xb${r} + ${off}];`);
    for (const j of range(CJ)) L.push(`${ind}let b${j}_${u} = weight[wo + wc${j}${u ? ` + ${u}u * p.c_out` : ''}];`);
    for (const r of range(R))
      for (const j of range(CJ)) L.push(`${ind}acc${r}_${j} = fma(a${r}_${u}, b${j}_${u}, acc${r}_${j});`);
  };
  if (v.flat) {
    // one loop over k = (kh, j), j along a kernel row; the row offset xo jumps by a select; the condition
    // at the end (SwiftShader runs a loop's body once more, masked, when it is tested at the top)
    L.push('  let depth = p.k_h * row_len;');
    L.push('  var xo = 0u;');
    L.push('  var j = 0u;');
    L.push('  var k = 0u;');
    L.push('  loop {');
    step('    ', 0, 'xo + j');
    L.push('    wo += p.c_out;');
    L.push('    j += 1u;');
    L.push('    let wrap = j == row_len;');
    L.push('    j = select(j, 0u, wrap);');
    L.push('    xo = select(xo, xo + xrow, wrap);');
    L.push('    continuing {');
    L.push('      k++;');
    L.push('      break if k >= depth;');
    L.push('    }');
    L.push('  }');
  } else {
    // a loop over kernel rows, and in it over the row, U steps at a time, then one at a time
    L.push('  for (var kh = 0u; kh < p.k_h; kh++) {');
    L.push('    var xo = kh * xrow;');
    L.push('    var kk = 0u;');
    if (U > 1) {
      L.push(`    for (; kk + ${U}u <= row_len; kk += ${U}u) {`);
      for (const u of range(U)) step('      ', u, `xo${u ? ` + ${u}u` : ''}`);
      L.push(`      xo += ${U}u;`);
      L.push(`      wo += ${U}u * p.c_out;`);
      L.push('    }');
    }
    L.push('    for (; kk < row_len; kk++) {');
    step('      ', 0, 'xo');
    L.push('      xo += 1u;');
    L.push('      wo += p.c_out;');
    L.push('    }');
    L.push('  }');
  }
  L.push('  let y_base = g * rows * p.c_out;');
  for (const j of range(CJ)) {
    L.push(`  let bias${j} = select(0.0, bias[g * p.c_out + wc${j}], p.has_bias == 1u);`);
  }
  for (const r of range(R)) {
    L.push(`  if (p0 + ${r}u < rows) {`);
    for (const j of range(CJ)) {
      const st = `y[y_base + (p0 + ${r}u) * p.c_out + co + ${4 * j}u] = acc${r}_${j} + bias${j};`;
      L.push(`    if (co + ${4 * j}u < p.c_out) { ${st} }`);
    }
    L.push('  }');
  }
  return [...H, ...L.map((l) => `  ${l}`), '  }', '}'].join('\n');
}

/**
 * The K loop of the dw kernels over output rows split*chunk.. of the weight set: nested (a loop over
 * output rows, then over the pixels of a row, U at a time) or flat (one loop over every pixel, the
 * offsets stepped from pixel to pixel). step(indent, u) emits one pixel's work at xb + u * xstep, db + u * c_out.
 */
function pixelLoop(L: string[], step: (ind: string, u: number) => void, U: number, flat: boolean): void {
  L.push('  let line0 = split * p.chunk;');
  L.push('  let line1 = min(line0 + p.chunk, p.n * p.out_h);');
  L.push('  let xstep = p.stride_w * p.c_in;');
  if (flat) {
    L.push('  var oh = line0 % p.out_h;');
    L.push('  var ow = 0u;');
    L.push('  var xb = xp_base + ((line0 / p.out_h) * p.pad_h + oh * p.stride_h) * xrow;');
    L.push('  var db = (g * p.n * p.out_h + line0) * p.out_w * p.c_out;');
    L.push('  let row_jump = p.stride_h * xrow - p.out_w * xstep; // u32 arithmetic wraps: may be "negative"');
    L.push('  let img_jump = (p.pad_h - p.out_h * p.stride_h) * xrow;');
    L.push('  let count = (line1 - line0) * p.out_w;');
    L.push('  for (var k = 0u; k < count; k++) {');
    step('    ', 0);
    L.push('    xb += xstep;');
    L.push('    db += p.c_out;');
    L.push('    ow += 1u;');
    L.push('    let wrap = ow == p.out_w;');
    L.push('    ow = select(ow, 0u, wrap);');
    L.push('    oh = select(oh, oh + 1u, wrap);');
    L.push('    xb = select(xb, xb + row_jump, wrap);');
    L.push('    let wrap2 = oh == p.out_h;');
    L.push('    oh = select(oh, 0u, wrap2);');
    L.push('    xb = select(xb, xb + img_jump, wrap2);');
    L.push('  }');
    return;
  }
  L.push('  for (var line = line0; line < line1; line++) {');
  L.push('    var xb = xp_base + ((line / p.out_h) * p.pad_h + (line % p.out_h) * p.stride_h) * xrow;');
  L.push('    var db = (g * p.n * p.out_h + line) * p.out_w * p.c_out;');
  L.push('    var ow = 0u;');
  if (U > 1) {
    L.push(`    for (; ow + ${U}u <= p.out_w; ow += ${U}u) {`);
    for (const u of range(U)) step('      ', u);
    L.push(`      xb += ${U}u * xstep;`);
    L.push(`      db += ${U}u * p.c_out;`);
    L.push('    }');
  }
  L.push('    for (; ow < p.out_w; ow++) {');
  step('      ', 0);
  L.push('      xb += xstep;');
  L.push('      db += p.c_out;');
  L.push('    }');
  L.push('  }');
}

function dwSource(v: DwVariant): string {
  const { r: R, cj: CJ, u: U } = v;
  const L: string[] = [CONV_STRUCT];
  L.push('@group(0) @binding(1) var<storage, read> xp: array<f32>;');
  L.push('@group(0) @binding(5) var<storage, read> dy: array<f32>;');
  L.push('@group(0) @binding(7) var<storage, read_write> part: array<f32>;');
  L.push('@compute @workgroup_size(64)');
  L.push(
    'fn conv(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {',
  );
  L.push('  let t = (wg.y * nwg.x + wg.x) * 64u + li;');
  L.push('  let lane = t % 4u;');
  L.push('  let q = t / 4u;');
  L.push('  let rest = q / p.col_tiles;');
  L.push('  let split = rest / p.row_tiles;');
  L.push('  if (split >= p.splits) { return; }');
  L.push(`  let row0 = (rest % p.row_tiles) * ${R}u;`);
  L.push(`  let co = (q % p.col_tiles) * ${4 * CJ}u + lane;`);
  L.push('  let g = wg.z;');
  L.push('  let rows = p.k_h * p.k_w * p.c_in;');
  L.push('  let xrow = p.pad_w * p.c_in;');
  L.push('  let xp_base = g * p.n * p.pad_h * xrow;');
  // the rows row0.. (kh, kw, ci), stepped without divisions; past the last row, the last tap row
  L.push('  var ci = row0 % p.c_in;');
  L.push('  var kw = (row0 / p.c_in) % p.k_w;');
  L.push('  var kh = row0 / p.c_in / p.k_w;');
  for (const r of range(R)) {
    L.push(`  let off${r} = (min(kh, p.k_h - 1u) * p.pad_w + kw) * p.c_in + ci;`);
    if (r < R - 1) {
      L.push('  ci += 1u;');
      L.push('  if (ci == p.c_in) { ci = 0u; kw += 1u; }');
      L.push('  if (kw == p.k_w) { kw = 0u; kh += 1u; }');
    }
  }
  for (const j of range(CJ)) L.push(`  let dc${j} = min(co + ${4 * j}u, p.c_out - 1u);`);
  for (const r of range(R)) for (const j of range(CJ)) L.push(`  var acc${r}_${j} = 0.0;`);
  const step = (ind: string, u: number) => {
    for (const r of range(R)) L.push(`${ind}let a${r}_${u} = xp[xb + off${r}${u ? ` + ${u}u * xstep` : ''}];`);
    for (const j of range(CJ)) L.push(`${ind}let b${j}_${u} = dy[db + dc${j}${u ? ` + ${u}u * p.c_out` : ''}];`);
    for (const r of range(R))
      for (const j of range(CJ)) L.push(`${ind}acc${r}_${j} = fma(a${r}_${u}, b${j}_${u}, acc${r}_${j});`);
  };
  pixelLoop(L, step, U, v.flat);
  L.push('  let part_base = (g * p.splits + split) * rows * p.c_out;');
  for (const r of range(R)) {
    L.push(`  if (row0 + ${r}u < rows) {`);
    for (const j of range(CJ)) {
      L.push(
        `    if (co + ${4 * j}u < p.c_out) { part[part_base + (row0 + ${r}u) * p.c_out + co + ${4 * j}u] = acc${r}_${j}; }`,
      );
    }
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}

function dwrSource(v: DwrVariant): string {
  const { ri: RI, c: C, u: U } = v;
  const L: string[] = [CONV_STRUCT];
  L.push('@group(0) @binding(1) var<storage, read> xp: array<f32>;');
  L.push('@group(0) @binding(5) var<storage, read> dy: array<f32>;');
  L.push('@group(0) @binding(7) var<storage, read_write> part: array<f32>;');
  L.push('@compute @workgroup_size(64)');
  L.push(
    'fn conv(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {',
  );
  L.push('  let t = (wg.y * nwg.x + wg.x) * 64u + li;');
  L.push('  let lane = t % 4u;');
  L.push('  let q = t / 4u;');
  L.push('  let rest = q / p.col_tiles;');
  L.push('  let split = rest / p.row_tiles;');
  L.push('  if (split >= p.splits) { return; }');
  L.push(`  let row0 = (rest % p.row_tiles) * ${4 * RI}u + lane;`);
  L.push(`  let c0 = (q % p.col_tiles) * ${C}u;`);
  L.push('  let g = wg.z;');
  L.push('  let rows = p.k_h * p.k_w * p.c_in;');
  L.push('  let xrow = p.pad_w * p.c_in;');
  L.push('  let xp_base = g * p.n * p.pad_h * xrow;');
  for (const i of range(RI)) {
    L.push(`  let rr${i} = min(row0 + ${4 * i}u, rows - 1u);`);
    L.push(`  let tap${i} = rr${i} / p.c_in;`);
    L.push(`  let off${i} = ((tap${i} / p.k_w) * p.pad_w + tap${i} % p.k_w) * p.c_in + rr${i} % p.c_in;`);
  }
  for (const j of range(C)) L.push(`  let dc${j} = min(c0 + ${j}u, p.c_out - 1u);`);
  for (const i of range(RI)) for (const j of range(C)) L.push(`  var acc${i}_${j} = 0.0;`);
  const step = (ind: string, u: number) => {
    for (const i of range(RI)) L.push(`${ind}let a${i}_${u} = xp[xb + off${i}${u ? ` + ${u}u * xstep` : ''}];`);
    for (const j of range(C)) L.push(`${ind}let b${j}_${u} = dy[db + dc${j}${u ? ` + ${u}u * p.c_out` : ''}];`);
    for (const i of range(RI))
      for (const j of range(C)) L.push(`${ind}acc${i}_${j} = fma(a${i}_${u}, b${j}_${u}, acc${i}_${j});`);
  };
  pixelLoop(L, step, U, v.flat);
  L.push('  let part_base = (g * p.splits + split) * rows * p.c_out;');
  for (const i of range(RI)) {
    L.push(`  if (row0 + ${4 * i}u < rows) {`);
    for (const j of range(C)) {
      L.push(
        `    if (c0 + ${j}u < p.c_out) { part[part_base + (row0 + ${4 * i}u) * p.c_out + c0 + ${j}u] = acc${i}_${j}; }`,
      );
    }
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}

function fwdpSource(v: FwdpVariant): string {
  const { ri: RI, c: C, t: T } = v;
  const H: string[] = [CONV_STRUCT];
  const L: string[] = [];
  H.push('@group(0) @binding(1) var<storage, read> xp: array<f32>;');
  H.push('@group(0) @binding(2) var<storage, read> weight: array<f32>;');
  H.push('@group(0) @binding(3) var<storage, read> bias: array<f32>;');
  H.push('@group(0) @binding(4) var<storage, read_write> y: array<f32>;');
  H.push('@compute @workgroup_size(64)');
  H.push(
    'fn conv(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {',
  );
  H.push('  let t = (wg.y * nwg.x + wg.x) * 64u + li;');
  H.push('  let lane = t % 4u;');
  H.push('  let g = wg.z;');
  H.push('  let plane = p.pad_h * p.pad_w;');
  H.push('  let xp_base = g * p.n * p.c_in * plane;');
  H.push('  let w_base = g * p.k_h * p.k_w * p.c_in * p.c_out;');
  H.push('  let wstep = p.c_in * p.c_out;');
  H.push(`  for (var qi = 0u; qi < ${T}u; qi++) {`);
  L.push(`  let q = (t / 4u) * ${T}u + qi;`);
  L.push('  let rest = q / p.col_tiles;');
  L.push('  let line = rest / p.row_tiles;'); // row_tiles: tiles along ow
  L.push('  if (line >= p.n * p.out_h) { break; }');
  L.push(`  let ow0 = (rest % p.row_tiles) * ${4 * RI}u + lane;`);
  L.push(`  let c0 = (q % p.col_tiles) * ${C}u;`);
  L.push('  let oh = line % p.out_h;');
  L.push('  let img = line / p.out_h;');
  L.push('  let xrow0 = xp_base + img * p.c_in * plane + oh * p.stride_h * p.pad_w;');
  for (const i of range(RI)) L.push(`  let xb${i} = xrow0 + min(ow0 + ${4 * i}u, p.out_w - 1u) * p.stride_w;`);
  for (const j of range(C)) L.push(`  let wc${j} = min(c0 + ${j}u, p.c_out - 1u);`);
  for (const i of range(RI)) for (const j of range(C)) L.push(`  var acc${i}_${j} = 0.0;`);
  L.push('  for (var ci = 0u; ci < p.c_in; ci++) {');
  L.push('    for (var kh = 0u; kh < p.k_h; kh++) {');
  L.push('      var xo = ci * plane + kh * p.pad_w;');
  L.push('      var wo = w_base + (kh * p.k_w * p.c_in + ci) * p.c_out;');
  L.push('      for (var kw = 0u; kw < p.k_w; kw++) {');
  for (const i of range(RI)) L.push(`        let a${i} = xp[xb${i} + xo];`);
  for (const j of range(C)) L.push(`        let b${j} = weight[wo + wc${j}];`);
  for (const i of range(RI))
    for (const j of range(C)) L.push(`        acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});`);
  L.push('        xo += 1u;');
  L.push('        wo += wstep;');
  L.push('      }');
  L.push('    }');
  L.push('  }');
  L.push('  let y_row = (g * p.n * p.out_h + line) * p.out_w;');
  for (const j of range(C)) L.push(`  let bias${j} = select(0.0, bias[g * p.c_out + wc${j}], p.has_bias == 1u);`);
  for (const i of range(RI)) {
    L.push(`  if (ow0 + ${4 * i}u < p.out_w) {`);
    for (const j of range(C)) {
      L.push(
        `    if (c0 + ${j}u < p.c_out) { y[(y_row + ow0 + ${4 * i}u) * p.c_out + c0 + ${j}u] = acc${i}_${j} + bias${j}; }`,
      );
    }
    L.push('  }');
  }
  return [...H, ...L.map((l) => `  ${l}`), '  }', '}'].join('\n');
}

export function variantSource(v: ConvVariant): string {
  if (v.kind === 'fwd') return fwdSource(v);
  if (v.kind === 'fwdp') return fwdpSource(v);
  return v.kind === 'dw' ? dwSource(v) : dwrSource(v);
}

const registered = new Set<string>();
const shaderName = (v: ConvVariant) => `bench_conv_${v.name.replace(/[^a-z0-9]+/gi, '_')}`;

function register(v: ConvVariant | null): string {
  const name = v ? shaderName(v) : 'bench_conv_support';
  if (!registered.has(name)) {
    gpu().kernels.register(name, v ? variantSource(v) : SUPPORT);
    registered.add(name);
  }
  return name;
}

/** Workgroups for `threads` threads of 64 per group, spread over x and y, G in z. */
function grid(threads: number, groups: number): [number, number, number] {
  const wgs = Math.ceil(threads / 64);
  const max = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.ceil(wgs / max);
  return [Math.ceil(wgs / y), y, groups];
}

function support(
  entry: 'pad' | 'pad_cmajor' | 'flip' | 'sum_parts',
  src: Tensor,
  dst: Tensor,
  u: Partial<Record<string, number>>,
): void {
  const uniforms = {
    total: dst.size,
    c: 1,
    in_h: 1,
    in_w: 1,
    out_h: 1,
    out_w: 1,
    before_h: 0,
    before_w: 0,
    dil_h: 1,
    dil_w: 1,
    k_h: 1,
    k_w: 1,
    c_out: 1,
    parts: 1,
    ...u,
  } as Record<string, number>;
  gpu().dispatch(
    { shader: register(null), entry },
    { src: src.ref, dst: dst.ref },
    uniforms,
    grid(dst.size, 1),
    `conv ${entry}`,
  );
}

/** x (G, N, H, W, C) padded to (G, N, Hp, Wp, C) = the receptive extent of the output. */
export function padInput(x: Tensor, g: ConvGeometry): { xp: Tensor; ph: number; pw: number } {
  const ph = (g.outH - 1) * g.strideH + g.kH;
  const pw = (g.outW - 1) * g.strideW + g.kW;
  const xp = Tensor.empty([g.groups, g.n, ph, pw, g.cIn]);
  support('pad', x, xp, {
    c: g.cIn,
    in_h: g.inH,
    in_w: g.inW,
    out_h: ph,
    out_w: pw,
    before_h: g.padTop,
    before_w: g.padLeft,
  });
  return { xp, ph, pw };
}

function fwdDispatch(
  v: FwdVariant,
  xp: Tensor,
  w: Tensor,
  bias: Tensor | null,
  y: Tensor,
  d: { groups: number; n: number; outH: number; outW: number; cIn: number; cOut: number; kH: number; kW: number },
  stride: [number, number],
  ph: number,
  pw: number,
): void {
  const rows = d.n * d.outH * d.outW;
  const colTiles = Math.ceil(d.cOut / (4 * v.cj));
  const threads = Math.ceil((Math.ceil(rows / v.r) * colTiles) / v.t) * 4;
  const u = {
    n: d.n,
    out_h: d.outH,
    out_w: d.outW,
    c_in: d.cIn,
    c_out: d.cOut,
    k_h: d.kH,
    k_w: d.kW,
    stride_h: stride[0],
    stride_w: stride[1],
    pad_h: ph,
    pad_w: pw,
    has_bias: bias ? 1 : 0,
    col_tiles: colTiles,
    row_tiles: 1,
    chunk: 1,
    splits: 1,
  };
  gpu().dispatch(
    { shader: register(v), entry: 'conv' },
    { xp: xp.ref, weight: w.ref, bias: (bias ?? w).ref, y: y.ref },
    u,
    grid(threads, d.groups),
    v.name,
  );
}

function fwdpForward(v: FwdpVariant, x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const ph = (g.outH - 1) * g.strideH + g.kH;
  const pw = (g.outW - 1) * g.strideW + g.kW;
  const xq = Tensor.empty([g.groups, g.n, g.cIn, ph, pw]);
  support('pad_cmajor', x, xq, {
    c: g.cIn,
    in_h: g.inH,
    in_w: g.inW,
    out_h: ph,
    out_w: pw,
    before_h: g.padTop,
    before_w: g.padLeft,
  });
  const y = Tensor.empty([g.groups, g.n, g.outH, g.outW, g.cOut]);
  const colTiles = Math.ceil(g.cOut / v.c);
  const owTiles = Math.ceil(g.outW / (4 * v.ri));
  const threads = Math.ceil((g.n * g.outH * owTiles * colTiles) / v.t) * 4;
  const u = {
    n: g.n,
    out_h: g.outH,
    out_w: g.outW,
    c_in: g.cIn,
    c_out: g.cOut,
    k_h: g.kH,
    k_w: g.kW,
    stride_h: g.strideH,
    stride_w: g.strideW,
    pad_h: ph,
    pad_w: pw,
    has_bias: bias ? 1 : 0,
    col_tiles: colTiles,
    row_tiles: owTiles,
    chunk: 1,
    splits: 1,
  };
  gpu().dispatch(
    { shader: register(v), entry: 'conv' },
    { xp: xq.ref, weight: w.ref, bias: (bias ?? w).ref, y: y.ref },
    u,
    grid(threads, g.groups),
    v.name,
  );
  xq.dispose();
  return y;
}

/** y (G, N, OH, OW, Cout) with a fwd variant: pad, then the kernel. */
export function variantForward(
  v: FwdVariant | FwdpVariant,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
): Tensor {
  if (v.kind === 'fwdp') return fwdpForward(v, x, w, bias, g);
  const { xp, ph, pw } = padInput(x, g);
  const y = Tensor.empty([g.groups, g.n, g.outH, g.outW, g.cOut]);
  fwdDispatch(v, xp, w, bias, y, g, [g.strideH, g.strideW], ph, pw);
  xp.dispose();
  return y;
}

/** dx (G, N, H, W, Cin) with a fwd variant: dy dilated and padded, w flipped and transposed. */
export function variantBackwardInput(v: FwdVariant, dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const qh = g.inH + g.kH - 1;
  const qw = g.inW + g.kW - 1;
  const dyp = Tensor.empty([g.groups, g.n, qh, qw, g.cOut]);
  support('pad', dy, dyp, {
    c: g.cOut,
    in_h: g.outH,
    in_w: g.outW,
    out_h: qh,
    out_w: qw,
    before_h: g.kH - 1 - g.padTop,
    before_w: g.kW - 1 - g.padLeft,
    dil_h: g.strideH,
    dil_w: g.strideW,
  });
  const wt = Tensor.empty([g.groups, g.kH, g.kW, g.cOut, g.cIn]);
  support('flip', w, wt, { c: g.cIn, c_out: g.cOut, k_h: g.kH, k_w: g.kW });
  const dx = Tensor.empty([g.groups, g.n, g.inH, g.inW, g.cIn]);
  const d = { groups: g.groups, n: g.n, outH: g.inH, outW: g.inW, cIn: g.cOut, cOut: g.cIn, kH: g.kH, kW: g.kW };
  fwdDispatch(v, dyp, wt, null, dx, d, [1, 1], qh, qw);
  dyp.dispose();
  wt.dispose();
  return dx;
}

/** Rows and columns of dw per SIMD group of a dw variant. */
function dwTile(v: DwVariant | DwrVariant): [number, number] {
  return v.kind === 'dw' ? [v.r, 4 * v.cj] : [4 * v.ri, v.c];
}

/** Splits of K for dw: about v.target SIMD groups of work per weight set (independent of G). */
export function dwSplits(v: DwVariant | DwrVariant, g: ConvGeometry): { chunk: number; splits: number } {
  const lines = g.n * g.outH;
  const [tr, tc] = dwTile(v);
  const tiles = Math.ceil((g.kH * g.kW * g.cIn) / tr) * Math.ceil(g.cOut / tc);
  const want = Math.max(1, Math.min(lines, Math.ceil(v.target / tiles)));
  const chunk = Math.ceil(lines / want);
  return { chunk, splits: Math.ceil(lines / chunk) };
}

/** dw (G, KH, KW, Cin, Cout) with a dw variant: pad x, partial sums over runs of output rows, their sum. */
export function variantBackwardWeight(v: DwVariant | DwrVariant, x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const { xp, ph, pw } = padInput(x, g);
  const rows = g.kH * g.kW * g.cIn;
  const [tr, tc] = dwTile(v);
  const rowTiles = Math.ceil(rows / tr);
  const colTiles = Math.ceil(g.cOut / tc);
  const { chunk, splits } = dwSplits(v, g);
  const part = Tensor.empty([g.groups, splits, rows, g.cOut]);
  const u = {
    n: g.n,
    out_h: g.outH,
    out_w: g.outW,
    c_in: g.cIn,
    c_out: g.cOut,
    k_h: g.kH,
    k_w: g.kW,
    stride_h: g.strideH,
    stride_w: g.strideW,
    pad_h: ph,
    pad_w: pw,
    has_bias: 0,
    col_tiles: colTiles,
    row_tiles: rowTiles,
    chunk,
    splits,
  };
  gpu().dispatch(
    { shader: register(v), entry: 'conv' },
    { xp: xp.ref, dy: dy.ref, part: part.ref },
    u,
    grid(splits * rowTiles * colTiles * 4, g.groups),
    v.name,
  );
  const dw = Tensor.empty([g.groups, g.kH, g.kW, g.cIn, g.cOut]);
  support('sum_parts', part, dw, { c: rows * g.cOut, parts: splits });
  xp.dispose();
  part.dispose();
  return dw;
}
