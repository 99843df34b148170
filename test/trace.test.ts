// The dispatch trace (Gpu.trace, src/gpu/trace.ts): a known op sequence lists exactly its kernels, with the
// workgroup counts and buffer sizes worked out here from the shapes and the WGSL's own tile and workgroup
// sizes (read from the shader text, not from the ops), and tracing changes no result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpu, strideThreads } from '../src/gpu/index.js';
import { SHADERS } from '../src/gpu/shaders.gen.js';
import { relu } from '../src/ops/elementwise.js';
import { cpuMatmul, matmul, useMatmulKernel } from '../src/ops/matmul.js';
import { scope, tensor } from '../src/tensor/index.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);
afterAll(() => useMatmulKernel(null));

/** A `const NAME = <n>u;` of a module's WGSL. */
function wgslConst(module: keyof typeof SHADERS, name: string): number {
  const m = new RegExp(`const ${name} = (\\d+)u;`).exec(SHADERS[module]);
  if (!m) throw new Error(`shaders/${module}.wgsl has no const ${name}`);
  return Number(m[1]);
}

/** The @workgroup_size of an entry point (1-D). */
function workgroupSize(module: keyof typeof SHADERS, entry: string): number {
  const m = new RegExp(`@workgroup_size\\((\\d+)\\)\\s*\\nfn ${entry}\\(`).exec(SHADERS[module]);
  if (!m) throw new Error(`shaders/${module}.wgsl has no 1-D entry point ${entry}`);
  return Number(m[1]);
}

describe('dispatch trace', () => {
  it('lists a batched matmul then a relu with their workgroups, buffers and uniforms', async () => {
    useMatmulKernel('tiled');
    const [B, M, K, N] = [3, 40, 24, 70];
    const r = cpuRng(11);
    const av = r.uniform(B * M * K);
    const bv = r.uniform(K * N);
    const a = tensor(Float32Array.from(av), [B, M, K]);
    const b = tensor(Float32Array.from(bv), [K, N]);
    let y = a;
    const trace = await gpu().trace(async () => {
      gpu().dispatch({ shader: 'elementwise', entry: 'unary', constants: { OP: 0 } }, {}, {}, [1, 1, 0]); // never encoded
      y = scope(() => relu(matmul(a, b)));
      await y.data();
    });
    const f = 4; // bytes of an f32
    const [tm, tn] = [wgslConst('matmul', 'TILE_M'), wgslConst('matmul', 'TILE_N')];
    expect(trace.map((d) => [d.kernel, d.module, d.entry])).toEqual([
      ['matmul_tiled', 'matmul', 'matmul'],
      ['relu', 'elementwise', 'unary'],
    ]);
    const [mm, act] = trace as [(typeof trace)[0], (typeof trace)[0]];
    expect(mm.workgroups).toEqual([Math.ceil(N / tn), Math.ceil(M / tm), B]);
    expect(mm.bindings).toEqual([
      { name: 'a', bytes: B * M * K * f },
      { name: 'b', bytes: K * N * f },
      { name: 'c', bytes: B * M * N * f },
      { name: 'bias', bytes: B * M * K * f }, // no bias: a stands in for the binding
    ]);
    expect(mm.uniforms).toMatchObject({ m: M, n: N, k: K, batch: B, a_batch: M * K, b_batch: 0 });
    expect(mm.constants).toEqual({ HAS_BIAS: 0, ACT: 0 });
    // its invocations step through the values (fewer than B * M * N on a CPU adapter: strideThreads)
    const threads = strideThreads(B * M * N, gpu().adapter.fallback);
    expect(act.workgroups).toEqual([Math.ceil(threads / workgroupSize('elementwise', 'unary')), 1, 1]);
    expect(act.bindings).toEqual([
      { name: 'x', bytes: B * M * N * f },
      { name: 'out', bytes: B * M * N * f },
    ]);
    expect(act.uniforms).toMatchObject({ n: B * M * N, threads });
    expect(Object.keys(act.constants)).toEqual(['OP']);
    // the traced work computed what it should
    const ref = cpuMatmul(av, [B, M, K], bv, [K, N]).data.map((v) => Math.max(v, 0));
    expectClose(await y.data(), ref, 1e-5, 1e-5, 'relu(a @ b)');
    for (const t of [a, b, y]) t.dispose();
  });

  it('records nothing outside a trace, copies uniforms, and allows one trace at a time', async () => {
    useMatmulKernel(null);
    const x = tensor([-1, 2, -3, 4]);
    const before = scope(() => relu(x)); // not traced
    const u = [1, 2, 3, 4];
    gpu().kernels.register(
      'trace_test',
      'struct P { n: u32, v: vec4u }\n@group(0) @binding(0) var<uniform> p: P;\n' +
        '@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n' +
        '@compute @workgroup_size(1) fn main() { y[0] = f32(p.n + p.v.x); }\n',
    );
    gpu().startTrace();
    expect(() => gpu().startTrace()).toThrow(/already on/);
    gpu().dispatch({ shader: 'trace_test', entry: 'main' }, { y: x.ref }, { n: 5, v: u }, [2, 1, 1]);
    const t = gpu().stopTrace();
    expect((await x.data())[0]).toBe(6); // n + v.x: the traced dispatch ran
    u[0] = 99; // the trace keeps the values at the time of the call
    expect(t).toEqual([
      {
        kernel: 'trace_test:main',
        module: 'trace_test',
        entry: 'main',
        constants: {},
        workgroups: [2, 1, 1],
        bindings: [{ name: 'y', bytes: 16 }],
        uniforms: { n: 5, v: [1, 2, 3, 4] },
      },
    ]);
    expect(() => gpu().stopTrace()).toThrow(/no dispatch trace is on/);
    await expect(
      gpu().trace(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await gpu().trace(() => {})).toEqual([]); // the failed trace was ended
    for (const v of [x, before]) v.dispose();
  });

  it('names dispatches as the profiler does', async (ctx) => {
    if (!gpu().canProfile) ctx.skip(); // the adapter lacks timestamp-query
    gpu().profiler.reset();
    gpu().setProfiling(true);
    try {
      const a = tensor(new Float32Array(64 * 32).fill(0.5), [64, 32]);
      let out = a;
      const trace = await gpu().trace(async () => {
        out = scope(() => relu(matmul(a, a, false, true)));
        await out.data();
      });
      await gpu().sync();
      const profiled = gpu()
        .profiler.summary()
        .map((r) => r.kernel);
      expect(profiled.sort()).toEqual([...new Set(trace.map((d) => d.kernel))].sort());
      for (const t of [a, out]) t.dispose();
    } finally {
      gpu().setProfiling(false);
    }
  });
});
