// The Iris pipeline's run folder (Node only: files). Tiny settings; the numbers are checked elsewhere.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IrisOptions, irisAll, irisTable1, irisZoo } from '../src/cli/iris.js';
import { irisSplit } from '../src/data/iris.js';
import { readSafetensors, writeSafetensors } from '../src/io/files.js';
import { vectorAccuracy } from '../src/models/zoo.js';
import { expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const dir = mkdtempSync(join(tmpdir(), 'weightgen-iris-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts: IrisOptions = {
  run: dir,
  preset: 'default',
  models: 6,
  zooEpochs: 3,
  samples: 8,
  vaeEpochs: 2,
  evaeEpochs: 2,
  seed: 0,
};

describe('iris pipeline run folder', () => {
  it('writes every output, and a second run skips every step', async () => {
    await irisAll(opts);
    for (const f of [
      'zoo.safetensors',
      'vae-m1.ckpt.safetensors',
      'vae-m2.ckpt.safetensors',
      'generated.safetensors',
      'table1.md',
      'table1.json',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const zoo = readSafetensors(join(dir, 'zoo.safetensors'));
    expect(zoo.tensors['real.weights']!.shape).toEqual([6, 15]);
    expect(zoo.tensors['real2.weights']!.shape).toEqual([6, 43]);
    expect(zoo.metadata.layout).toMatch(/\[W \| b\]/);
    const table = JSON.parse(readFileSync(join(dir, 'table1.json'), 'utf8'));
    expect(table.rows.map((r: { set: string }) => r.set)).toEqual(['R1', 'S1', 'G1', 'R2', 'G2']);
    const before = statSync(join(dir, 'zoo.safetensors')).mtimeMs;
    await irisAll(opts);
    expect(statSync(join(dir, 'zoo.safetensors')).mtimeMs).toBe(before);
  });

  it('a corrupt zoo file gives an error naming the file', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'weightgen-iris-bad-'));
    try {
      cpSync(dir, bad, { recursive: true }); // a finished run folder (its manifest records the zoo) ...
      writeFileSync(join(bad, 'zoo.safetensors'), 'not a safetensors file at all'); // ... whose zoo got corrupted
      await expect(irisZoo({ ...opts, run: bad })).rejects.toThrow(/zoo\.safetensors: not a valid safetensors file/);
      expect(() => irisTable1({ ...opts, run: bad })).toThrow(/zoo\.safetensors/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('refuses to mix settings in one folder, naming both, and changes nothing on disk', async () => {
    const x = mkdtempSync(join(tmpdir(), 'weightgen-iris-mix-'));
    try {
      cpSync(dir, x, { recursive: true });
      rmSync(join(x, 'generated.safetensors'));
      const stamp = () =>
        ['zoo.safetensors', 'vae-m1.ckpt.safetensors', 'vae-m2.ckpt.safetensors', 'table1.md'].map(
          (f) => statSync(join(x, f)).mtimeMs,
        );
      const before = stamp();
      const o = { ...opts, run: x };
      await expect(irisAll({ ...o, preset: 'faithful' })).rejects.toThrow(
        /vae-m1\.ckpt\.safetensors was made with other settings.*preset: "default" in the file, "faithful" now.*--restart vae/,
      );
      await expect(irisAll({ ...o, seed: 7 })).rejects.toThrow(/zoo\.safetensors.*seed: 0 in the file, 7 now/);
      await expect(irisAll({ ...o, models: 5 })).rejects.toThrow(/models: 6 in the file, 5 now/);
      expect(() => irisTable1({ ...opts, run: x, preset: 'faithful' })).toThrow(/other settings/);
      expect(stamp()).toEqual(before);
      expect(existsSync(join(x, 'generated.safetensors'))).toBe(false);
      // --restart redoes the step and what follows it with the new settings
      await irisAll({ ...o, preset: 'faithful', restart: 'vae' });
      const m = JSON.parse(readFileSync(join(x, 'manifest.json'), 'utf8'));
      expect(m.files['vae-m2.ckpt.safetensors'].settings.preset).toBe('faithful');
      expect(m.files['zoo.safetensors'].settings.seed).toBe(0);
      const table = JSON.parse(readFileSync(join(x, 'table1.json'), 'utf8'));
      expect(table.preset).toBe('faithful');
      // the faithful preset also reports G2 as the code evaluated it: the decoded weights, standardised
      expect(table.rows.map((r: { set: string }) => r.set)).toEqual(['R1', 'S1', 'G1', 'R2', 'G2', 'G2s']);
      expect(readFileSync(join(x, 'table1.md'), 'utf8')).toMatch(
        /G2s: the same generated networks .* standardised space/,
      );
      const zoo = readSafetensors(join(x, 'zoo.safetensors')).tensors['real2.weights']!.data as Float32Array;
      const gen = readSafetensors(join(x, 'generated.safetensors')).tensors;
      const mu = zoo.reduce((s, v) => s + v, 0) / zoo.length;
      const sd = Math.sqrt(zoo.reduce((s, v) => s + (v - mu) ** 2, 0) / (zoo.length - 1));
      const standardised = (gen['g2.weights']!.data as Float32Array).map((v) => (v - mu) / sd);
      const acc = await vectorAccuracy('M2', Float32Array.from(standardised), irisSplit());
      // (un-scaled and standardised again in f32, a weight may move by an ulp and flip one of 50 rows: 0.02)
      expectClose(gen['g2.test_accuracy_standardised']!.data, acc, 0, 0.021, 'G2 standardised');
    } finally {
      rmSync(x, { recursive: true, force: true });
    }
  });

  it('a folder without a manifest (an older run) is not reused silently', async () => {
    const x = mkdtempSync(join(tmpdir(), 'weightgen-iris-old-'));
    try {
      cpSync(dir, x, { recursive: true });
      rmSync(join(x, 'manifest.json'));
      await expect(irisAll({ ...opts, run: x })).rejects.toThrow(/has no record of the settings/);
    } finally {
      rmSync(x, { recursive: true, force: true });
    }
  });

  it('a corrupt or non-finite result is an error naming the file and tensor, never skipped', async () => {
    const x = mkdtempSync(join(tmpdir(), 'weightgen-iris-nan-'));
    try {
      cpSync(dir, x, { recursive: true });
      const gen = readSafetensors(join(x, 'generated.safetensors'));
      const acc = gen.tensors['g2.test_accuracy']!;
      writeSafetensors(join(x, 'generated.safetensors'), { 'g2.test_accuracy': acc });
      await expect(irisAll({ ...opts, run: x })).rejects.toThrow(/generated\.safetensors: no tensor 'g1\.weights'/);
      const zoo = readSafetensors(join(x, 'zoo.safetensors'));
      zoo.tensors['real.weights']!.data[3] = Number.NaN;
      writeSafetensors(join(x, 'zoo.safetensors'), zoo.tensors, zoo.metadata);
      await expect(irisAll({ ...opts, run: x })).rejects.toThrow(/zoo\.safetensors: tensor 'real\.weights' holds NaN/);
    } finally {
      rmSync(x, { recursive: true, force: true });
    }
  });
});
