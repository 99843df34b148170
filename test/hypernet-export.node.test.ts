// `weightgen hypernet export` (Node only: files): a tiny ci-preset run exported, the file read back as the demo
// reads it (src/io/hypernet-file.ts): the same parameters and batch-norm statistics as the checkpoint, nothing
// else, the settings in the metadata, and the networks it generates equal to those `hypernet sample` wrote
// from the checkpoint. Missing, unfinished, other-settings and wrong-shaped checkpoints are clear errors.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HypernetOptions, hypernetExport, hypernetSample, hypernetTrain } from '../src/cli/hypernet.js';
import { readSafetensors, writeSafetensors } from '../src/io/files.js';
import { decodeHypernetFile } from '../src/io/hypernet-file.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { torchStateDict } from '../src/models/hypernet-export.js';
import { MNIST_TARGET } from '../src/models/target-net.js';
import { noGrad, Rng, scope } from '../src/tensor/index.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

const root = mkdtempSync(join(tmpdir(), 'weightgen-hypernet-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base: HypernetOptions = {
  run: join(root, 'run'),
  preset: 'ci',
  seed: 5,
  faithful: false,
  tune: { networks: 4, images: 4, steps: 2, evalEvery: 2, valNetworks: 4, valImages: 50 }, // seconds
  samples: 3,
  evalNetworks: 4,
  evalImages: 50,
  ensemble: 2,
};
const out = join(root, 'hypernet.safetensors');

describe('hypernet export', () => {
  it('writes the parameters and batch-norm statistics, which generate the networks sample wrote', async () => {
    await hypernetTrain(base);
    await hypernetExport({ ...base, out });
    const bytes = new Uint8Array(readFileSync(out));
    const file = decodeSafetensors(bytes, out);
    const ckpt = readSafetensors(join(base.run, 'hypernet.ckpt.safetensors'));
    // the checkpoint's model tensors, less the batch counters; no optimizer state
    const model = Object.keys(ckpt.tensors)
      .filter((k) => k.startsWith('model.') && !k.endsWith('num_batches_tracked'))
      .map((k) => k.slice('model.'.length));
    expect(Object.keys(file.tensors).sort()).toEqual(model.sort());
    expect(model.some((k) => k.endsWith('running_var'))).toBe(true);
    for (const k of model) expect(file.tensors[k]!.data, k).toEqual(ckpt.tensors[`model.${k}`]!.data);
    // the settings the manifest recorded for the checkpoint
    const manifest = JSON.parse(readFileSync(join(base.run, 'manifest.json'), 'utf8'));
    expect(JSON.parse(file.metadata.settings!)).toEqual(manifest.files['hypernet.ckpt.safetensors'].settings);
    expect(file.metadata.format).toBe('weightgen hypernet v1');

    // loaded as the demo loads it, it makes the networks `hypernet sample` made from the checkpoint (same z)
    await hypernetSample(base);
    const samples = readSafetensors(join(base.run, 'samples.safetensors'));
    const { net, settings } = decodeHypernetFile(bytes, out);
    expect(settings.steps).toBe(2);
    const z = new Rng(base.seed * 16 + 2).uniform([base.samples, 300], -1, 1); // sample's noise (cli/hypernet.ts)
    const layers = noGrad(() =>
      scope(() => net.networks(z).map((l) => ({ kernel: l.kernel.keep(), bias: l.bias.keep() }))),
    );
    const data = await Promise.all(
      layers.map(async (l) => ({ kernel: await l.kernel.data(), bias: await l.bias.data() })),
    );
    for (const l of layers) {
      l.kernel.dispose();
      l.bias.dispose();
    }
    z.dispose();
    net.dispose();
    for (let g = 0; g < base.samples; g++) {
      for (const [name, t] of Object.entries(torchStateDict(MNIST_TARGET, data, g))) {
        expect(t.data, `net${g}.${name}`).toEqual(samples.tensors[`net${g}.${name}`]!.data);
      }
    }
  });

  it('a missing, unfinished, differently made or wrong-shaped checkpoint, or no --out, is a clear error', async () => {
    await expect(hypernetExport({ ...base, out: undefined })).rejects.toThrow(/--out FILE is needed/);
    await expect(hypernetExport({ ...base, run: join(root, 'empty'), out })).rejects.toThrow(
      /hypernet\.ckpt\.safetensors does not exist: run `weightgen hypernet train` first/,
    );
    // other settings than the checkpoint's: named, with what to do
    await expect(hypernetExport({ ...base, seed: 6, out })).rejects.toThrow(
      /trained with other settings: seed: 5 in the file, 6 now; give export the options it was trained with/,
    );
    // a checkpoint of a run not finished: the manifest records 4 steps, the checkpoint holds 2
    const unfinished = join(root, 'unfinished');
    cpSync(base.run, unfinished, { recursive: true });
    const mpath = join(unfinished, 'manifest.json');
    const m = JSON.parse(readFileSync(mpath, 'utf8'));
    m.files['hypernet.ckpt.safetensors'].settings.steps = 4;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(mpath, JSON.stringify(m));
    const tune4 = { ...base.tune, steps: 4 };
    await expect(hypernetExport({ ...base, run: unfinished, tune: tune4, out })).rejects.toThrow(
      /holds step 2 of 4: finish `weightgen hypernet train` first/,
    );
    // a tensor of the wrong shape
    const bad = join(root, 'bad');
    cpSync(base.run, bad, { recursive: true });
    const ckpt = join(bad, 'hypernet.ckpt.safetensors');
    const f = readSafetensors(ckpt);
    f.tensors['model.gen3.0.weight'] = { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) };
    writeSafetensors(ckpt, f.tensors, f.metadata);
    await expect(hypernetExport({ ...base, run: bad, out: join(root, 'x.safetensors') })).rejects.toThrow(
      /hypernet\.ckpt\.safetensors.*gen3\.0\.weight/,
    );
  });

  it('the loader refuses a file that is not an exported hypernetwork, naming it', () => {
    const ckpt = join(base.run, 'hypernet.ckpt.safetensors');
    expect(() => decodeHypernetFile(new Uint8Array(readFileSync(ckpt)), ckpt)).toThrow(
      /hypernet\.ckpt\.safetensors: has no format in its metadata, not a 'weightgen hypernet v1'.*weightgen hypernet export/,
    );
    const bytes = new Uint8Array(readFileSync(out));
    expect(() => decodeHypernetFile(bytes.subarray(0, 1000), 'cut.safetensors')).toThrow(
      /cut\.safetensors: not a valid safetensors file/,
    );
  });
});
