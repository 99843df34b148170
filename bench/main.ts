// `npm run bench`: our ops against TensorFlow.js (WebGPU and wasm backends) on the same adapter, in one
// process, printed as one table and saved as JSON under bench/results/.
//
//   npm run bench                          every case in Node (Dawn)
//   npm run bench -- --browser             the same cases in headless Chromium (browser.ts)
//   npm run bench -- --quick               fewer rounds (a smoke test; figures are noisier)
//   npm run bench -- --only "matmul,VAE"   cases whose "op shape" contains one of these
//   npm run bench -- --full                the convolutions with all 32 groups (TF.js: 4 of them, scaled)
//   npm run bench -- --only roofline       only the roofs (roofline.ts): FMA GFLOP/s and GB/s of this adapter
//   npm run bench -- --no-roofline         leave out the roofs (and the rows' shares of them)
//   npm run bench -- --no-candidate        leave out the rows of the matmul kernel candidate
//   npm run bench -- --bounds              what bounds the missed targets (bounds.ts): load cost, matmul's
//                                           loop, conv against the same products as matmuls, the VAE step
//   npm run bench -- --sweep               the matmul kernel sweep (sweep.ts) instead of the table
//   npm run bench -- --sweep-final         only its last stage, on matmul-variants.ts FINALISTS
//   npm run bench -- --candidate-wgsl      print the WGSL of the kernel candidate (matmul-variants.ts)
//   npm run bench -- --toggles             the table's key cases under several sets of Dawn toggles
//                    [--sets "a,b"]        (only the sets whose name contains a or b)
//   npm run bench -- --dawn-flags a,b      run with these Dawn toggles (Node: instead of device.ts's)
//   WEIGHTGEN_POLL=spin npm run bench      Node: let dawn.node spin a core while we wait (src/gpu/node.ts)
//   npm run bench -- --gpu                 add rows sized for a real GPU (matmul 2048^3, 4096^3 with each
//                                           kernel; the paper's hypernetwork step with TF.js on all 32 nets)
//   npm run bench -- --no-wasm             leave out TF.js-wasm (the CPU peer)
//   npm run bench -- --no-save             print only

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Contender } from './case.js';
import { startEnv } from './env.js';
import { overheads, runCases } from './harness.js';
import { applyRoofs, formatRoofs, formatTable, formatTargets, LEGEND, type Report, targets } from './report.js';
import { measureRoofs, remeasure } from './roofline.js';
import { rounds, type SuiteOptions, suite } from './suite.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..'); // dist/ -> the repository
const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

// TF.js-wasm is the CPU peer: --no-wasm leaves it out (on a GPU machine, where its rows take minutes)
const CONTENDERS: Contender[] = flag('--no-wasm') ? ['ours', 'webgpu'] : ['ours', 'webgpu', 'wasm'];

const options: SuiteOptions & { dawnFlags: string | null } = {
  quick: flag('--quick'),
  only: (value('--only') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  full: flag('--full'),
  candidate: !flag('--no-candidate'),
  roofline: !flag('--no-roofline'),
  gpu: flag('--gpu'),
  dawnFlags: value('--dawn-flags') ?? null,
};

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  for (const p of [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-webgpu',
    '@tensorflow/tfjs-backend-wasm',
    'webgpu',
  ]) {
    try {
      out[p] = JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')).version;
    } catch {
      out[p] = '?';
    }
  }
  return out;
}

/** bench/results/<date>-<env>[-kind].json, date to the minute (UTC). */
export function save(report: { date: string; runtime: string; adapter: string }, kind = ''): string {
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = report.date.slice(0, 16).replace(':', '');
  const where = report.runtime === 'node' ? 'node' : 'chromium';
  const env = `${where}-${/swiftshader/i.test(report.adapter) ? 'swiftshader' : 'gpu'}${kind ? `-${kind}` : ''}`;
  const file = join(dir, `${stamp}-${env}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  return file;
}

export function printReport(report: Report): void {
  console.log(
    `\n${report.runtime}: ours on ${report.adapter}; TF.js-WebGPU on ${report.tfAdapter}` +
      `${report.dawnFlags ? `; Dawn toggles: ${report.dawnFlags}` : ''}`,
  );
  const o = report.overheads;
  const load = report.load
    ? `; load average ${report.load.before[0]!.toFixed(1)} -> ${report.load.after[0]!.toFixed(1)}`
    : '';
  console.log(`${report.userAgent}${load}`);
  if (o) {
    console.log(
      `our fixed costs here: ${o.dispatchUs.toFixed(0)} us per dispatch in a batch, ` +
        `${o.roundTripUs.toFixed(0)} us per round trip (dispatch, submit, 4-byte readback)`,
    );
  }
  if (report.roofs) console.log(formatRoofs(report.roofs));
  console.log('');
  if (!report.rows.length) return; // the roofs alone (--only roofline)
  console.log(formatTable(report.rows));
  console.log(`\n${LEGEND.join('\n')}`);
  const notes = [...new Set(report.rows.flatMap((r) => r.notes))];
  if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `  ${n}`).join('\n')}`);
  console.log(`\n${formatTargets(report.targets)}`);
}

async function node(): Promise<Report> {
  const env = await startEnv(wasmDir, options.dawnFlags);
  const { cases, skipped } = suite(options);
  for (const s of skipped) console.log(s);
  console.log(`${cases.length} cases on ${env.adapter}`);
  const load0 = loadavg();
  const log = (l: string) => console.log(l);
  const roofs = options.roofline ? await measureRoofs({ quick: options.quick, log }) : null;
  const fixed = await overheads();
  const rows = await runCases(env, cases, { ...rounds(options.quick), contenders: CONTENDERS, log });
  for (const s of skipped) for (const r of rows) r.notes.push(s);
  const after = roofs && cases.length ? await remeasure(roofs, options.quick) : null;
  if (roofs) applyRoofs(rows, roofs);
  return {
    date: new Date().toISOString(),
    runtime: 'node',
    adapter: env.adapter,
    tfAdapter: env.tfAdapter,
    dawnFlags: env.dawnFlags,
    userAgent: `Node ${process.version}, ${process.platform} ${process.arch}`,
    versions: versions(),
    options: { ...options },
    load: { before: load0, after: loadavg() },
    overheads: fixed,
    roofs: roofs && { ...roofs, after },
    rows,
    targets: targets(rows),
  };
}

async function runSweep(): Promise<void> {
  const env = await startEnv(wasmDir, options.dawnFlags);
  console.log(`matmul kernel sweep on ${env.adapter}${env.dawnFlags ? ` (Dawn toggles: ${env.dawnFlags})` : ''}`);
  const { sweep } = await import('./sweep.js');
  const { FINALISTS } = await import('./matmul-variants.js');
  const r = await sweep({
    rounds: options.quick ? 2 : 4,
    large: 1024,
    log: (l) => console.log(l),
    finalists: flag('--sweep-final') ? FINALISTS : undefined,
  });
  console.log(`\n${r.table}\n\nwinner at 1024^3: ${r.winner}`);
  const record = {
    date: new Date().toISOString(),
    runtime: 'node',
    adapter: env.adapter,
    dawnFlags: env.dawnFlags,
    ...r,
  };
  if (!flag('--no-save')) console.log(`saved ${save(record, 'sweep')}`);
}

async function runBoundsReport(): Promise<void> {
  const env = await startEnv(wasmDir, options.dawnFlags);
  const load0 = loadavg();
  const { runBounds } = await import('./bounds.js');
  const r = await runBounds(env, { quick: options.quick, log: (l) => console.log(l) });
  const load = { before: load0, after: loadavg() };
  console.log(
    `\nwhat bounds the missed targets, on ${env.adapter}; load average ${load.before[0]!.toFixed(1)} -> ` +
      `${load.after[0]!.toFixed(1)}\n\n${r.text}`,
  );
  const record = { date: new Date().toISOString(), runtime: 'node', adapter: env.adapter, load, ...r };
  if (!flag('--no-save')) console.log(`\nsaved ${save(record, 'bounds')}`);
}

async function main(): Promise<void> {
  let report: Report;
  if (flag('--candidate-wgsl')) {
    const { CANDIDATE, variantSource } = await import('./matmul-variants.js');
    console.log(`// ${CANDIDATE.name}\n${variantSource(CANDIDATE)}`);
    return;
  }
  if (flag('--sweep') || flag('--sweep-final')) {
    await runSweep();
    return;
  }
  if (flag('--bounds')) {
    await runBoundsReport();
    return;
  }
  if (flag('--toggles')) {
    const { runToggles } = await import('./toggles.js');
    const record = await runToggles(root, args);
    if (!flag('--no-save')) console.log(`saved ${save(record, 'toggles')}`);
    return;
  }
  if (flag('--browser')) {
    const { runInBrowser } = await import('./browser.js');
    report = await runInBrowser(root, options);
    report.versions = { ...versions(), ...report.versions };
  } else {
    report = await node();
  }
  printReport(report);
  const out = value('--json');
  if (out) writeFileSync(out, JSON.stringify(report));
  if (!flag('--no-save')) console.log(`\nsaved ${save(report)}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
