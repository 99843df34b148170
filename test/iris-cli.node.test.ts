// The Iris pipeline's run folder (Node only: files). Tiny settings; the numbers are checked elsewhere.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IrisOptions, irisAll, irisTable1, irisZoo } from '../src/cli/iris.js';
import { readSafetensors } from '../src/io/files.js';
import { setupGpu } from './helpers.js';

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
      writeFileSync(join(bad, 'zoo.safetensors'), 'not a safetensors file at all');
      await expect(irisZoo({ ...opts, run: bad })).rejects.toThrow(/zoo\.safetensors: not a valid safetensors file/);
      expect(() => irisTable1({ ...opts, run: bad })).toThrow(/zoo\.safetensors/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
