// `weightgen tabular` (Node only: files): a CSV made here goes through the whole pipeline at a tiny scale;
// Iris written as a CSV gives `iris all`'s Table 1 and zoo exactly; a bad CSV is refused before anything is
// written. The checks recompute what they can on the CPU (the split, each zoo network's test accuracy,
// Table 1's means) instead of trusting the pipeline's own numbers.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spectralDistances } from '../src/analysis/spectral.js';
import { irisAll } from '../src/cli/iris.js';
import { tabularCommand } from '../src/cli/tabular.js';
import { parseCsv } from '../src/data/csv.js';
import { IRIS_CLASSES, loadIris } from '../src/data/iris.js';
import { splitTabular, standardise } from '../src/data/split.js';
import { readSafetensors } from '../src/io/files.js';
import { expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const root = mkdtempSync(join(tmpdir(), 'weightgen-tabular-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** Four Gaussian blobs in 5 dimensions, 50 rows each, the string label in the second column. */
function blobsCsv(seed: number): string {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const kinds = ['north', 'east', 'south', 'west'];
  const lines = ['f0,kind,f1,f2,f3,f4'];
  for (let r = 0; r < 200; r++) {
    const k = r % 4;
    // class k's centre: 3 in feature k, 10 + k in f4 (raw scales differ, so standardisation matters)
    const f = [0, 1, 2, 3, 4].map((j) => (j === k ? 3 : 0) + (j === 4 ? 10 + k : 0) + normal() * (j === 4 ? 2 : 1));
    const cells = f.map((v) => v.toFixed(4));
    lines.push([cells[0], kinds[k], ...cells.slice(1)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

const TINY_VAES = ['--models', '6', '--samples', '8', '--vae-epochs', '2', '--evae-epochs', '2'];
const TINY = [...TINY_VAES, '--zoo-epochs', '3'];
const ALL_FILES = [
  'manifest.json',
  'zoo.safetensors',
  'vae-m1.ckpt.safetensors',
  'vae-m2.ckpt.safetensors',
  'generated.safetensors',
  'table1.json',
  'table1.md',
  'tsne.json',
  'tsne-m1.svg',
  'tsne-m1.png',
  'tsne-m2.svg',
  'tsne-m2.png',
  'finetune.json',
  'finetune.md',
  'finetune.svg',
  'finetune.png',
  'finetune.safetensors',
  'memorisation.svg',
  'memorisation.png',
];

/** Every number in a JSON value, with its path. */
function numbers(v: unknown, path = ''): [string, number][] {
  if (typeof v === 'number') return [[path, v]];
  if (Array.isArray(v)) return v.flatMap((x, i) => numbers(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => numbers(x, `${path}.${k}`));
  return [];
}

describe('weightgen tabular', () => {
  it('runs the whole pipeline on a CSV made here: every file written, finite, the zoos far above chance', async () => {
    const csv = join(root, 'blobs.csv');
    const text = blobsCsv(7);
    writeFileSync(csv, text);
    const run = join(root, 'blobs');
    const args = ['--csv', csv, '--label', 'kind', '--run', run, '--hidden', '6', ...TINY_VAES, '--zoo-epochs', '20'];
    const small = ['--tsne-networks', '6', '--perplexity', '4', '--tsne-iterations', '250'];
    const r = (await tabularCommand([...args, ...small, '--finetune-samples', '4', '--finetune-epochs', '2']))!;
    for (const f of ALL_FILES) expect(existsSync(join(run, f)), f).toBe(true);
    expect(r.task.features).toBe(5);
    expect(r.task.classes).toBe(4);

    // every tensor of every safetensors file, every number of every JSON file: finite
    for (const f of ALL_FILES.filter((f) => f.endsWith('.safetensors'))) {
      for (const [name, t] of Object.entries(readSafetensors(join(run, f)).tensors)) {
        expect(Array.from(t.data as Float32Array).every(Number.isFinite), `${f} ${name}`).toBe(true);
      }
    }
    for (const f of ['table1.json', 'tsne.json', 'finetune.json']) {
      const bad = numbers(readJson(join(run, f))).filter(([, x]) => !Number.isFinite(x));
      expect(bad, f).toEqual([]);
    }

    // the split and scaling, redone from the data layer: each Real zoo network's stored test accuracy is its
    // CPU forward pass's on those rows, and Table 1's R1 is their mean
    const data = parseCsv(text, { file: csv, label: 'kind' });
    expect(data.classes).toEqual(['east', 'north', 'south', 'west']);
    const split = standardise(splitTabular(data, { testSize: 0.33, seed: 42, mode: 'stratified' })).split;
    const zoo = readSafetensors(join(run, 'zoo.safetensors')).tensors;
    expect(zoo['real.weights']!.shape).toEqual([6, 4 * 6]); // [W | b]: 4 rows of 5 + 1
    expect(zoo['real2.weights']!.shape).toEqual([6, 6 * 6 + 4 * 7]); // 5-6-4
    const w = zoo['real.weights']!.data as Float32Array;
    const cpuAccuracy = Array.from({ length: 6 }, (_, g) => {
      let right = 0;
      for (let i = 0; i < split.yTest.length; i++) {
        const logits = [0, 1, 2, 3].map((o) => {
          let z = w[g * 24 + o * 6 + 5]!;
          for (let j = 0; j < 5; j++) z += w[g * 24 + o * 6 + j]! * split.xTest[i * 5 + j]!;
          return z;
        });
        if (logits.indexOf(Math.max(...logits)) === split.yTest[i]) right++;
      }
      return right / split.yTest.length;
    });
    expectClose(zoo['real.test_accuracy']!.data, cpuAccuracy, 0, 1e-6, 'R1 test accuracy');
    const table = readJson(join(run, 'table1.json'));
    expect(table.published).toBeUndefined();
    const row = (set: string) => table.rows.find((x: { set: string }) => x.set === set);
    expect(row('R1').mean).toBeCloseTo((100 * cpuAccuracy.reduce((a, b) => a + b, 0)) / 6, 3);
    expect(table.majority).toBeCloseTo(0.25, 1); // four classes of 50 rows, stratified
    expect(row('R1').mean).toBeGreaterThan(70); // chance: 25
    expect(row('R2').mean).toBeGreaterThan(50);
    expect(readFileSync(join(run, 'table1.md'), 'utf8')).toMatch(/Table 1 on blobs\.csv[\s\S]*M1 = Linear\(5,4\)/);
    expect(readFileSync(join(run, 'finetune.md'), 'utf8')).toContain(`on blobs.csv's ${split.yTest.length} test rows`);
    expect(readJson(join(run, 'tsne.json')).figures.m2.points).toHaveLength(12);

    // a second run finds every step done and rewrites nothing (but Table 1, remade from the stored files as
    // `iris all` does, to the same bytes)
    const kept = ALL_FILES.filter((f) => f !== 'manifest.json' && !f.startsWith('table1'));
    const stamps = () => kept.map((f) => statSync(join(run, f)).mtimeMs);
    const done = stamps();
    const table1 = readFileSync(join(run, 'table1.json'), 'utf8');
    const again = (await tabularCommand([...args, ...small, '--finetune-samples', '4', '--finetune-epochs', '2']))!;
    expect(stamps()).toEqual(done);
    expect(readFileSync(join(run, 'table1.json'), 'utf8')).toBe(table1);
    expect(again.finetune).toEqual(r.finetune);
    expect(again.table1).toEqual(r.table1);

    // the manifest records the CSV; a changed CSV is refused, naming the setting, and nothing is touched
    const manifest = readJson(join(run, 'manifest.json'));
    const sha256 = createHash('sha256').update(text).digest('hex');
    expect(manifest.files['zoo.safetensors'].settings.data).toMatchObject({
      csv,
      sha256,
      label: 'kind',
      split: 'stratified',
      testSize: 0.33,
      splitSeed: 42,
      standardise: true,
      hidden: 6,
    });
    expect(manifest.files['finetune.json'].settings.zoo.data.sha256).toBe(sha256);
    const before = readFileSync(join(run, 'table1.json'), 'utf8');
    writeFileSync(
      csv,
      text.replace(/\n(-?\d+\.\d+),north,/, (_, v) => `\n${v}1,north,`),
    ); // one more digit
    await expect(tabularCommand(['table1', ...args])).rejects.toThrow(
      /zoo\.safetensors was made with other settings.*data\.sha256: "[0-9a-f]{64}" in the file, "[0-9a-f]{64}" now/,
    );
    await expect(tabularCommand(['tsne', ...args, ...small])).rejects.toThrow(/zoo\.safetensors was made from data/);
    expect(readFileSync(join(run, 'table1.json'), 'utf8')).toBe(before);
  });

  it("Iris as a CSV gives `iris all`'s Table 1 rows and zoo exactly", async () => {
    const iris = loadIris();
    const lines = ['sepal_length,sepal_width,petal_length,petal_width,species'];
    for (let i = 0; i < iris.y.length; i++) {
      const x = Array.from(iris.x.subarray(4 * i, 4 * i + 4), (v) => Math.fround(v).toString());
      lines.push([...x, IRIS_CLASSES[iris.y[i]!]].join(','));
    }
    const csv = join(root, 'iris.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const [viaCsv, viaIris] = [join(root, 'iris-csv'), join(root, 'iris')];
    const args = ['--csv', csv, '--label', 'species', '--run', viaCsv, ...TINY];
    const asIris = ['--split', 'shuffle', '--split-seed', '42', '--standardise', 'no'];
    for (const step of ['zoo', 'sample', 'table1']) await tabularCommand([step, ...args, ...asIris]);
    await irisAll({
      run: viaIris,
      preset: 'default',
      models: 6,
      zooEpochs: 3,
      samples: 8,
      vaeEpochs: 2,
      evaeEpochs: 2,
      seed: 0,
    });

    const rows = (dir: string) => JSON.stringify(readJson(join(dir, 'table1.json')).rows);
    expect(rows(viaCsv)).toBe(rows(viaIris));
    for (const f of ['zoo.safetensors', 'generated.safetensors']) {
      const [a, b] = [readSafetensors(join(viaCsv, f)).tensors, readSafetensors(join(viaIris, f)).tensors];
      expect(Object.keys(a).sort(), f).toEqual(Object.keys(b).sort());
      for (const name of Object.keys(b)) {
        expect(a[name]!.shape, `${f} ${name}`).toEqual(b[name]!.shape);
        expect(Array.from(a[name]!.data as Float32Array), `${f} ${name}`).toEqual(
          Array.from(b[name]!.data as Float32Array),
        );
      }
    }
    // the default split is another one: stratified (16 or 17 test rows of each class), standardised
    const other = (await tabularCommand([
      'zoo',
      '--csv',
      csv,
      '--label',
      'species',
      '--run',
      join(root, 'x'),
      ...TINY,
    ]))!;
    const { yTest, xTrain } = other.task.split;
    for (const c of [0, 1, 2]) expect([16, 17]).toContain(Array.from(yTest).filter((y) => y === c).length);
    expect(Math.abs(Array.from(xTrain).reduce((a, x, i) => (i % 4 === 0 ? a + x : a), 0))).toBeLessThan(1e-3);
  });

  it('a bad CSV gives the data layer error, naming file, line and column, and writes nothing', async () => {
    const csv = join(root, 'bad.csv');
    writeFileSync(csv, 'a,b,label\n1,2,x\n3,oops,y\n5,6,x\n7,8,y\n');
    const run = join(root, 'bad-run');
    await expect(tabularCommand(['--csv', csv, '--label', 'label', '--run', run])).rejects.toThrow(
      /bad\.csv:3: column 2 \("b"\): the cell "oops" is not a number/,
    );
    expect(existsSync(run)).toBe(false);
    await expect(tabularCommand(['--csv', csv, '--label', 'class', '--run', run])).rejects.toThrow(
      /no column named "class"/,
    );
    await expect(tabularCommand(['--label', 'label', '--run', run])).rejects.toThrow(/--csv FILE is required/);
    expect(existsSync(run)).toBe(false);
  });

  it("spectral distances of networks given by widths equal those of Iris's named shapes", async () => {
    let s = 3;
    const v = Float32Array.from({ length: 7 * 43 }, () => ((s = (s * 48271) % 2147483647) / 2147483647) * 2 - 1);
    for (const arch of ['M1', 'M2'] as const) {
      const widths = arch === 'M1' ? [4, 3] : [4, 5, 3];
      const x = arch === 'M1' ? v.subarray(0, 7 * 15) : v;
      const general = await spectralDistances(x, { arch, widths }); // the shape path, not the name
      expectClose(general, await spectralDistances(x, arch), 0, 0, arch);
    }
  });
});
