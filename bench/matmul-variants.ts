// Matmul kernel variants, generated as WGSL with the interface of shaders/matmul.wgsl (the same uniform
// struct `Matmul` and bindings a, b, c), so that the winner drops into the library. Each is checked
// against the float64 CPU reference (src/ops/matmul.ts) before it is timed (sweep.ts). Nothing here is
// used by the library: the winner is promoted by hand into shaders/matmul.wgsl.
//
// Two families:
//   tiled   the shipped design: a workgroup stages TK-deep slices of op(a) and op(b) in workgroup memory,
//           each thread accumulates an RxC block from them (TILE_M = R * threads_y, TILE_N = C * threads_x).
//   regs    no workgroup memory and no barrier: each thread owns an RxC block of c and reads op(a) and
//           op(b) straight from storage (caches do the sharing). On SwiftShader, which runs a workgroup's
//           invocations 4 to a SIMD vector, a barrier turns every 4 invocations into a coroutine that is
//           switched at each barrier, and a workgroup-memory access is a gather like any other, so staging
//           buys nothing there; on a discrete GPU it is the other way round.
//   `vec4`  (regs only) when op(a) and op(b) are row-major with K and N multiples of 4, loads 4 floats at a
//           time: a row of a along k, a row of b along n (entry matmul_vec4; the plain entry otherwise).
//   `unroll` (regs, plain entry) 4 k steps per loop iteration, then a remainder loop.
//   `fma`   fma(x, y, acc) or acc + x * y.

import { gpu } from '../src/gpu/index.js';
import { fmtShape, numel, Tensor } from '../src/tensor/index.js';

export interface Variant {
  name: string;
  family: 'tiled' | 'regs';
  r: number; // rows of c per thread
  c: number; // columns of c per thread
  wx: number; // threads per workgroup along columns
  wy: number; // along rows
  tk: number; // tiled: depth of the staged slice
  vec4: boolean;
  fma: boolean;
  unroll: number; // regs: k steps per loop iteration in the plain entry (1, or 4 with a remainder loop)
}

const HEADER = `
struct Matmul {
  m: u32,
  n: u32,
  k: u32,
  a_batch: u32,
  a_row: u32,
  a_col: u32,
  b_batch: u32,
  b_row: u32,
  b_col: u32,
  batch: u32,
}
@group(0) @binding(0) var<uniform> p: Matmul;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
`;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function madd(v: Variant, x: string, y: string, acc: string): string {
  return v.fma ? `${acc} = fma(${x}, ${y}, ${acc});` : `${acc} = ${acc} + ${x} * ${y};`;
}

/** Stores acc_i_j to c[row0 + i, col0 + j] where inside c. */
function stores(v: Variant, rowOf: (i: number) => string, colOf: (j: number) => string): string {
  const out: string[] = ['  let c0 = gid.z * p.m * p.n;'];
  for (const i of range(v.r)) {
    out.push(`  if (${rowOf(i)} < p.m) {`);
    for (const j of range(v.c)) {
      out.push(`    if (${colOf(j)} < p.n) { c[c0 + (${rowOf(i)}) * p.n + ${colOf(j)}] = acc_${i}_${j}; }`);
    }
    out.push('  }');
  }
  return out.join('\n');
}

const accs = (v: Variant) =>
  range(v.r)
    .flatMap((i) => range(v.c).map((j) => `  var acc_${i}_${j} = 0.0;`))
    .join('\n');

/** A regs kernel reading through the strides (any layout, any size); `unroll` k steps per iteration. */
function regsScalar(v: Variant): string {
  const lines: string[] = [];
  lines.push(HEADER);
  lines.push('@group(0) @binding(1) var<storage, read> a: array<f32>;');
  lines.push('@group(0) @binding(2) var<storage, read> b: array<f32>;');
  lines.push(`@compute @workgroup_size(${v.wx}, ${v.wy})`);
  lines.push('fn matmul(@builtin(global_invocation_id) gid: vec3u) {');
  lines.push(`  let row0 = gid.y * ${v.r}u;`);
  lines.push(`  let col0 = gid.x * ${v.c}u;`);
  lines.push('  if (row0 >= p.m || col0 >= p.n) { return; }');
  lines.push('  let a0 = gid.z * p.a_batch;');
  lines.push('  let b0 = gid.z * p.b_batch;');
  // rows and columns past the edge read the last one (in bounds) and are never stored
  for (const i of range(v.r)) lines.push(`  let ra${i} = a0 + min(row0 + ${i}u, p.m - 1u) * p.a_row;`);
  for (const j of range(v.c)) lines.push(`  let cb${j} = b0 + min(col0 + ${j}u, p.n - 1u) * p.b_col;`);
  lines.push(accs(v));
  lines.push('  var ka = 0u;');
  lines.push('  var kb = 0u;');
  lines.push('  var kk = 0u;');
  const step = (indent: string, q: number) => {
    const da = q ? ` + ${q}u * p.a_col` : '';
    const db = q ? ` + ${q}u * p.b_row` : '';
    for (const i of range(v.r)) lines.push(`${indent}let x${i}_${q} = a[ra${i} + ka${da}];`);
    for (const j of range(v.c)) lines.push(`${indent}let y${j}_${q} = b[cb${j} + kb${db}];`);
    for (const i of range(v.r)) {
      for (const j of range(v.c)) lines.push(`${indent}${madd(v, `x${i}_${q}`, `y${j}_${q}`, `acc_${i}_${j}`)}`);
    }
  };
  if (v.unroll > 1) {
    lines.push(`  for (; kk + ${v.unroll - 1}u < p.k; kk += ${v.unroll}u) {`);
    for (const q of range(v.unroll)) step('    ', q);
    lines.push(`    ka += ${v.unroll}u * p.a_col;`);
    lines.push(`    kb += ${v.unroll}u * p.b_row;`);
    lines.push('  }');
  }
  lines.push('  for (; kk < p.k; kk++) {');
  step('    ', 0);
  lines.push('    ka += p.a_col;');
  lines.push('    kb += p.b_row;');
  lines.push('  }');
  lines.push(
    stores(
      v,
      (i) => `row0 + ${i}u`,
      (j) => `col0 + ${j}u`,
    ),
  );
  lines.push('}');
  return lines.join('\n');
}

/** A regs kernel for row-major op(a) (M, K) and op(b) (K, N) with K % 4 == 0 and N % 4 == 0, C % 4 == 0. */
function regsVec4(v: Variant): string {
  const c4 = v.c / 4;
  const lines: string[] = [];
  lines.push(HEADER);
  lines.push('@group(0) @binding(1) var<storage, read> a: array<vec4f>;');
  lines.push('@group(0) @binding(2) var<storage, read> b: array<vec4f>;');
  lines.push(`@compute @workgroup_size(${v.wx}, ${v.wy})`);
  lines.push('fn matmul_vec4(@builtin(global_invocation_id) gid: vec3u) {');
  lines.push(`  let row0 = gid.y * ${v.r}u;`);
  lines.push(`  let col0 = gid.x * ${v.c}u;`);
  lines.push('  if (row0 >= p.m || col0 >= p.n) { return; }');
  lines.push('  let k4 = p.k / 4u;');
  lines.push('  let n4 = p.n / 4u;');
  for (const i of range(v.r)) lines.push(`  let ra${i} = (gid.z * p.a_batch) / 4u + min(row0 + ${i}u, p.m - 1u) * k4;`);
  for (const j of range(c4)) lines.push(`  let cb${j} = (gid.z * p.b_batch) / 4u + min(col0 / 4u + ${j}u, n4 - 1u);`);
  lines.push(
    range(v.r)
      .flatMap((i) => range(c4).map((j) => `  var acc_${i}_${j} = vec4f(0.0);`))
      .join('\n'),
  );
  lines.push('  var kb = 0u;');
  lines.push('  for (var k = 0u; k < k4; k++) {');
  for (const i of range(v.r)) lines.push(`    let x${i} = a[ra${i} + k];`);
  for (const q of range(4)) {
    for (const j of range(c4)) lines.push(`    let y${q}_${j} = b[cb${j} + kb];`);
    lines.push('    kb += n4;');
    for (const i of range(v.r)) {
      for (const j of range(c4)) lines.push(`    ${madd(v, `vec4f(x${i}[${q}])`, `y${q}_${j}`, `acc_${i}_${j}`)}`);
    }
  }
  lines.push('  }');
  lines.push('  let c0 = gid.z * p.m * p.n;');
  for (const i of range(v.r)) {
    lines.push(`  if (row0 + ${i}u < p.m) {`);
    for (const j of range(c4)) {
      for (const e of range(4)) {
        const col = `col0 + ${4 * j + e}u`;
        lines.push(`    if (${col} < p.n) { c[c0 + (row0 + ${i}u) * p.n + ${col}] = acc_${i}_${j}[${e}]; }`);
      }
    }
    lines.push('  }');
  }
  lines.push('}');
  return lines.join('\n');
}

/** The tiled family: the shipped kernel's design with its tile sizes as parameters. */
function tiled(v: Variant): string {
  const tm = v.r * v.wy;
  const tn = v.c * v.wx;
  const threads = v.wx * v.wy;
  const lines: string[] = [];
  lines.push(HEADER);
  lines.push('@group(0) @binding(1) var<storage, read> a: array<f32>;');
  lines.push('@group(0) @binding(2) var<storage, read> b: array<f32>;');
  lines.push(`var<workgroup> tile_a: array<f32, ${v.tk * tm}>;`);
  lines.push(`var<workgroup> tile_b: array<f32, ${v.tk * tn}>;`);
  lines.push(`@compute @workgroup_size(${v.wx}, ${v.wy})`);
  lines.push(
    'fn matmul(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {',
  );
  lines.push(`  let row0 = wg.y * ${tm}u;`);
  lines.push(`  let col0 = wg.x * ${tn}u;`);
  lines.push('  let a_base = wg.z * p.a_batch;');
  lines.push('  let b_base = wg.z * p.b_batch;');
  lines.push(accs(v));
  lines.push(`  for (var k0 = 0u; k0 < p.k; k0 += ${v.tk}u) {`);
  lines.push(`    for (var l = li; l < ${v.tk * tm}u; l += ${threads}u) {`);
  lines.push(`      var kk = l % ${v.tk}u;`);
  lines.push(`      var mm = l / ${v.tk}u;`);
  lines.push(`      if (p.a_col != 1u) { mm = l % ${tm}u; kk = l / ${tm}u; }`);
  lines.push('      var x = 0.0;');
  lines.push(
    '      if (row0 + mm < p.m && k0 + kk < p.k) { x = a[a_base + (row0 + mm) * p.a_row + (k0 + kk) * p.a_col]; }',
  );
  lines.push(`      tile_a[kk * ${tm}u + mm] = x;`);
  lines.push('    }');
  lines.push(`    for (var l = li; l < ${v.tk * tn}u; l += ${threads}u) {`);
  lines.push(`      var nn = l % ${tn}u;`);
  lines.push(`      var kk = l / ${tn}u;`);
  lines.push(`      if (p.b_col != 1u) { kk = l % ${v.tk}u; nn = l / ${v.tk}u; }`);
  lines.push('      var y = 0.0;');
  lines.push(
    '      if (col0 + nn < p.n && k0 + kk < p.k) { y = b[b_base + (k0 + kk) * p.b_row + (col0 + nn) * p.b_col]; }',
  );
  lines.push(`      tile_b[kk * ${tn}u + nn] = y;`);
  lines.push('    }');
  lines.push('    workgroupBarrier();');
  lines.push(`    for (var kk = 0u; kk < ${v.tk}u; kk++) {`);
  for (const i of range(v.r)) lines.push(`      let x${i} = tile_a[kk * ${tm}u + lid.y + ${i * v.wy}u];`);
  for (const j of range(v.c)) lines.push(`      let y${j} = tile_b[kk * ${tn}u + lid.x + ${j * v.wx}u];`);
  for (const i of range(v.r))
    for (const j of range(v.c)) lines.push(`      ${madd(v, `x${i}`, `y${j}`, `acc_${i}_${j}`)}`);
  lines.push('    }');
  lines.push('    workgroupBarrier();');
  lines.push('  }');
  lines.push(
    stores(
      v,
      (i) => `row0 + lid.y + ${i * v.wy}u`,
      (j) => `col0 + lid.x + ${j * v.wx}u`,
    ).replace('gid.z', 'wg.z'),
  );
  lines.push('}');
  return lines.join('\n');
}

export function variant(
  family: Variant['family'],
  r: number,
  c: number,
  wx: number,
  wy: number,
  o: Partial<Variant> = {},
): Variant {
  const v: Variant = {
    name: '',
    family,
    r,
    c,
    wx,
    wy,
    tk: o.tk ?? 16,
    vec4: o.vec4 ?? false,
    fma: o.fma ?? true,
    unroll: o.unroll ?? 1,
  };
  const flags = [
    v.vec4 ? 'vec4' : '',
    v.unroll > 1 ? `unroll${v.unroll}` : '',
    v.fma ? '' : 'muladd',
    family === 'tiled' ? `k${v.tk}` : '',
  ].filter(Boolean);
  v.name = o.name ?? `${family} ${r}x${c} wg${wx}x${wy}${flags.length ? ` ${flags.join(' ')}` : ''}`;
  return v;
}

/** The shader names a variant registers (its plain module, and its vec4 module). */
function shaderName(v: Variant, vec4: boolean): string {
  return `bench_mm_${v.name.replace(/[^a-z0-9]+/gi, '_')}${vec4 ? '_v4' : ''}`;
}

const registered = new Set<string>();

function register(v: Variant): void {
  if (registered.has(v.name)) return;
  gpu().kernels.register(shaderName(v, false), v.family === 'tiled' ? tiled(v) : regsScalar(v));
  if (v.vec4) gpu().kernels.register(shaderName(v, true), regsVec4(v));
  registered.add(v.name);
}

/** WGSL of a variant (the plain module), e.g. to print the winner. */
export function variantSource(v: Variant): string {
  return v.family === 'tiled' ? tiled(v) : v.vec4 ? `${regsVec4(v)}\n${regsScalar(v)}` : regsScalar(v);
}

/**
 * op(a) @ op(b) with a variant. a: (M, K) or (B, M, K); b: (K, N) or (B, K, N) (transposed: the last two
 * dims swapped). A 2-D operand is shared by every batch entry, as in the library.
 */
export function variantMatmul(v: Variant, a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  register(v);
  const [m, k] = transA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const [k2, n] = transB ? [b.shape.at(-1)!, b.shape.at(-2)!] : [b.shape.at(-2)!, b.shape.at(-1)!];
  const batchShape = a.rank > 2 ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  if (k !== k2) throw new Error(`variantMatmul: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}: inner dims differ`);
  const batch = numel(batchShape);
  const out = Tensor.empty([...batchShape, m, n]);
  const u = {
    m,
    n,
    k,
    a_batch: a.rank > 2 ? m * k : 0,
    a_row: transA ? 1 : k,
    a_col: transA ? m : 1,
    b_batch: b.rank > 2 ? k * n : 0,
    b_row: transB ? 1 : n,
    b_col: transB ? k : 1,
    batch,
  };
  const buffers = { a: a.ref, b: b.ref, c: out.ref };
  if (v.family === 'tiled') {
    const groups: [number, number, number] = [Math.ceil(n / (v.c * v.wx)), Math.ceil(m / (v.r * v.wy)), batch];
    gpu().dispatch({ shader: shaderName(v, false), entry: 'matmul' }, buffers, u, groups, `mm ${v.name}`);
    return out;
  }
  const groups: [number, number, number] = [Math.ceil(n / v.c / v.wx), Math.ceil(m / v.r / v.wy), batch];
  const vec4ok = v.vec4 && !transA && !transB && k % 4 === 0 && n % 4 === 0 && v.c % 4 === 0;
  const spec = vec4ok
    ? { shader: shaderName(v, true), entry: 'matmul_vec4' }
    : { shader: shaderName(v, false), entry: 'matmul' };
  gpu().dispatch(spec, buffers, u, groups, `mm ${v.name}`);
  return out;
}

/**
 * What `--sweep-final` compares: the candidate (promoted as shaders/matmul.wgsl matmul_vec4) against vec4
 * blocks of other sizes. The FMA roof (roofline.ts) peaks at 4 vec4 chains a thread and falls at 8-16 on
 * SwiftShader (registers spill), so smaller blocks than 16x8 (32 vec4 accumulators) are worth a look.
 */
export const FINALISTS: Variant[] = [
  variant('regs', 16, 8, 16, 4, { vec4: true, unroll: 4 }),
  variant('regs', 8, 8, 8, 8, { vec4: true, unroll: 4 }),
  variant('regs', 8, 4, 8, 8, { vec4: true, unroll: 4 }),
  variant('regs', 4, 8, 16, 4, { vec4: true, unroll: 4 }),
  variant('regs', 16, 4, 8, 8, { vec4: true, unroll: 4 }),
  variant('regs', 8, 16, 8, 8, { vec4: true, unroll: 4 }),
];

/** The variant the sweep found best on SwiftShader (see sweep.ts); the bench adds rows for it. */
export const CANDIDATE: Variant = variant('regs', 16, 8, 16, 4, { vec4: true, unroll: 4 });

export function candidateMatmul(a: Tensor, b: Tensor): Tensor {
  return variantMatmul(CANDIDATE, a, b);
}
