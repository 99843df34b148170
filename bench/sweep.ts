// The matmul kernel sweep: every variant of matmul-variants.ts is first checked against the float64 CPU
// reference on ragged shapes (transposes, batches, a shared operand, sizes that are no multiple of any
// tile), then timed on square products, in stages so that the number of runs stays small on a CPU:
//
//   1. block shape: rows x columns per thread, read plainly, 4 k steps per iteration, or as vec4;
//      4x4 threads; the shipped kernels and the best tiled one alongside; at 512^3
//   2. workgroup shape, for the best three, at 512^3
//   3. fma or multiply-add, for the best three so far, at 512^3
//   4. the best four and the shipped kernels at 256^3, 1024^3 and the models' shapes
//
// Within a stage the variants run in rounds, one product each per round, so that they share the machine's
// load. Time: the kernel's own, from GPU timestamps (wall time with a 4-byte readback is kept too).

import { gpu } from '../src/gpu/index.js';
import { cpuMatmul, type MatmulKernel, matmul, useMatmulKernel } from '../src/ops/index.js';
import { disposeAll, type Tensor, tensor } from '../src/tensor/index.js';
import { textTable } from './util.js';
import { randomArray, median } from './util.js';
import { type Variant, variant, variantMatmul } from './matmul-variants.js';

type Mm = (a: Tensor, b: Tensor, transA?: boolean, transB?: boolean) => Tensor;

interface Entry {
  name: string;
  mm: Mm;
  variant: Variant | null; // null: the shipped kernel (src/ops/matmul.ts)
}

export interface SweepResult {
  stage: string;
  shape: string;
  name: string;
  kernelMs: number;
  wallMs: number;
  gflops: number; // from kernel time
  maxErr: number;
}

/** A kernel of shaders/matmul.wgsl, forced. */
function shipped(k: MatmulKernel): Entry {
  const mm: Mm = (a, b, ta, tb) => {
    useMatmulKernel(k);
    try {
      return matmul(a, b, ta, tb);
    } finally {
      useMatmulKernel(null);
    }
  };
  return { name: `shipped ${k} (shaders/matmul.wgsl)`, mm, variant: null };
}

const SHIPPED_TILED = shipped('tiled');
const SHIPPED_REGS = shipped('regs');
const SHIPPED_VEC4 = shipped('vec4');

const entry = (v: Variant): Entry => ({
  name: v.name,
  mm: (a, b, ta, tb) => variantMatmul(v, a, b, ta, tb),
  variant: v,
});

/** Largest |GPU - CPU| over ragged shapes, transposes and batches; Infinity when a kernel fails. */
async function check(e: Entry): Promise<number> {
  const cases: [number[], number[], boolean, boolean][] = [
    [[67, 45], [45, 93], false, false],
    [[45, 67], [45, 93], true, false],
    [[67, 45], [93, 45], false, true],
    [[3, 17, 33], [3, 33, 29], false, false],
    [[3, 17, 33], [33, 29], false, false],
    [[70, 36], [36, 44], false, false], // vec4 path with ragged edges
    [[2, 64, 32], [2, 32, 48], false, false],
    [[5, 8], [8, 3], false, false],
  ];
  let worst = 0;
  for (const [as, bs, ta, tb] of cases) {
    const a = randomArray(
      as.reduce((x, y) => x * y),
      3,
    );
    const b = randomArray(
      bs.reduce((x, y) => x * y),
      4,
    );
    const ref = cpuMatmul(a, as, b, bs, ta, tb).data;
    const A = tensor(a, as);
    const B = tensor(b, bs);
    try {
      const C = e.mm(A, B, ta, tb);
      const got = await C.data();
      C.dispose();
      if (got.length !== ref.length) return Infinity;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!) || 0);
      if (got.some((x) => Number.isNaN(x))) return Infinity;
    } catch {
      return Infinity;
    } finally {
      disposeAll([A, B]);
    }
  }
  return worst;
}

/** Times every entry on op(a) @ op(b) of the given shapes, interleaved in rounds. */
async function timeAll(
  entries: Entry[],
  m: number,
  k: number,
  n: number,
  rounds: number,
): Promise<Map<Entry, { kernel: number; wall: number }>> {
  const A = tensor(randomArray(m * k, 5), [m, k]);
  const B = tensor(randomArray(k * n, 6), [k, n]);
  const samples = new Map(entries.map((e) => [e, { kernel: [] as number[], wall: [] as number[] }]));
  const g = gpu();
  try {
    for (let r = -1; r < rounds; r++) {
      for (const e of entries) {
        g.profiler.reset();
        g.setProfiling(g.canProfile);
        const t0 = performance.now();
        const C = e.mm(A, B);
        await g.read({ ...C.ref, size: 4 });
        const wall = performance.now() - t0;
        g.setProfiling(false);
        C.dispose();
        if (r < 0) continue; // warm-up: compiles
        const s = samples.get(e)!;
        s.wall.push(wall);
        s.kernel.push(g.canProfile ? g.profiler.summary().reduce((x, y) => x + y.totalMs, 0) : wall);
      }
    }
  } finally {
    disposeAll([A, B]);
  }
  return new Map([...samples].map(([e, s]) => [e, { kernel: median(s.kernel), wall: median(s.wall) }]));
}

export interface SweepOptions {
  rounds: number;
  log: (line: string) => void;
  large: number; // the big square size of stage 4 (1024)
  /** Skip stages 1-3: run stage 4 on these (matmul-variants.ts FINALISTS), with more rounds. */
  finalists?: Variant[];
}

export async function sweep(o: SweepOptions): Promise<{ results: SweepResult[]; winner: string; table: string }> {
  const results: SweepResult[] = [];
  const errs = new Map<Entry, number>();
  const checked = async (es: Entry[]) => {
    const ok: Entry[] = [];
    for (const e of es) {
      if (!errs.has(e)) errs.set(e, await check(e));
      const err = errs.get(e)!;
      if (err <= 1e-4) ok.push(e);
      else o.log(`  ${e.name}: FAILED the check against the CPU reference (max |err| ${err})`);
    }
    return ok;
  };
  const stage = async (name: string, es: Entry[], m: number, k: number, n: number, rounds = o.rounds) => {
    const ok = await checked(es);
    const t = await timeAll(ok, m, k, n, rounds);
    const shape = m === k && k === n ? `${m}^3` : `${m}x${k} @ ${k}x${n}`;
    const rows = ok
      .map((e) => ({
        stage: name,
        shape,
        name: e.name,
        kernelMs: t.get(e)!.kernel,
        wallMs: t.get(e)!.wall,
        gflops: (2 * m * k * n) / t.get(e)!.kernel / 1e6,
        maxErr: errs.get(e)!,
      }))
      .sort((x, y) => x.kernelMs - y.kernelMs);
    results.push(...rows);
    for (const r of rows)
      o.log(`  [${name}] ${shape} ${r.name}: ${r.kernelMs.toFixed(1)} ms, ${r.gflops.toFixed(2)} GFLOP/s`);
    return rows.map((r) => ok.find((e) => e.name === r.name)!);
  };

  if (o.finalists) return finalStage(o.finalists.map(entry), o.rounds + 2);

  // 1. block shapes, each read plainly, 4 k steps per iteration, and as vec4 (where C % 4 == 0)
  const blocks: [number, number][] = [
    [4, 4],
    [8, 4],
    [8, 8],
    [16, 4],
    [16, 8],
    [4, 8],
    [8, 2],
    [16, 2],
    [8, 1],
    [16, 1],
  ];
  const s1 = [
    SHIPPED_TILED,
    SHIPPED_REGS,
    entry(variant('tiled', 8, 8, 8, 8)),
    ...blocks.flatMap(([r, c]) => [
      entry(variant('regs', r, c, 4, 4)),
      entry(variant('regs', r, c, 4, 4, { unroll: 4 })),
      ...(c % 4 === 0 ? [entry(variant('regs', r, c, 4, 4, { vec4: true, unroll: 4 }))] : []),
    ]),
  ];
  const best1 = (await stage('block', s1, 512, 512, 512)).filter((e) => e.variant?.family === 'regs').slice(0, 3);

  // 2. workgroup shapes for the best three
  const wgs: [number, number][] = [
    [4, 4],
    [8, 8],
    [4, 16],
    [16, 4],
    [64, 1],
    [1, 16],
    [2, 8],
  ];
  const s2 = best1.flatMap((e) => {
    const v = e.variant!;
    return wgs.map(([x, y]) => entry(variant('regs', v.r, v.c, x, y, { vec4: v.vec4, unroll: v.unroll })));
  });
  const best2 = (await stage('workgroup', s2, 512, 512, 512)).slice(0, 3);

  // 3. fma or multiply-add
  const s3 = best2.flatMap((e) => {
    const v = e.variant!;
    return [e, entry(variant('regs', v.r, v.c, v.wx, v.wy, { vec4: v.vec4, unroll: v.unroll, fma: false }))];
  });
  const best3 = (await stage('fma', s3, 512, 512, 512)).slice(0, 4);

  // 4. the finalists against the shipped kernels at every size the bench uses, with more rounds
  return finalStage(best3, o.rounds + 2);

  async function finalStage(finalists: Entry[], more: number) {
    const fin = [SHIPPED_REGS, SHIPPED_VEC4, ...finalists];
    await stage('final', fin, 256, 256, 256, more);
    await stage('final', fin, 512, 512, 512, more);
    const atLarge = await stage('final', fin, o.large, o.large, o.large, Math.max(2, o.rounds - 1));
    await stage('final', fin, 32, 300, 855, more);
    await stage('final', fin, 1024, 784, 8, more);
    await stage('final', fin, 16, 300, 855, more);
    const winner = atLarge[0]!.name;

    const table = textTable(
      [
        ['stage', 'shape', 'variant', 'kernel ms', 'wall ms', 'GFLOP/s', 'max|err|'],
        ...results.map((r) => [
          r.stage,
          r.shape,
          r.name,
          r.kernelMs.toFixed(1),
          r.wallMs.toFixed(1),
          r.gflops.toFixed(2),
          r.maxErr.toExponential(1),
        ]),
      ],
      new Set([3, 4, 5, 6]),
    );
    return { results, winner, table };
  }
}
