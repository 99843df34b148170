import { beforeAll, describe, expect, it } from 'vitest';
import { gpu } from '../src/gpu/index.js';
import { add, exp, mul, sum } from '../src/ops/index.js';
import { groups1d, scope, tensor } from '../src/tensor/index.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

const SCALE = `
struct P { n: u32, k: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < p.n) { y[id.x] = y[id.x] * p.k; }
}
`;

describe('runtime', () => {
  it('names the shader, line and column of a compile error', async () => {
    gpu().kernels.register(
      'broken_test',
      'fn f() -> u32 {\n  return 1.5;\n}\n@compute @workgroup_size(1) fn main() {}\n',
    );
    await expect(gpu().kernels.get({ shader: 'broken_test', entry: 'main' })).rejects.toThrow(
      /broken_test:2:10: .*\n.*return 1\.5;/,
    );
  });

  it('names a missing entry point and a wrong uniform field', async () => {
    gpu().kernels.register('scale_test', SCALE);
    await expect(gpu().kernels.get({ shader: 'scale_test', entry: 'nope' })).rejects.toThrow(
      /no compute entry point 'nope' \(it has: main\)/,
    );
    const y = tensor([1, 2, 3]);
    gpu().dispatch({ shader: 'scale_test', entry: 'main' }, { y: y.ref }, { n: 3, kk: 2 }, [1, 1, 1]);
    await expect(gpu().flush()).rejects.toThrow(/no field 'kk'/);
    y.dispose();
  });

  it('reads the bind-group layout and uniform offsets from the WGSL', async () => {
    gpu().kernels.register('scale_test', SCALE);
    const k = await gpu().kernels.get({ shader: 'scale_test', entry: 'main' });
    expect(k.bindings.map((b) => [b.name, b.kind])).toEqual([
      ['p', 'uniform'],
      ['y', 'read_write'],
    ]);
    expect(k.uniform?.fields.get('k')).toEqual({ offset: 4, type: 'f32', count: 1 });
    const y = tensor([1, 2, 3]);
    gpu().dispatch({ shader: 'scale_test', entry: 'main' }, { y: y.ref }, { n: 3, k: 2.5 }, [1, 1, 1]);
    expect(Array.from(await y.data())).toEqual([2.5, 5, 7.5]);
    y.dispose();
  });

  it('compiles a pipeline once when asked twice at the same time', async () => {
    gpu().kernels.register('dedupe_test', SCALE.replace('p.k;', 'p.k + 1.0;'));
    const spec = { shader: 'dedupe_test', entry: 'main' };
    const [a, b] = await Promise.all([gpu().kernels.get(spec), gpu().kernels.get(spec)]);
    expect(a).toBe(b);
  });

  it('a new shape reuses the compiled pipeline', async () => {
    const x1 = tensor([1, 2, 3]);
    const y1 = exp(x1);
    await y1.data();
    const k1 = gpu().kernels.peek({ shader: 'elementwise', entry: 'unary', constants: { OP: 1 } });
    const x2 = tensor(new Float32Array(1000), [10, 100]);
    const y2 = exp(x2);
    await y2.data();
    expect(gpu().kernels.peek({ shader: 'elementwise', entry: 'unary', constants: { OP: 1 } })).toBe(k1);
    for (const t of [x1, y1, x2, y2]) t.dispose();
  });

  it('spreads large 1-D dispatches over x and y', () => {
    expect(groups1d(64 * 65535)).toEqual([65535, 1, 1]);
    const [x, y] = groups1d(64 * 65536);
    expect(x * y * 64).toBeGreaterThanOrEqual(64 * 65536);
    expect(x).toBeLessThanOrEqual(65535);
  });

  it('submits in batches and keeps order across them', async () => {
    const old = gpu().maxBatch;
    gpu().maxBatch = 7;
    try {
      const out = scope(() => {
        let t = tensor([1, 2]);
        for (let i = 0; i < 50; i++) t = add(t, 1);
        return t;
      });
      expect(Array.from(await out.data())).toEqual([51, 52]);
      out.dispose();
    } finally {
      gpu().maxBatch = old;
    }
  });

  it('profiles kernels with timestamp queries', async () => {
    if (!gpu().canProfile) return; // the adapter lacks timestamp-query: nothing to measure
    gpu().profiler.reset();
    gpu().setProfiling(true);
    try {
      const x = tensor(new Float32Array(4096).fill(1), [64, 64]);
      const s = scope(() => sum(mul(exp(x), 2)));
      await s.data();
      await gpu().sync();
      const rows = gpu().profiler.summary();
      expect(rows.map((r) => r.kernel).sort()).toEqual(['exp', 'mul_s', 'sum']);
      expect(rows.every((r) => r.calls === 1 && r.totalMs >= 0)).toBe(true);
      if (typeof window === 'undefined') {
        // Node: Dawn's rounding of timestamps to 2^16 ns is off (device.ts), so not every time is a multiple
        const ns = rows.map((r) => Math.round(r.totalMs * 1e6));
        expect(
          ns.some((t) => t % 65_536 !== 0),
          `kernel times in ns: ${ns.join(', ')}`,
        ).toBe(true);
      }
      expect(gpu().profiler.table()).toMatch(/kernel\s+calls\s+total ms\s+share/);
      for (const t of [x, s]) t.dispose();
    } finally {
      gpu().setProfiling(false);
    }
  });
});

describe('runtime errors', () => {
  it('an error in an automatic (batch-full) submit is thrown by the next flush', async () => {
    gpu().kernels.register(
      'broken_auto',
      'fn f() -> u32 {\n  return 1.5;\n}\n@compute @workgroup_size(1) fn main() {}\n',
    );
    const old = gpu().maxBatch;
    gpu().maxBatch = 1;
    try {
      gpu().dispatch({ shader: 'broken_auto', entry: 'main' }, {}, {}, [1, 1, 1]);
      await expect(gpu().flush()).rejects.toThrow(/broken_auto:2:10/);
      await gpu().flush(); // reported once
    } finally {
      gpu().maxBatch = old;
    }
  });

  it('rejects a negative or fractional value for an integer uniform', async () => {
    gpu().kernels.register('scale_test', SCALE);
    const y = tensor([1, 2, 3]);
    gpu().dispatch({ shader: 'scale_test', entry: 'main' }, { y: y.ref }, { n: -1, k: 2 }, [1, 1, 1]);
    await expect(gpu().flush()).rejects.toThrow(/'n' is u32 but was given -1/);
    y.dispose();
  });
});
