// `npm run bench -- --toggles`: the effect of Dawn's toggles on SwiftShader (and of dawn.node's polling,
// env.ts). Each set of toggles needs its
// own Dawn instance, so each runs in a child process (`node dist/bench.js --dawn-flags SET --only ...`) on a
// few telling cases: a large matmul, the tiny-op-bound VAE step, a fused loss and the Adam step. Both our
// runtime and TF.js-WebGPU run on that instance, so both feel the toggles. The sets run twice, forward
// then backward, and the two figures of each are averaged, so that a drift in the machine's load does not
// favour the sets that ran first.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from './report.js';
import { fmtMs, textTable } from './util.js';

const ROBUST_OFF = 'disable_robustness';

export const TOGGLE_SETS: { name: string; flags: string; spin?: boolean }[] = [
  { name: 'Dawn defaults (robustness on)', flags: '' },
  { name: 'disable_robustness (device.ts)', flags: ROBUST_OFF },
  { name: '+ disable_workgroup_init', flags: `${ROBUST_OFF},disable_workgroup_init` },
  { name: '+ skip_validation', flags: `${ROBUST_OFF},skip_validation` },
  {
    name: '+ disable_polyfills_on_integer_div_and_mod',
    flags: `${ROBUST_OFF},disable_polyfills_on_integer_div_and_mod`,
  },
  {
    name: 'all four',
    flags: `${ROBUST_OFF},disable_workgroup_init,skip_validation,disable_polyfills_on_integer_div_and_mod`,
  },
  { name: 'disable_robustness, WEIGHTGEN_POLL=spin', flags: ROBUST_OFF, spin: true },
];

const CASES = ['matmul 256^3', 'softmax-xent fwd+bwd', 'adam step', 'VAE train step'];

interface Cell {
  ours: number[];
  oursGpu: number[];
  webgpu: number[];
}

export async function runToggles(
  root: string,
  args: string[],
): Promise<{ date: string; runtime: string; adapter: string; sets: unknown }> {
  const dir = mkdtempSync(join(tmpdir(), 'weightgen-toggles-'));
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1]! : CASES.join(',');
  const cells = new Map<string, Cell>(); // `${set}\t${case}`
  let adapter = '';
  // --sets "a,b": only the sets whose name contains one of these
  const pick = args.includes('--sets') ? args[args.indexOf('--sets') + 1]!.split(',') : null;
  const sets = TOGGLE_SETS.filter((s) => !pick || pick.some((p) => s.name.includes(p)));
  const order = [...sets, ...[...sets].reverse()];
  try {
    for (const [i, set] of order.entries()) {
      const out = join(dir, `${i}.json`);
      console.log(`[${i + 1}/${order.length}] ${set.name}`);
      const r = spawnSync(
        process.execPath,
        [
          join(root, 'dist/bench.js'),
          '--dawn-flags',
          set.flags,
          '--only',
          only,
          '--quick',
          '--no-candidate',
          '--no-save',
          '--json',
          out,
        ],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, WEIGHTGEN_POLL: set.spin ? 'spin' : 'patient' },
        },
      );
      if (r.status !== 0) throw new Error(`the run with toggles '${set.flags}' failed:\n${r.stdout}`);
      const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
      adapter = report.adapter;
      for (const row of report.rows) {
        const key = `${set.name}\t${row.op} ${row.shape}`;
        const c = cells.get(key) ?? { ours: [], oursGpu: [], webgpu: [] };
        if (row.ours) c.ours.push(row.ours.ms);
        if (row.oursGpuMs !== null) c.oursGpu.push(row.oursGpuMs);
        if (row.webgpu) c.webgpu.push(row.webgpu.ms);
        cells.set(key, c);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  const rows = [['toggles', 'case', 'ours ms', 'ours GPU ms', 'TF-WebGPU ms']];
  const means: Record<string, Record<string, { ours: number; oursGpu: number; webgpu: number }>> = {};
  for (const [key, c] of cells) {
    const [set, name] = key.split('\t') as [string, string];
    const v = { ours: mean(c.ours), oursGpu: mean(c.oursGpu), webgpu: mean(c.webgpu) };
    (means[set] ??= {})[name] = v;
    rows.push([set, name, fmtMs(v.ours), fmtMs(v.oursGpu), fmtMs(v.webgpu)]);
  }
  rows.splice(1, rows.length - 1, ...rows.slice(1).sort((a, b) => a[1]!.localeCompare(b[1]!)));
  console.log(`\nDawn toggles on ${adapter} (each the mean of two runs, wall ms as in the table)\n`);
  console.log(textTable(rows, new Set([2, 3, 4])));
  return { date: new Date().toISOString(), runtime: 'node', adapter, sets: means };
}
