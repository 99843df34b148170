// The bench page (dist/bench-page.js): runs the suite in the browser that browser.ts opened and leaves the
// report on window.__benchDone. Options come from the `o` query parameter (JSON, as main.ts parsed them).

import { startEnv } from './env.js';
import { overheads, runCases } from './harness.js';
import { applyRoofs, type Report, targets } from './report.js';
import { measureRoofs, remeasure } from './roofline.js';
import { rounds, suite, type SuiteOptions } from './suite.js';
import { LOG_PREFIX } from './util.js';

const log = (line: string) => console.log(`${LOG_PREFIX}${line}`);

async function run(): Promise<Report> {
  const o = JSON.parse(new URLSearchParams(location.search).get('o') ?? '{}') as SuiteOptions;
  const env = await startEnv(new URL('/wasm/', location.href).href);
  const { cases, skipped } = suite(o);
  for (const s of skipped) log(s);
  log(`${cases.length} cases on ${env.adapter}`);
  const roofs = o.roofline ? await measureRoofs({ quick: o.quick, log }) : null;
  const fixed = await overheads();
  const rows = await runCases(env, cases, { ...rounds(o.quick), contenders: ['ours', 'webgpu', 'wasm'], log });
  for (const s of skipped) for (const r of rows) r.notes.push(s);
  const after = roofs && cases.length ? await remeasure(roofs, o.quick) : null;
  if (roofs) applyRoofs(rows, roofs);
  return {
    date: new Date().toISOString(),
    runtime: 'browser',
    adapter: env.adapter,
    tfAdapter: env.tfAdapter,
    dawnFlags: '',
    userAgent: navigator.userAgent,
    versions: {},
    options: o,
    load: null,
    overheads: fixed,
    roofs: roofs && { ...roofs, after },
    rows,
    targets: targets(rows),
  };
}

run().then(
  (report) => void ((window as any).__benchDone = { report }),
  (e) => void ((window as any).__benchDone = { error: (e as Error).stack ?? String(e) }),
);
