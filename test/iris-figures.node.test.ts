// `iris all`'s figures step (what `npm start` adds after Table 1): t-SNE and fine-tuning on the finished
// run at the commands' defaults, scaled to a run with fewer networks, skipped when already there. Node only:
// files. Tiny settings; the figures' numbers are checked in iris-tsne and iris-finetune tests.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IrisOptions, irisAll } from '../src/cli/iris.js';
import { figureFiles, irisFigures } from '../src/cli/iris-figures.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

const dir = mkdtempSync(join(tmpdir(), 'weightgen-iris-figures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts: IrisOptions = {
  run: dir,
  preset: 'default',
  models: 7,
  zooEpochs: 3,
  samples: 9,
  vaeEpochs: 1,
  evaeEpochs: 1,
  seed: 0,
};

describe('iris all: the figures after Table 1', () => {
  it('draws t-SNE and fine-tuning on a run smaller than their defaults, then skips them', async () => {
    expect(figureFiles(dir)).toEqual([]);
    await irisAll(opts);
    const figures = await irisFigures(opts);
    const names = figures.map((f) => f.slice(dir.length + 1));
    for (const f of ['tsne-m1.svg', 'tsne-m2.svg', 'finetune.svg', 'memorisation.svg']) expect(names).toContain(f);
    for (const f of figures.filter((p) => p.endsWith('.svg'))) expect(readFileSync(f, 'utf8')).toMatch(/^<svg/);
    // scaled to the run: 7 networks a set (not the default 25), perplexity below them; 7 networks fine-tuned
    const tsne = JSON.parse(readFileSync(join(dir, 'tsne.json'), 'utf8'));
    expect(tsne.figures.m1.points.length).toBe(3 * 7);
    expect(tsne.figures.m2.points.length).toBe(2 * 7);
    const tuned = JSON.parse(readFileSync(join(dir, 'finetune.json'), 'utf8'));
    expect(tuned.settings.samples).toBe(7);

    const before = figures.map((f) => statSync(f).mtimeMs);
    const again = await irisFigures(opts);
    expect(again).toEqual(figures);
    expect(again.map((f) => statSync(f).mtimeMs)).toEqual(before);
  });
});
