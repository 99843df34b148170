// What bounds the targets the bench misses on this adapter (the performance issue's round two), measured in
// one run: `npm run bench -- --bounds` (Node). Four questions, each answered by probes timed in the same
// rounds, so that they share the machine's load:
//
//   1. What does a load from a storage buffer cost, counted in FMAs? Probe kernels run the same fma chains
//      with 0 to 1/8 floats loaded per FMA; through the probes that load, the time per FMA against the
//      floats per FMA is nearly a line, and its slope over its intercept is the cost of one loaded float.
//   2. Why is matmul 1024^3 far from the FMA roof? Its inner loop (matmul_vec4's, shaders/matmul.wgsl: a
//      16x8 block of accumulators, 24 vec4 loads per 512 FMAs) run on operands that stay in the cache, and
//      run on registers only, beside the shipped kernel and the roof.
//   3. Why are the convolutions below 70% of matmul 1024^3? Each conv case beside the same products as
//      plain matmuls (the implicit GEMMs' M, N, K, batched over the weight sets): if the plain product of
//      that shape is no faster, the shape bounds the case, not the convolution's index arithmetic.
//   4. Why is the VAE step slower than TF.js-wasm? The step's kernels one by one (GPU timestamps), the
//      step's GPU time against its wall time, and this adapter's fixed cost of a round trip.
//
// Every probe reports GPU time (timestamp queries) and wall time to a readback; rates are from GPU time.

import { gpu } from '../src/gpu/index.js';
import type { ProfileRow } from '../src/gpu/profiler.js';
import { matmul } from '../src/ops/matmul.js';
import { disposeAll, type Tensor, tensor } from '../src/tensor/index.js';
import type { Impl } from './case.js';
import { capturedVaeStepCase } from './cases-capture.js';
import { CONV_LAYERS, convCase } from './cases-conv.js';
import { vaeStepCase } from './cases-train.js';
import type { BenchEnv } from './env.js';
import { overheads, type Row, runCases } from './harness.js';
import { dispatchFma, FMA_INVOCATIONS, type FmaConfig, fmaName, UNROLL } from './roofline.js';
import {
  dispatchProbe,
  LOAD_CHAINS,
  LOAD_OPERANDS,
  loadProbe,
  MATMUL_LOOP_LOADS_PER_FMA,
  matmulLoopProbe,
  PROBE_INVOCATIONS,
  PROBE_ITERS,
  type ProbeKernel,
} from './bounds-probes.js';
import { fitLine, fmtNum, median, randomArray, textTable } from './util.js';

export interface ProbeResult {
  section: 'loads' | 'matmul' | 'conv' | 'vae';
  name: string;
  flops: number;
  /** Floats loaded from storage per FMA (the load probes and the matmul loop). */
  loadsPerFma?: number;
  gpuMs: number; // median over rounds
  wallMs: number; // median over rounds
  gflops: number; // from GPU time
  rounds: number;
  /** The probe's kernels in its last round (GPU timestamps). */
  kernels: ProfileRow[];
}

export interface BoundsReport {
  probes: ProbeResult[];
  /** Section 1's line: ns per FMA (intercept) and per loaded float (slope), and their ratio. */
  loadCost: { fmaNs: number; floatNs: number; floatInFmas: number };
  vae: { rows: Row[]; overheads: { dispatchUs: number; roundTripUs: number } };
  text: string;
}

interface Probe {
  section: ProbeResult['section'];
  name: string;
  flops: number;
  loadsPerFma?: number;
  impl: Impl;
}

// ---- running kernels as probes ------------------------------------------------------------------------

/** A probe that dispatches one of bounds-probes.ts's kernels and reads 4 bytes of `out` back. */
function kernelProbe(
  p: Omit<Probe, 'impl'>,
  kernel: ProbeKernel,
  buffers: Record<string, Tensor>,
  uniforms: Record<string, number>,
  invocations: number,
): Probe {
  const out = buffers.out!;
  const impl: Impl = {
    first: new Float32Array(0),
    start() {
      dispatchProbe(kernel, buffers, uniforms, invocations, p.name);
      return async () => {
        await gpu().read({ ...out.ref, size: 4 });
      };
    },
    dispose() {},
  };
  return { ...p, impl };
}

/** A probe running our matmul of a (batch, m, k) by (batch, k, n), transposes as given. */
function matmulProbe(
  section: Probe['section'],
  name: string,
  shapes: { batch: number; m: number; n: number; k: number; transA?: boolean }[],
): { probe: Probe; inputs: Tensor[] } {
  const inputs: Tensor[] = [];
  const pairs = shapes.map((s, i) => {
    const aShape = s.transA ? [s.batch, s.k, s.m] : [s.batch, s.m, s.k];
    const a = tensor(randomArray(s.batch * s.m * s.k, 70 + i), aShape).keep();
    const b = tensor(randomArray(s.batch * s.k * s.n, 80 + i), [s.batch, s.k, s.n]).keep();
    inputs.push(a, b);
    return { a, b, transA: s.transA ?? false };
  });
  const flops = shapes.reduce((f, s) => f + 2 * s.batch * s.m * s.n * s.k, 0);
  const impl: Impl = {
    first: new Float32Array(0),
    start() {
      const outs = pairs.map((p) => matmul(p.a, p.b, p.transA));
      return async () => {
        for (const o of outs) await o.data();
        disposeAll(outs);
      };
    },
    dispose() {},
  };
  return { probe: { section, name, flops, impl }, inputs };
}

// ---- the run ------------------------------------------------------------------------------------------

async function timeOnce(
  impl: Impl,
  profile: boolean,
): Promise<{ wallMs: number; gpuMs: number; kernels: ProfileRow[] }> {
  const g = gpu();
  if (profile) {
    g.profiler.reset();
    g.setProfiling(true);
  }
  try {
    const t0 = performance.now();
    await impl.start()();
    const wallMs = performance.now() - t0;
    const kernels = profile ? g.profiler.summary() : [];
    return { wallMs, gpuMs: kernels.reduce((s, r) => s + r.totalMs, 0), kernels };
  } finally {
    if (profile) g.setProfiling(false);
  }
}

/** Every probe once a round (a profiled run for GPU time, then a plain one for wall time), `rounds` rounds. */
async function timeProbes(probes: Probe[], rounds: number, log: (l: string) => void): Promise<ProbeResult[]> {
  const gpuRuns = probes.map(() => [] as number[]);
  const wallRuns = probes.map(() => [] as number[]);
  const kernels: ProfileRow[][] = probes.map(() => []);
  for (const p of probes) await p.impl.start()(); // compile
  for (let r = 0; r < rounds; r++) {
    for (const [i, p] of probes.entries()) {
      const t = await timeOnce(p.impl, true);
      gpuRuns[i]!.push(t.gpuMs);
      kernels[i] = t.kernels;
      wallRuns[i]!.push((await timeOnce(p.impl, false)).wallMs);
    }
    log(`  bounds: round ${r + 1} of ${rounds}`);
  }
  return probes.map((p, i) => {
    const gpuMs = median(gpuRuns[i]!);
    return {
      section: p.section,
      name: p.name,
      flops: p.flops,
      loadsPerFma: p.loadsPerFma,
      gpuMs,
      wallMs: median(wallRuns[i]!),
      gflops: p.flops / gpuMs / 1e6,
      rounds,
      kernels: kernels[i]!,
    };
  });
}

/** The FMA roof's kernel (roofline.ts) as a probe. */
function roofProbe(c: FmaConfig, out: Tensor, iters: number): Probe {
  const g = gpu();
  return {
    section: 'loads',
    name: `FMA roof kernel, ${fmaName(c)}`,
    flops: FMA_INVOCATIONS * UNROLL * c.chains * c.width * 2 * iters,
    loadsPerFma: 0,
    impl: {
      first: new Float32Array(0),
      start() {
        dispatchFma(c, out, FMA_INVOCATIONS, iters, 1, 1e-3);
        return async () => {
          await g.read({ ...out.ref, size: 4 });
        };
      },
      dispose() {},
    },
  };
}

export async function runBounds(env: BenchEnv, o: { quick: boolean; log: (l: string) => void }): Promise<BoundsReport> {
  const rounds = o.quick ? 2 : 7;
  const owned: Tensor[] = [];
  const keep = (t: Tensor) => {
    owned.push(t.keep());
    return t;
  };
  const probes: Probe[] = [];
  const disposers: (() => void)[] = [];
  try {
    // 1. loads
    const src = keep(tensor(randomArray(16384 * 4, 60, 0, 1e-3), [16384 * 4]));
    const probeOut = keep(tensor(new Float32Array(PROBE_INVOCATIONS), [PROBE_INVOCATIONS]));
    for (const [loaded, uniform] of [
      [0, false],
      [1, false],
      [2, false],
      [4, false],
      [4, true],
    ] as const) {
      const fmas = PROBE_INVOCATIONS * PROBE_ITERS * 4 * LOAD_OPERANDS * LOAD_CHAINS;
      const where = uniform ? ', one address for all invocations' : '';
      const name = `${LOAD_CHAINS} fma chains, ${loaded} of ${LOAD_OPERANDS} vec4 operands loaded${where}`;
      probes.push(
        kernelProbe(
          {
            section: 'loads',
            name,
            flops: 2 * fmas,
            loadsPerFma: (4 * loaded) / (fmas / PROBE_INVOCATIONS / PROBE_ITERS),
          },
          loadProbe(loaded, uniform),
          { src, out: probeOut },
          { iters: PROBE_ITERS, a: 1.0001 },
          PROBE_INVOCATIONS,
        ),
      );
    }
    const roofOut = keep(tensor(new Float32Array(FMA_INVOCATIONS), [FMA_INVOCATIONS]));
    probes.push(roofProbe({ wg: 64, width: 4, chains: 8, op: 'fma' }, roofOut, 64));

    // 2. matmul
    const mm = matmulProbe('matmul', 'matmul 1024^3 (shipped: matmul_vec4)', [{ batch: 1, m: 1024, n: 1024, k: 1024 }]);
    owned.push(...mm.inputs);
    probes.push(mm.probe);
    const k4 = 256;
    const loopInvocations = 1 << 14;
    const a4 = keep(tensor(randomArray(4096 * 4, 61, 0, 1e-3), [4096 * 4]));
    const b4 = keep(tensor(randomArray(4096 * 4, 62, 0, 1e-3), [4096 * 4]));
    const loopOut = keep(tensor(new Float32Array(loopInvocations), [loopInvocations]));
    for (const loads of [true, false]) {
      probes.push(
        kernelProbe(
          {
            section: 'matmul',
            name: `matmul_vec4's loop, operands ${loads ? 'loaded (cache-resident)' : 'in registers'}`,
            flops: 2 * loopInvocations * k4 * 16 * 8 * 4,
            loadsPerFma: loads ? MATMUL_LOOP_LOADS_PER_FMA : 0,
          },
          matmulLoopProbe(loads),
          { a4, b4, out: loopOut },
          { k4 },
          loopInvocations,
        ),
      );
    }

    // 3. conv: each case and its products as plain matmuls
    const G = 4;
    const N = 32;
    for (const L of CONV_LAYERS) {
      const rows = N * L.hw * L.hw; // output pixels of one weight set
      const depth = 25 * L.cIn;
      const fwd = { batch: G, m: rows, n: L.cOut, k: depth };
      const dw = { batch: G, m: depth, n: L.cOut, k: rows, transA: true };
      const dx = { batch: G, m: rows, n: L.cIn, k: 25 * L.cOut };
      for (const withBackward of [false, true]) {
        const c = convCase(L, withBackward, G, 1);
        const impl = await c.ours();
        disposers.push(() => impl.dispose());
        probes.push({ section: 'conv', name: `${c.op} ${L.name}`, flops: c.flops!, impl });
        const shapes = withBackward ? (L.dx ? [fwd, dw, dx] : [fwd, dw]) : [fwd];
        const what = shapes.map((s) => `${s.batch}x(${s.m}x${s.k} @ ${s.k}x${s.n})`).join(' + ');
        const same = matmulProbe('conv', `  the same products as matmuls: ${what}`, shapes);
        owned.push(...same.inputs);
        probes.push(same.probe);
      }
    }

    o.log(`bounds: ${probes.length} probes, ${rounds} rounds`);
    const results = await timeProbes(probes, rounds, o.log);

    const loadRows = results.filter(
      (r) => r.section === 'loads' && r.name.includes('operands loaded') && !r.name.includes('one address'),
    );
    const nsPerFma = (r: ProbeResult) => (r.gpuMs * 1e6) / (r.flops / 2);
    const line = fitLine(
      loadRows.map((r) => r.loadsPerFma!),
      loadRows.map(nsPerFma),
    );
    const loadCost = { fmaNs: line.intercept, floatNs: line.slope, floatInFmas: line.slope / line.intercept };

    // 4. the VAE step
    o.log('bounds: the VAE step (ours and TF.js-wasm)');
    const vaeRows = await runCases(env, [vaeStepCase(32), capturedVaeStepCase(32)], {
      budgetMs: 4000,
      minRounds: rounds,
      maxRounds: 25,
      contenders: ['ours', 'wasm'],
      log: o.log,
    });
    const fixed = await overheads();
    const report = { probes: results, loadCost, vae: { rows: vaeRows, overheads: fixed } };
    return { ...report, text: formatBounds(report) };
  } finally {
    for (const d of disposers) d();
    disposeAll(owned);
  }
}

// ---- the report ---------------------------------------------------------------------------------------

const ms = (x: number) => fmtNum(x, x >= 100 ? 0 : x >= 10 ? 1 : 2);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

function kernelTable(rows: ProfileRow[], indent = '    ', top = 12): string {
  const shown = rows.slice(0, top);
  const rest = rows.slice(top);
  const body = shown.map((r) => [r.kernel, String(r.calls), ms(r.totalMs), pct(r.share)]);
  if (rest.length) {
    const restMs = rest.reduce((s, r) => s + r.totalMs, 0);
    const restShare = rest.reduce((s, r) => s + r.share, 0);
    body.push([
      `(${rest.length} more kernels)`,
      String(rest.reduce((s, r) => s + r.calls, 0)),
      ms(restMs),
      pct(restShare),
    ]);
  }
  return textTable([['kernel', 'calls', 'GPU ms', 'share'], ...body], new Set([1, 2, 3]))
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
}

export function formatBounds(r: Omit<BoundsReport, 'text'>): string {
  const out: string[] = [];
  const find = (prefix: string) => r.probes.find((p) => p.name.startsWith(prefix))!;
  const roof = find('FMA roof');
  const mm = find('matmul 1024^3');
  const probeTable = (ps: ProbeResult[], extra: (p: ProbeResult) => string[] = () => []) =>
    textTable(
      [
        [
          'probe',
          'GPU ms',
          'wall ms',
          'GFLOP/s',
          'of matmul 1024^3',
          ...extra(ps[0]!).map((_, i) => (i === 0 ? 'note' : '')),
        ],
        ...ps.map((p) => [
          p.name,
          ms(p.gpuMs),
          ms(p.wallMs),
          fmtNum(p.gflops, 2),
          pct(p.gflops / mm.gflops),
          ...extra(p),
        ]),
      ],
      new Set([1, 2, 3, 4]),
    )
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n');

  const lc = r.loadCost;
  const spread = find(`${LOAD_CHAINS} fma chains, ${LOAD_OPERANDS} of`);
  const same = r.probes.find((p) => p.name.includes('one address'))!;
  out.push(
    `1. Loads. One float loaded from a storage buffer costs ${fmtNum(lc.floatInFmas, 1)} FMAs here ` +
      `(${fmtNum(lc.floatNs, 3)} ns against ${fmtNum(lc.fmaNs, 4)} ns an FMA, machine-wide: the line through the ` +
      'load probes, ns per FMA against floats loaded per FMA). Whether the invocations read one address or ' +
      `addresses 5 floats apart changes little (${fmtNum(same.gflops, 2)} against ${fmtNum(spread.gflops, 2)} ` +
      'GFLOP/s): a load costs the same gathered or not.',
    probeTable(
      r.probes.filter((p) => p.section === 'loads'),
      (p) => [`${fmtNum(p.loadsPerFma ?? 0, 3)} floats/FMA`],
    ),
  );

  const loopLoads = find("matmul_vec4's loop, operands loaded");
  const loopRegs = find("matmul_vec4's loop, operands in");
  // the loop's arithmetic as measured in registers, plus its loads at section 1's cost
  const nsPerFma = 2 / loopRegs.gflops + MATMUL_LOOP_LOADS_PER_FMA * lc.floatNs;
  out.push(
    '',
    `2. matmul 1024^3 at ${pct(mm.gflops / roof.gflops)} of the FMA roof kernel (${fmtNum(roof.gflops, 1)} GFLOP/s in ` +
      `these rounds). Its inner loop on operands that stay in the cache runs at ${fmtNum(loopLoads.gflops, 2)} ` +
      `GFLOP/s (the shipped kernel is at ${pct(mm.gflops / loopLoads.gflops)} of it: memory beyond the cache costs ` +
      `little); the same loop with its operands in registers at ${fmtNum(loopRegs.gflops, 2)} ` +
      `(${pct(loopRegs.gflops / roof.gflops)} of the roof: 128 accumulators and 32 operand floats a thread, more ` +
      "than the CPU's registers hold). That arithmetic plus the loop's loads (" +
      `${fmtNum(MATMUL_LOOP_LOADS_PER_FMA, 4)} floats per FMA) at section 1's cost predicts ` +
      `${fmtNum(2 / nsPerFma, 2)} GFLOP/s. A larger block needs fewer loads per FMA but holds more values; a ` +
      'smaller one the reverse.',
    probeTable(r.probes.filter((p) => p.section === 'matmul')),
  );

  const conv = r.probes.filter((p) => p.section === 'conv');
  const pairs: string[][] = [];
  for (let i = 0; i + 1 < conv.length; i += 2) {
    const c = conv[i]!;
    const same = conv[i + 1]!;
    pairs.push([
      c.name,
      fmtNum(c.gflops, 2),
      pct(c.gflops / mm.gflops),
      fmtNum(same.gflops, 2),
      pct(same.gflops / mm.gflops),
      pct(c.gflops / same.gflops),
    ]);
  }
  out.push(
    '',
    '3. The convolutions (4 weight sets x 32 images) against matmul 1024^3, and the same products as plain ' +
      "matmuls (the implicit GEMMs' shapes: depth 25 x input channels, 32 or 16 columns).",
    textTable(
      [['case', 'GFLOP/s', 'of matmul 1024^3', 'plain matmuls GFLOP/s', 'of matmul 1024^3', 'conv / plain'], ...pairs],
      new Set([1, 2, 3, 4, 5]),
    )
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
    probeTable(conv),
    ...conv.flatMap((p) => [`  kernels of "${p.name.trim()}" (last round):`, kernelTable(p.kernels)]),
  );

  const o = r.vae.overheads;
  out.push(
    '',
    `4. The VAE step (batch 32). Fixed costs here: a round trip ${fmtNum(o.roundTripUs / 1000, 2)} ms, a dispatch ${fmtNum(o.dispatchUs, 0)} us.`,
  );
  for (const row of r.vae.rows) {
    const wall = row.ours?.ms ?? Number.NaN;
    const gpuMs = row.oursGpuMs ?? Number.NaN;
    out.push(
      `  ${row.op}: wall ${ms(wall)} ms a step against TF.js-wasm's ${ms(row.wasm?.ms ?? Number.NaN)} ms; of ours, ` +
        `${ms(gpuMs)} ms kernel time (${row.oursDispatches ?? '?'} dispatches), ${ms(wall - gpuMs)} ms outside the ` +
        'kernels (the round trip, the work between dispatches, JavaScript).',
      kernelTable(row.oursKernels ?? []),
    );
  }
  return out.join('\n');
}
