// The hypernetwork's run folder (Node only: files): resumed training equals training straight through, the
// sampled networks load as PyTorch-style state dicts, and missing or mismatched checkpoints give clear errors.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HypernetOptions, hypernetEval, hypernetSample, hypernetTrain } from '../src/cli/hypernet.js';
import { readSafetensors, writeSafetensors } from '../src/io/files.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

const root = mkdtempSync(join(tmpdir(), 'weightgen-hypernet-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base: HypernetOptions = {
  run: join(root, 'straight'),
  preset: 'ci',
  seed: 3,
  faithful: false,
  // a tiny run: two validation blocks of 10 steps, 4 networks x 4 images
  tune: { networks: 4, images: 4, steps: 20, evalEvery: 10, valNetworks: 4, valImages: 100 },
  samples: 3,
  evalNetworks: 4,
  evalImages: 50,
  ensemble: 2,
};

const model = (run: string) => {
  const f = readSafetensors(join(run, 'hypernet.ckpt.safetensors'));
  return Object.fromEntries(Object.entries(f.tensors).map(([k, t]) => [k, Array.from(t.data)]));
};

describe('hypernetwork run folder', () => {
  it('training resumed from its checkpoint equals training straight through', async () => {
    await hypernetTrain(base);
    const half = { ...base, run: join(root, 'resumed'), tune: { ...base.tune, steps: 10 } };
    await hypernetTrain(half);
    // the same folder, now asked for 20 steps: the manifest refuses (other settings) ...
    await expect(hypernetTrain({ ...half, tune: base.tune })).rejects.toThrow(/steps: 10 in the file, 20 now/);
    // ... so resuming means a folder whose checkpoint was written mid-way by a 20-step run: copy one over
    const mid = join(root, 'mid');
    cpSync(half.run, mid, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(mid, 'manifest.json'), 'utf8'));
    manifest.files['hypernet.ckpt.safetensors'].settings.steps = 20;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(mid, 'manifest.json'), JSON.stringify(manifest));
    await hypernetTrain({ ...base, run: mid });
    expect(model(mid)).toEqual(model(base.run));
    const log = readFileSync(join(base.run, 'train-log.jsonl'), 'utf8').trim().split('\n');
    expect(log.map((l) => JSON.parse(l).step)).toEqual([10, 20]);
    expect(existsSync(join(base.run, 'training.svg'))).toBe(true);
  });

  it('samples load as state dicts with PyTorch names; eval writes its figures', async () => {
    await hypernetSample(base);
    const f = readSafetensors(join(base.run, 'samples.safetensors'));
    expect(f.tensors['net0.conv1.weight']!.shape).toEqual([32, 1, 5, 5]);
    expect(f.tensors['net2.conv2.weight']!.shape).toEqual([16, 32, 5, 5]);
    expect(f.tensors['net1.fc1.weight']!.shape).toEqual([8, 784]);
    expect(f.tensors['net1.fc2.weight']!.shape).toEqual([10, 8]);
    expect(f.tensors['net3.conv1.weight']).toBeUndefined();
    const r = await hypernetEval(base);
    expect(r.accuracy.all).toHaveLength(4);
    expect(r.ensembles.count).toBe(2);
    for (const f of ['eval.json', 'accuracy.svg', 'accuracy.png']) expect(existsSync(join(base.run, f)), f).toBe(true);
  });

  it('sample and eval check only their own files: another sample count does not block eval', async () => {
    const run = join(root, 'five');
    cpSync(base.run, run, { recursive: true });
    await hypernetSample({ ...base, run, samples: 5, restart: 'sample' });
    expect(readSafetensors(join(run, 'samples.safetensors')).tensors['net4.fc2.weight']!.shape).toEqual([10, 8]);
    const r = await hypernetEval({ ...base, run }); // samples: 3 here, 5 in the folder
    expect(r.accuracy.all).toHaveLength(4);
    // but the step's own file still refuses other settings
    await expect(hypernetSample({ ...base, run })).rejects.toThrow(/samples: 5 in the file, 3 now/);
  });

  it('sample or eval without a finished checkpoint, or with a wrong one, is a clear error', async () => {
    const empty = { ...base, run: join(root, 'empty') };
    await expect(hypernetSample(empty)).rejects.toThrow(
      /hypernet\.ckpt\.safetensors does not exist: run `weightgen hypernet train` first/,
    );
    const bad = join(root, 'bad');
    cpSync(base.run, bad, { recursive: true });
    const ckpt = join(bad, 'hypernet.ckpt.safetensors');
    const f = readSafetensors(ckpt);
    f.tensors['model.gen2.6.weight'] = { dtype: 'F32', shape: [3, 3], data: new Float32Array(9) };
    writeSafetensors(ckpt, f.tensors, f.metadata);
    await expect(hypernetEval({ ...base, run: bad })).rejects.toThrow(/hypernet\.ckpt\.safetensors.*gen2\.6\.weight/);
  });
});
