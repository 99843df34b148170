// `weightgen iris tsne` on a tiny run folder (Node only: files): the files it writes and records, the sets
// and networks in tsne.json, the paper variant's scaling of G1, the refusal of other settings and --restart,
// and its errors. The t-SNE and the distances themselves are checked against scikit-learn and numpy in
// test/tsne.test.ts and test/spectral.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS_TSNE, parseCommand } from '../src/cli/args.js';
import { type IrisOptions, irisAll } from '../src/cli/iris.js';
import { evenlySpaced, type IrisTsneOptions, irisTsne, irisTsneCommand, TSNE_FILES } from '../src/cli/iris-tsne.js';
import { readSafetensors } from '../src/io/files.js';
import { MinMaxScaler } from '../src/models/weight-vae.js';
import { setupGpu } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'weightgen-iris-tsne-'));
const run: IrisOptions = {
  run: dir,
  preset: 'default',
  models: 12,
  zooEpochs: 3,
  samples: 12,
  vaeEpochs: 2,
  evaeEpochs: 2,
  seed: 0,
};
const tsneOpts: IrisTsneOptions = {
  run: dir,
  networks: 10,
  perplexity: 8,
  iterations: 300,
  seed: 0,
  paperVariant: false,
  restart: false,
};

beforeAll(async () => {
  await setupGpu();
  await irisAll(run);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readJson = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

describe('iris tsne', () => {
  it('writes tsne.json and the figures (with the paper variant), recorded in the manifest', async () => {
    const args = ['--run', dir, '--networks', '10', '--perplexity', '8', '--iterations', '300', '--paper-variant'];
    const figures = (await irisTsneCommand(args))!;
    for (const f of TSNE_FILES) expect(existsSync(join(dir, f)), f).toBe(true);

    const out = readJson('tsne.json');
    expect(out.format).toBe('weightgen iris tsne v1');
    const sets = (name: string) => out.figures[name].points.map((p: { set: string }) => p.set);
    const ten = (s: string) => Array(10).fill(s);
    expect(sets('m1')).toEqual([...ten('R1'), ...ten('S1'), ...ten('G1')]);
    expect(sets('m2')).toEqual([...ten('R2'), ...ten('G2')]);
    expect(out.figures.m1.points.slice(0, 10).map((p: { network: number }) => p.network)).toEqual(evenlySpaced(12, 10));
    for (const name of ['m1', 'm2', 'paper']) {
      const e = out.figures[name];
      expect(e.kl, name).toBeGreaterThan(0);
      expect(e.trustworthiness, name).toBeGreaterThan(0.5);
      expect(e.trustworthiness, name).toBeLessThanOrEqual(1);
      expect(
        e.points.every((p: { x: number; y: number }) => Number.isFinite(p.x + p.y)),
        name,
      ).toBe(true);
      expect(e.points).toEqual(figures[name]!.points);
    }

    // the paper variant: G1 in the VAE's [0, 1] space, so its distances shrink by the Real zoo's range; R1 raw
    const real = readSafetensors(join(dir, 'zoo.safetensors')).tensors['real.weights']!.data as Float32Array;
    const s = MinMaxScaler.fit(real);
    const [m1, paper] = [out.figures.m1.setDistances, out.figures.paper.setDistances];
    expect(paper['G1-G1'] * (s.max - s.min)).toBeCloseTo(m1['G1-G1'], 4);
    expect(paper['R1-R1']).toBeCloseTo(m1['R1-R1'], 5);
    expect(out.figures.paper.distance).toMatch(/rows then given to t-SNE as feature vectors/);

    const svg = readFileSync(join(dir, 'tsne-m1.svg'), 'utf8');
    for (const label of ['R1: Real zoo', 'S1: Scrambled zoo', 'G1: generated (VAE)', 'trustworthiness'])
      expect(svg).toContain(label);
    expect(readFileSync(join(dir, 'tsne-m2.svg'), 'utf8')).toContain('G2: generated (enhanced VAE)');

    const manifest = readJson('manifest.json');
    for (const f of TSNE_FILES) {
      expect(manifest.files[f].settings, f).toMatchObject({ perplexity: 8, networks: 10, paperVariant: true });
      expect(manifest.files[f].settings.zoo.models).toBe(12);
    }
  });

  it('refuses other settings, naming both and touching nothing; --restart deletes and redoes', async () => {
    const before = readFileSync(join(dir, 'tsne.json'), 'utf8');
    await expect(irisTsne({ ...tsneOpts, perplexity: 9, paperVariant: true })).rejects.toThrow(
      /tsne\.json was made with other settings.*perplexity: 8 in the file, 9 now.*weightgen iris tsne --restart/,
    );
    expect(readFileSync(join(dir, 'tsne.json'), 'utf8')).toBe(before);
    await irisTsne({ ...tsneOpts, perplexity: 9, restart: true });
    expect(readJson('tsne.json').settings.perplexity).toBe(9);
    expect(existsSync(join(dir, 'tsne-paper.svg'))).toBe(false); // the old variant's figure went with --restart
    expect(readJson('manifest.json').files['tsne-paper.svg']).toBeUndefined();
  });

  it('errors say what to do: perplexity too high, a folder without a run, a bad flag', async () => {
    await expect(irisTsne({ ...tsneOpts, perplexity: 25, restart: true })).rejects.toThrow(
      /perplexity 25 must be less than the 20 networks of the M2 figure \(10 R2, 10 G2\): lower --perplexity/,
    );
    expect(existsSync(join(dir, 'tsne.json'))).toBe(true); // refused before --restart deleted anything
    const empty = mkdtempSync(join(tmpdir(), 'weightgen-iris-tsne-empty-'));
    try {
      await expect(irisTsne({ ...tsneOpts, run: empty })).rejects.toThrow(
        /zoo\.safetensors does not exist: run `weightgen iris zoo --run/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(() => parseCommand('iris tsne', IRIS_TSNE, ['--iterations', '100'])).toThrow(
      /--iterations 100: out of range; expected an integer in 250\.\.1000000/,
    );
    expect(parseCommand('iris tsne', IRIS_TSNE, []).values).toMatchObject({ networks: 25, perplexity: 17 });
  });

  it("picks every 20th network of 500, as the paper's code", () => {
    expect(evenlySpaced(500, 25)).toEqual(Array.from({ length: 25 }, (_, i) => 20 * i));
    expect(evenlySpaced(8, 25)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
