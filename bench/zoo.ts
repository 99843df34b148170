// The Iris model zoo (1,500 models x 200 epochs: Real, Scrambled and Real-2, 500 each), side by side:
//   (a) our stack training each set as one population (all models of a set in one set of dispatches),
//   (b) our stack training the same models one at a time,
//   (c) the paper's way in PyTorch 1.13 on the CPU: a loop over models (bench/zoo_torch.py; skipped with
//       a message where python3-torch is absent).
// (b) and (c) take long for 1,500 models, so they time a sample of models and scale to 1,500; the output
// says so. Wall time, each run ending with a completed readback.
//
//   npx esbuild bench/zoo.ts --bundle --platform=node --format=esm --external:webgpu \
//     --outfile=dist/bench-zoo.mjs && node dist/bench-zoo.mjs [--sample 6] [--epochs 200]

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { irisSplit } from '../src/data/iris.js';
import { initGpu } from '../src/gpu/index.js';
import { trainZoo, ZOO_SETS } from '../src/models/zoo.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const MODELS = 500;
const epochs = flag('epochs', 200);
const sample = flag('sample', 6);
const g = await initGpu();
const split = irisSplit();
console.log(`adapter: ${g.adapter.vendor} ${g.adapter.architecture} (${g.adapter.description}); ${epochs} epochs`);

await trainZoo(ZOO_SETS[0]!, split, { models: 2, epochs: 1 }); // build the pipelines first

let batched = 0;
for (const set of ZOO_SETS) {
  const t = performance.now();
  const z = await trainZoo(set, split, { models: MODELS, epochs });
  const s = (performance.now() - t) / 1000;
  batched += s;
  const acc = (100 * z.testAccuracy.reduce((a, b) => a + b, 0)) / MODELS;
  console.log(
    `(a) population: ${set.name} ${MODELS} x ${set.arch} in ${s.toFixed(1)} s (mean test accuracy ${acc.toFixed(2)}%)`,
  );
}

let single = 0;
for (const set of ZOO_SETS) {
  const t = performance.now();
  for (let m = 0; m < sample; m++) await trainZoo(set, split, { models: 1, firstModel: m, epochs });
  single += ((performance.now() - t) / 1000 / sample) * MODELS;
}
console.log(`(b) one at a time: ${sample} models per set timed, ${single.toFixed(0)} s for 1,500 by scaling`);

let torch: number | null = null;
const py = '/usr/bin/python3';
if (existsSync(py)) {
  try {
    const out = execFileSync(py, ['bench/zoo_torch.py', '--sample', String(sample * 4), '--epochs', String(epochs)], {
      encoding: 'utf8',
    });
    torch = Number(/TOTAL_SECONDS ([\d.]+)/.exec(out)?.[1]);
    process.stdout.write(out.replace(/^TOTAL_SECONDS.*$/m, ''));
  } catch (e) {
    console.log(`(c) PyTorch: skipped (${(e as Error).message.split('\n')[0]})`);
  }
} else {
  console.log('(c) PyTorch: skipped (no /usr/bin/python3 with torch; apt-get install python3-torch)');
}

console.log('\nzoo of 1,500 models x', epochs, 'epochs, wall time');
console.log(`  ours, as populations     ${batched.toFixed(1).padStart(8)} s   1.0x`);
console.log(
  `  ours, one at a time      ${single.toFixed(1).padStart(8)} s   ${(single / batched).toFixed(1)}x slower (scaled)`,
);
if (torch)
  console.log(
    `  PyTorch 1.13 CPU, a loop ${torch.toFixed(1).padStart(8)} s   ${(torch / batched).toFixed(1)}x slower (scaled)`,
  );
process.exit(0);
