// `weightgen iris finetune` on a small run folder (Node only: files): 12 networks per zoo, trained 60 epochs
// (M1 reaches ~90% by then), both VAEs at their default epochs; 16 networks per sampler, 5 epochs of
// fine-tuning. What so small a run can show: the mechanics (files, table, manifest, restarts), B_F equal to
// the zoo it copies, fine-tuning equal to trainZoo from the same start, and the sampled M1 networks that
// start near the zoo's good ones (S_KDE30, S_Neigh, B_KDE30, B_F) above random init at epoch 0. The full
// comparison (500 networks, 50 epochs, both VAEs) is the command's run on a default run folder.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IrisOptions, irisAll } from '../src/cli/iris.js';
import { type FinetuneReport, irisFinetuneCommand } from '../src/cli/iris-finetune.js';
import { irisSplit } from '../src/data/iris.js';
import { readSafetensors } from '../src/io/files.js';
import { finetune } from '../src/models/finetune.js';
import { SAMPLERS } from '../src/models/samplers.js';
import { modelSeed, Population, trainZoo, ZOO_SETS } from '../src/models/zoo.js';
import { Rng } from '../src/tensor/index.js';
import { expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const dir = mkdtempSync(join(tmpdir(), 'weightgen-finetune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts: IrisOptions = { run: dir, preset: 'default', models: 12, zooEpochs: 60, samples: 4, seed: 0 };
const split = irisSplit();
let rep: FinetuneReport;

describe('iris finetune', () => {
  it('writes the table, the figures and the sampled networks, and records them in the manifest', async () => {
    await irisAll(opts);
    rep = (await irisFinetuneCommand(['--run', dir, '--samples', '16', '--epochs', '5']))!;
    for (const f of ['finetune.json', 'finetune.md', 'finetune.svg', 'finetune.png', 'memorisation.svg']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(rep.epochs).toEqual([0, 1, 5]);
    const json = JSON.parse(readFileSync(join(dir, 'finetune.json'), 'utf8')) as FinetuneReport;
    expect(json.epochs).toEqual([0, 1, 5]);
    const md = readFileSync(join(dir, 'finetune.md'), 'utf8');
    expect(md).toMatch(/\| method \| initialisation \| ep 0 \| ep 1 \| ep 5 \| weights to nearest zoo net \|/);
    for (const arch of ['M1', 'M2'] as const) {
      const rows = json.archs[arch]!.rows;
      expect(rows.map((r) => r.sampler)).toEqual([...SAMPLERS]);
      for (const r of rows) {
        expect(r.accuracy.map((a) => a.epoch)).toEqual([0, 1, 5]);
        expect(md).toContain(`| ${r.sampler} | ${r.what} | ${r.accuracy[0]!.mean.toFixed(2)} +- `);
      }
      expect(json.archs[arch]!.best.count).toBe(4); // ceil(0.3 * 12)
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.files['finetune.json'].settings).toMatchObject({ samples: 16, epochs: 5, bandwidth: 'scott' });
    expect(manifest.files['finetune.json'].settings.zoo).toEqual(manifest.files['zoo.safetensors'].settings);
    const st = readSafetensors(join(dir, 'finetune.safetensors')).tensors;
    expect(st['M2.S_KDE30.weights']!.shape).toEqual([16, 43]);
    expect(st['M1.B_T.test_accuracy']!.shape).toEqual([3, 16]);
  });

  it("B_F is the zoo: its epoch-0 accuracy is the zoo file's, and every one of its networks is a copy", () => {
    const zoo = readSafetensors(join(dir, 'zoo.safetensors')).tensors;
    for (const [arch, set] of [
      ['M1', 'real'],
      ['M2', 'real2'],
    ] as const) {
      const acc = zoo[`${set}.test_accuracy`]!.data;
      const cycled = Array.from({ length: 16 }, (_, i) => acc[i % 12]!);
      const bf = rep.archs[arch]!.rows.find((r) => r.sampler === 'B_F')!;
      expect(bf.accuracy[0]!.mean).toBeCloseTo((100 * cycled.reduce((s, a) => s + a, 0)) / 16, 3);
      expect(bf.memorisation).toMatchObject({ weightMedian: 0, disagreementMedian: 0, copies: 1 });
      const bt = rep.archs[arch]!.rows.find((r) => r.sampler === 'B_T')!;
      expect(bt.memorisation.copies).toBe(0);
      expect(bt.accuracy[2]!.mean).toBeGreaterThan(bt.accuracy[0]!.mean); // fine-tuning trains
    }
  });

  it('M1 networks sampled near the good zoo networks start above random init', () => {
    const rows = rep.archs.M1!.rows;
    const at0 = (s: string) => rows.find((r) => r.sampler === s)!.accuracy[0]!.mean;
    for (const s of ['B_F', 'B_KDE30', 'S_KDE30', 'S_Neigh']) expect(at0(s), s).toBeGreaterThan(at0('B_T') + 10);
  });

  it("fine-tuning from the zoo's initial weights with its generators reproduces trainZoo", async () => {
    const set = ZOO_SETS.find((s) => s.name === 'real2')!;
    const rngs = [0, 1, 2].map((g) => new Rng(modelSeed(set.seed, g, 0)));
    const start = new Population('M2', 3, rngs); // draws the initial weights, as trainZoo does first
    const init = await start.vectors();
    start.dispose();
    const ft = await finetune('M2', init, split, { epochs: 3, rngs });
    const z = await trainZoo(set, split, { models: 3, epochs: 3 });
    expectClose(ft.vectors, z.vectors, 1e-6, 1e-7, 'weights after 3 epochs');
    expect(ft.at).toEqual([0, 1, 3]);
    expect(Array.from(ft.accuracy.at(-1)!)).toEqual(Array.from(z.testAccuracy));
  });

  it('says what is missing or unfinished, and --restart of an iris step deletes what was made from it', async () => {
    const x = mkdtempSync(join(tmpdir(), 'weightgen-finetune-bad-'));
    try {
      await expect(irisFinetuneCommand(['--run', join(x, 'none')])).rejects.toThrow(/no such run folder/);
      cpSync(dir, x, { recursive: true });
      const mpath = join(x, 'manifest.json');
      const m = JSON.parse(readFileSync(mpath, 'utf8'));
      m.files['vae-m1.ckpt.safetensors'].settings.vae.epochs += 1;
      writeFileSync(mpath, JSON.stringify(m));
      await expect(irisFinetuneCommand(['--run', x])).rejects.toThrow(
        /vae-m1\.ckpt\.safetensors holds epoch 400 of 401: its training is unfinished/,
      );
      rmSync(join(x, 'vae-m2.ckpt.safetensors'));
      await expect(irisFinetuneCommand(['--run', x])).rejects.toThrow(
        /vae-m2\.ckpt\.safetensors does not exist: run `weightgen iris vae/,
      );
      await expect(irisFinetuneCommand(['--run', x, '--samples', '1'])).rejects.toThrow(/--samples/);
      const y = join(x, 'restart');
      cpSync(dir, y, { recursive: true });
      await irisAll({ ...opts, run: y, restart: 'table1' });
      expect(existsSync(join(y, 'finetune.json'))).toBe(false);
      expect(existsSync(join(y, 'memorisation.svg'))).toBe(false);
      expect(JSON.parse(readFileSync(join(y, 'manifest.json'), 'utf8')).files['finetune.json']).toBeUndefined();
      expect(await irisFinetuneCommand(['--help'])).toBeUndefined();
    } finally {
      rmSync(x, { recursive: true, force: true });
    }
  });
});
