// The probe kernels of bounds.ts, with CPU references of what they compute (test/bounds.test.ts checks
// that each computes what it claims: a probe whose loads or products were dropped would time nothing).
//
//   load probe: fma chains fed by operands loaded from a storage buffer or held in registers
//   matmul loop: matmul_vec4's inner loop (shaders/matmul.wgsl) on cache-resident operands or registers

import { gpu } from '../src/gpu/index.js';
import type { Tensor } from '../src/tensor/index.js';

const LANES = ['x', 'y', 'z', 'w'];
export const PROBE_INVOCATIONS = 1 << 16;
export const PROBE_ITERS = 64;

/** vec4 operands an iteration of a load probe; each of their floats feeds LOAD_CHAINS fma chains. */
export const LOAD_OPERANDS = 4;
export const LOAD_CHAINS = 8;

/**
 * A load probe: LOAD_OPERANDS vec4 operands an iteration, `loaded` of them read from a storage buffer
 * (addresses 5 floats apart across invocations, in a 256 KiB buffer that stays in the cache), the others
 * held in registers (`uniform`: every invocation reads the same addresses); every float of each feeds
 * LOAD_CHAINS independent fma chains. The same 128 FMAs an iteration whatever `loaded` is: loaded / 32
 * floats per FMA.
 */
function loadProbeSource(loaded: number, uniform = false): string {
  const spread = uniform ? '' : ' + gid.x * 5u';
  const operand = (j: number) =>
    j < loaded ? `    let x${j} = src[(k * 64u + ${j}u * 4096u${spread}) & 16383u];` : `    let x${j} = r${j};`;
  const body = Array.from({ length: 4 * LOAD_OPERANDS }, (_, f) =>
    Array.from({ length: LOAD_CHAINS }, (_, c) => `c${c} = fma(x${f >> 2}.${LANES[f & 3]}, y${c}, c${c});`).join(' '),
  );
  return [
    'struct P { iters: u32, a: f32 }',
    '@group(0) @binding(0) var<uniform> p: P;',
    '@group(0) @binding(1) var<storage, read> src: array<vec4f>;',
    '@group(0) @binding(2) var<storage, read_write> out: array<f32>;',
    '@compute @workgroup_size(64)',
    'fn main(@builtin(global_invocation_id) gid: vec3u) {',
    ...Array.from({ length: LOAD_OPERANDS }, (_, j) => `  let r${j} = vec4f(p.a) + vec4f(${j}.0, 0.5, 0.25, 0.125);`),
    ...Array.from({ length: LOAD_CHAINS }, (_, c) => `  var c${c} = f32(gid.x % 16u) + ${c}.0;`),
    ...Array.from({ length: LOAD_CHAINS }, (_, c) => `  let y${c} = ${(1 + c / 1024).toFixed(6)};`),
    '  for (var k = 0u; k < p.iters; k++) {',
    ...Array.from({ length: LOAD_OPERANDS }, (_, j) => operand(j)),
    ...body.map((l) => `    ${l}`),
    '  }',
    `  out[gid.x] = ${Array.from({ length: LOAD_CHAINS }, (_, c) => `c${c}`).join(' + ')};`,
    '}',
  ].join('\n');
}

// ---- matmul_vec4's inner loop ----------------------------------------------------------------------

const R4 = [0, 1, 2, 3];

/**
 * matmul_vec4's loop (shaders/matmul.wgsl): per k step, two 4x4 blocks of op(b) and four of op(a) as
 * mat4x4f, 8 block products into 128 accumulators. `loads`: read from a 64 KiB buffer at the kernel's
 * strides (the offsets wrap, so the operands stay in the cache); else the operands rotate in registers.
 */
function matmulLoopSource(loads: boolean): string {
  const products = R4.map((i) => `acc_${i}0 += b0 * a${i}; acc_${i}1 += b1 * a${i};`).join(' ');
  const stepLoads = [
    'let kk = k & 15u;',
    'let kb = (k * 32u) & 63u;',
    'let b0 = mat4x4f(b4[cb0 + kb], b4[cb0 + kb + n4], b4[cb0 + kb + 2u * n4], b4[cb0 + kb + 3u * n4]);',
    'let b1 = mat4x4f(b4[cb1 + kb], b4[cb1 + kb + n4], b4[cb1 + kb + 2u * n4], b4[cb1 + kb + 3u * n4]);',
    ...R4.map(
      (i) => `let a${i} = mat4x4f(a4[ra${i}.x + kk], a4[ra${i}.y + kk], a4[ra${i}.z + kk], a4[ra${i}.w + kk]);`,
    ),
  ];
  const initRegisters = [
    'var b0 = mat4x4f(b4[cb0], b4[cb0 + 1u], b4[cb0 + 2u], b4[cb0 + 3u]);',
    'var b1 = mat4x4f(b4[cb1], b4[cb1 + 1u], b4[cb1 + 2u], b4[cb1 + 3u]);',
    ...R4.map((i) => `var a${i} = mat4x4f(a4[ra${i}.x], a4[ra${i}.y], a4[ra${i}.z], a4[ra${i}.w]);`),
  ];
  const rotate = 'let t = a0; a0 = a1; a1 = a2; a2 = a3; a3 = t; let u = b0; b0 = b1; b1 = u;';
  return [
    'struct P { k4: u32 }',
    '@group(0) @binding(0) var<uniform> p: P;',
    '@group(0) @binding(1) var<storage, read> a4: array<vec4f>;',
    '@group(0) @binding(2) var<storage, read> b4: array<vec4f>;',
    '@group(0) @binding(3) var<storage, read_write> out: array<f32>;',
    '@compute @workgroup_size(64)',
    'fn main(@builtin(global_invocation_id) gid: vec3u) {',
    '  let n4 = 8u;',
    '  let ra0 = vec4u(0u, 1u, 2u, 3u) * 16u + (gid.x & 255u);',
    '  let ra1 = ra0 + 64u; let ra2 = ra0 + 128u; let ra3 = ra0 + 192u;',
    '  let cb0 = (gid.x * 2u) & 255u; let cb1 = cb0 + 1u;',
    ...R4.map((i) => `  var acc_${i}0 = mat4x4f(); var acc_${i}1 = mat4x4f();`),
    ...(loads ? [] : initRegisters.map((l) => `  ${l}`)),
    '  for (var k = 0u; k < p.k4; k++) {',
    ...(loads ? stepLoads.map((l) => `    ${l}`) : []),
    `    ${products}`,
    ...(loads ? [] : [`    ${rotate}`]),
    '  }',
    `  let s = ${R4.map((i) => `acc_${i}0 + acc_${i}1`).join(' + ')};`,
    '  out[gid.x] = s[0].x + s[1].y + s[2].z + s[3].w;',
    '}',
  ].join('\n');
}

/** The matmul loop's floats loaded per FMA: (16 + 8) vec4s per k step, 16 x 8 x 4 FMAs. */
export const MATMUL_LOOP_LOADS_PER_FMA = (24 * 4) / (16 * 8 * 4);

// ---- dispatching ---------------------------------------------------------------------------------------

export interface ProbeKernel {
  id: string;
  source: () => string;
}

export const loadProbe = (loaded: number, uniform = false): ProbeKernel => ({
  id: `bench_bounds_load_${loaded}_${uniform}`,
  source: () => loadProbeSource(loaded, uniform),
});

export const matmulLoopProbe = (loads: boolean): ProbeKernel => ({
  id: `bench_bounds_mmloop_${loads}`,
  source: () => matmulLoopSource(loads),
});

const registered = new Set<string>();

/** Records the probe over `invocations` (a multiple of 64); its buffers by binding name. */
export function dispatchProbe(
  k: ProbeKernel,
  buffers: Record<string, Tensor>,
  uniforms: Record<string, number>,
  invocations: number,
  label = k.id,
): void {
  const g = gpu();
  if (!registered.has(k.id)) {
    g.kernels.register(k.id, k.source());
    registered.add(k.id);
  }
  const refs = Object.fromEntries(Object.entries(buffers).map(([name, t]) => [name, t.ref]));
  g.dispatch({ shader: k.id, entry: 'main' }, refs, uniforms, [invocations / 64, 1, 1], label);
}

// ---- CPU references (f32 steps; the GPU may fuse or order the adds differently: compare with a tolerance) ----

const f = Math.fround;

/** What the load probe writes: out[i] for i < invocations. */
export function cpuLoadProbe(
  src: Float32Array,
  loaded: number,
  uniform: boolean,
  invocations: number,
  iters: number,
  a: number,
): Float32Array {
  const out = new Float32Array(invocations);
  const y = Array.from({ length: LOAD_CHAINS }, (_, c) => f(Number((1 + c / 1024).toFixed(6))));
  const regs = Array.from({ length: LOAD_OPERANDS }, (_, j) => [j, 0.5, 0.25, 0.125].map((v) => f(f(a) + v)));
  for (let i = 0; i < invocations; i++) {
    const c = Array.from({ length: LOAD_CHAINS }, (_, ch) => f((i % 16) + ch));
    for (let k = 0; k < iters; k++) {
      const x = regs.map((r, j) => {
        if (j >= loaded) return r;
        const at = ((k * 64 + j * 4096 + (uniform ? 0 : i * 5)) & 16383) * 4;
        return [0, 1, 2, 3].map((l) => src[at + l]!);
      });
      for (let fl = 0; fl < 4 * LOAD_OPERANDS; fl++)
        for (let ch = 0; ch < LOAD_CHAINS; ch++) c[ch] = f(x[fl >> 2]![fl & 3]! * y[ch]! + c[ch]!);
    }
    out[i] = c.reduce((s, v) => f(s + v), 0);
  }
  return out;
}

/** A 4x4 matrix as WGSL's mat4x4f: four columns of 4. */
type Mat = number[][];
const column = (v: Float32Array, at: number) => [0, 1, 2, 3].map((l) => v[4 * at + l]!);
/** acc + b * a, column by column: (b * a)[c] = sum over l of b[l] * a[c][l]. */
const addProduct = (acc: Mat, b: Mat, a: Mat) =>
  acc.map((col, c) => col.map((v, r) => f(v + [0, 1, 2, 3].reduce((s, l) => f(s + f(b[l]![r]! * a[c]![l]!)), 0))));

/** What the matmul loop writes for invocation i (a4, b4: the vec4 buffers as floats). */
export function cpuMatmulLoop(a4: Float32Array, b4: Float32Array, loads: boolean, i: number, k4: number): number {
  const n4 = 8;
  const ra = [0, 1, 2, 3].map((blk) => [0, 1, 2, 3].map((r) => r * 16 + (i & 255) + 64 * blk));
  const cb = [(i * 2) & 255, ((i * 2) & 255) + 1];
  const zero = (): Mat => [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
  const acc = [0, 1, 2, 3].map(() => [zero(), zero()]);
  const matA = (blk: number, kk: number) => ra[blk]!.map((row) => column(a4, row + kk));
  const matB = (j: number, kb: number, stride: number) => [0, 1, 2, 3].map((r) => column(b4, cb[j]! + kb + r * stride));
  let A = [0, 1, 2, 3].map((blk) => matA(blk, 0));
  let B = [matB(0, 0, 1), matB(1, 0, 1)];
  for (let k = 0; k < k4; k++) {
    if (loads) {
      A = [0, 1, 2, 3].map((blk) => matA(blk, k & 15));
      B = [matB(0, (k * 32) & 63, n4), matB(1, (k * 32) & 63, n4)];
    }
    for (let blk = 0; blk < 4; blk++)
      for (let j = 0; j < 2; j++) acc[blk]![j] = addProduct(acc[blk]![j]!, B[j]!, A[blk]!);
    if (!loads) {
      A = [A[1]!, A[2]!, A[3]!, A[0]!];
      B = [B[1]!, B[0]!];
    }
  }
  const s = acc.flat().reduce((m, x) => m.map((col, c) => col.map((v, r) => f(v + x[c]![r]!))));
  return f(f(f(s[0]![0]! + s[1]![1]!) + s[2]![2]!) + s[3]![3]!);
}
