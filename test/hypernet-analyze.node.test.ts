// `weightgen hypernet analyze NAME` end to end (Node only: files, child processes, a browser): two tiny runs
// (lambda 1e3 and 1e5, trained here in-process with tiny settings; the analyses read those from the manifest),
// every analysis run through the built CLI at a small scale, and its JSON checked against an independent
// float64 CPU forward pass of the networks that `hypernet sample` exported (PyTorch layout: network i of every
// analysis is net<i> there):
// - accuracy: each network's accuracy; ensembles: every size and rule against ensembleAccuracy on the CPU's
//   probabilities, size 1 = the single networks' mean; paths: the ends are G(z2), G(z1), the middle of the
//   direct path is the CPU average of the two networks; diversity: L1 distances against the exported weights,
//   disagreement against the CPU predictions; filters: the exported conv1 filter; pca: the explained variance
//   of the exported weights by ml-pca; fgsm: the images attacked are those the CPU's network 0 gets right;
// - every figure is a valid SVG (it renders) or PNG (it decodes), the manifest records the settings, the
//   summary names the scale; the report opens in headless Chromium with every figure drawn (a screenshot in
//   screenshots/), and marks analyses of a changed training as stale;
// - errors: no checkpoint, an unknown analysis, a filter that is not there.
// The GPU pieces on their own: hypernet-analyses.test.ts.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { PCA } from 'ml-pca';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HypernetOptions, hypernetEval, hypernetSample, hypernetTrain } from '../src/cli/hypernet.js';
import { readSafetensors } from '../src/io/files.js';
import { loadMnist } from '../src/io/mnist-files.js';
import { svgToPng } from '../src/io/render.js';
import { ensembleAccuracy } from '../src/models/hypernet-train.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.mjs';
import { expectClose, setupGpu } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const cli = join(repo, 'dist/cli.js');
const root = mkdtempSync(join(tmpdir(), 'weightgen-analyze-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const IMAGES = 60;
const NETS = 8; // sampled: every analysis below uses networks 0 .. 7 at most
const runA: HypernetOptions = {
  run: join(root, 'lambda1e3'),
  preset: 'ci',
  seed: 3,
  faithful: false,
  lambda: 1e3,
  // two validation blocks of 10 steps, 4 networks x 4 images: seconds
  tune: { networks: 4, images: 4, steps: 20, evalEvery: 10, valNetworks: 4, valImages: 100 },
  samples: NETS,
  evalNetworks: 4,
  evalImages: 50,
  ensemble: 2,
};
const runB: HypernetOptions = { ...runA, run: join(root, 'lambda1e5'), lambda: 1e5, seed: 4 };

function analyze(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'hypernet', 'analyze', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function ok(...args: string[]): string {
  const r = analyze(...args);
  expect(r.status, `${args.join(' ')}\n${r.out}\n${r.err}`).toBe(0);
  return r.out;
}

const json = (run: string, name: string) => JSON.parse(readFileSync(join(run, 'analyses', `${name}.json`), 'utf8'));

// ---- a float64 forward pass of the exported networks (PyTorch layout: NCHW, OIHW, Linear (out, in)) ------

type StateDict = Record<string, Float32Array>;

function netOf(file: string, g: number): StateDict {
  const f = readSafetensors(file);
  const out: StateDict = {};
  for (const [k, t] of Object.entries(f.tensors))
    if (k.startsWith(`net${g}.`)) out[k.slice(`net${g}.`.length)] = t.data as Float32Array;
  return out;
}

function conv(x: Float64Array, C: number, H: number, w: Float32Array, b: Float32Array, F: number, k: number) {
  const out = new Float64Array(F * H * H);
  const p = k >> 1;
  for (let f = 0; f < F; f++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < H; j++) {
        let s = b[f]!;
        for (let c = 0; c < C; c++)
          for (let u = 0; u < k; u++) {
            const ii = i + u - p;
            if (ii < 0 || ii >= H) continue;
            for (let v = 0; v < k; v++) {
              const jj = j + v - p;
              if (jj >= 0 && jj < H) s += w[((f * C + c) * k + u) * k + v]! * x[(c * H + ii) * H + jj]!;
            }
          }
        out[(f * H + i) * H + j] = Math.max(0, s); // ReLU
      }
  return out;
}

function pool2(x: Float64Array, C: number, H: number) {
  const h = H / 2;
  const out = new Float64Array(C * h * h);
  for (let c = 0; c < C; c++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < h; j++) {
        const at = (a: number, b: number) => x[(c * H + 2 * i + a) * H + 2 * j + b]!;
        out[(c * h + i) * h + j] = Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1));
      }
  return out;
}

function dense(x: Float64Array, w: Float32Array, b: Float32Array, out: number, relu: boolean) {
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = b[o]!;
    for (let i = 0; i < x.length; i++) s += w[o * x.length + i]! * x[i]!;
    y[o] = relu ? Math.max(0, s) : s;
  }
  return y;
}

/** Softmax probabilities (N, 10) of one network on the first N test images. */
function cpuProbs(sd: StateDict, x: Float32Array, N: number): Float64Array {
  const out = new Float64Array(N * 10);
  for (let n = 0; n < N; n++) {
    let h = Float64Array.from(x.subarray(n * 784, (n + 1) * 784));
    h = pool2(conv(h, 1, 28, sd['conv1.weight']!, sd['conv1.bias']!, 32, 5), 32, 28);
    h = pool2(conv(h, 32, 14, sd['conv2.weight']!, sd['conv2.bias']!, 16, 5), 16, 14);
    h = dense(h, sd['fc1.weight']!, sd['fc1.bias']!, 8, true);
    const z = dense(h, sd['fc2.weight']!, sd['fc2.bias']!, 10, false);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    for (let k = 0; k < 10; k++) out[n * 10 + k] = e[k]! / s;
  }
  return out;
}

function argmaxRows(p: ArrayLike<number>, N: number): Int32Array {
  return Int32Array.from({ length: N }, (_, n) => {
    let best = 0;
    for (let k = 1; k < 10; k++) if (p[n * 10 + k]! > p[n * 10 + best]!) best = k;
    return best;
  });
}

const accuracyOf = (pred: Int32Array, y: Int32Array) =>
  pred.reduce((s, k, i) => s + (k === y[i] ? 1 : 0), 0) / pred.length;

function checkPng(path: string): { width: number; height: number } {
  const b = readFileSync(path);
  expect([...b.subarray(0, 8)], path).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  const channels = { 0: 1, 2: 3, 6: 4 }[b[25]!]!;
  const idat: Buffer[] = [];
  for (let at = 8; at < b.length; ) {
    const n = b.readUInt32BE(at);
    if (b.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(b.subarray(at + 8, at + 8 + n));
    at += 12 + n;
  }
  expect(inflateSync(Buffer.concat(idat)).length, path).toBe(height * (1 + width * channels));
  return { width, height };
}

// ---------------------------------------------------------------------------------------------------------

const test = loadMnist().test;
const labels = test.y.subarray(0, IMAGES);
const cpu: Record<string, { probs: Float64Array[]; pred: Int32Array[] }> = {};

beforeAll(async () => {
  await setupGpu();
  const b = spawnSync(process.execPath, [join(repo, 'esbuild.config.mjs')], { cwd: repo, encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  for (const o of [runA, runB]) {
    await hypernetTrain(o);
    await hypernetSample(o);
    const file = join(o.run, 'samples.safetensors');
    const probs = Array.from({ length: NETS }, (_, g) => cpuProbs(netOf(file, g), test.x, IMAGES));
    cpu[o.run] = { probs, pred: probs.map((p) => argmaxRows(p, IMAGES)) };
  }
  await hypernetEval(runA);
}, 600_000);

// GPU f32 against CPU f64: a near tie may flip one image of a network
const ONE = 1 / IMAGES + 1e-9;

// each test starts the CLI (Dawn, MNIST, vega) once or more: generous on a loaded 2-core machine
describe('hypernet analyze on two tiny runs', { timeout: 600_000 }, () => {
  it('accuracy: both runs, each network as the CPU computes it; the manifest and the summary', () => {
    const out = ok('accuracy', '--run', runA.run, '--compare', runB.run, '--networks', '8', '--images', String(IMAGES));
    expect(out).toMatch(
      /accuracy, scale default \(with overrides\): networks 8, images 60; the paper's scale: networks 200, images 10000/,
    );
    const j = json(runA.run, 'accuracy');
    expect(j.runs.map((r: { name: string }) => r.name)).toEqual(['lambda 1e3', 'lambda 1e5']);
    for (const [i, o] of [runA, runB].entries()) {
      const want = cpu[o.run]!.pred.map((p) => accuracyOf(p, labels));
      expectClose(j.runs[i].accuracy, want, 0, ONE, `accuracy of ${o.run}`);
    }
    const m = JSON.parse(readFileSync(join(runA.run, 'manifest.json'), 'utf8'));
    const rec = m.files['analyses/accuracy.json'].settings;
    expect(rec).toMatchObject({ scale: 'default', networks: 8, images: IMAGES, compare: { run: runB.run } });
    expect(rec.train.lambda).toBe(1e3);
    expect(rec.compare.train.lambda).toBe(1e5);
  });

  it('ensembles: every size and rule against ensembleAccuracy of the CPU probabilities; size 1 is the networks', () => {
    ok('ensembles', '--run', runA.run, '--ensembles', '2', '--ensemble-size', '4', '--images', String(IMAGES));
    const j = json(runA.run, 'ensembles');
    expect([j.count, j.maxSize, j.images]).toEqual([2, 4, IMAGES]);
    const { probs } = cpu[runA.run]!;
    const flat = new Float32Array(NETS * IMAGES * 10);
    probs.forEach((p, g) => {
      flat.set(p, g * IMAGES * 10);
    });
    for (const rule of ['vote', 'mean', 'confident'] as const) {
      for (let k = 1; k <= 4; k++) {
        const want = [0, 1].map((e) =>
          ensembleAccuracy(
            flat,
            labels,
            NETS,
            [...Array(k).keys()].map((i) => e * 4 + i),
            rule,
          ),
        );
        expectClose(j.accuracy[rule][k - 1], want, 0, 2 * ONE, `${rule} size ${k}`);
      }
    }
    // size 1: the mean accuracy of networks 0 and 4, exactly as the accuracy analysis measured them
    const single = json(runA.run, 'accuracy').runs[0].accuracy;
    for (const rule of ['vote', 'mean', 'confident']) expect(j.accuracy[rule][0]).toEqual([single[0], single[4]]);
  });

  it('paths: the ends are networks 2p + 1 and 2p; the middle of the direct path is their CPU average', () => {
    ok('paths', '--run', runA.run, '--pairs', '2', '--points', '5', '--images', String(IMAGES));
    const j = json(runA.run, 'paths');
    expect(j.t).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const file = join(runA.run, 'samples.safetensors');
    const { pred } = cpu[runA.run]!;
    for (let p = 0; p < 2; p++) {
      for (const kind of ['interpolated', 'direct']) {
        const acc = j.accuracy[kind][p];
        expect(acc).toHaveLength(5);
        expect(Math.abs(acc[0] - accuracyOf(pred[2 * p + 1]!, labels))).toBeLessThanOrEqual(ONE); // t = 0: G(z2)
        expect(Math.abs(acc[4] - accuracyOf(pred[2 * p]!, labels))).toBeLessThanOrEqual(ONE); // t = 1: G(z1)
      }
      const [a, b] = [netOf(file, 2 * p), netOf(file, 2 * p + 1)];
      const mid = Object.fromEntries(Object.keys(a).map((k) => [k, a[k]!.map((v, i) => 0.5 * v + 0.5 * b[k]![i]!)]));
      const want = accuracyOf(argmaxRows(cpuProbs(mid, test.x, IMAGES), IMAGES), labels);
      expect(Math.abs(j.accuracy.direct[p][2] - want), `pair ${p} middle`).toBeLessThanOrEqual(ONE);
    }
  });

  it('filters: the exported conv1 filter of each network; a filter that is not there is an error', () => {
    const out = ok('filters', '--run', runA.run, '--samples', '8', '--filter', '3');
    expect(out).toMatch(/filters, scale default \(with overrides\): samples 8, filter 3/);
    const j = json(runA.run, 'filters');
    expect([j.samples, j.size, j.filter]).toEqual([8, 5, 3]);
    const file = join(runA.run, 'samples.safetensors');
    for (let g = 0; g < NETS; g++) {
      const sd = netOf(file, g);
      expectClose(j.kernels[g], sd['conv1.weight']!.subarray(3 * 25, 4 * 25), 1e-6, 1e-7, `network ${g}`);
      expect(j.biases[g]).toBeCloseTo(sd['conv1.bias']![3]!, 6);
    }
    const png = checkPng(join(runA.run, 'analyses', 'filters.png'));
    expect(png).toEqual({ width: (3 * 6 + 1) * 8, height: (3 * 6 + 1) * 8 }); // 3 x 3 tiles of 5 + 1 pad, x 8
    const bad = analyze('filters', '--run', runA.run, '--filter', '32');
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/filter 32 of layer 1, which has 32/);
  });

  it('diversity: L1 distances of the exported weights, disagreement of the CPU predictions', () => {
    ok('diversity', '--run', runA.run, '--compare', runB.run, '--networks', '6', '--images', String(IMAGES));
    const j = json(runA.run, 'diversity');
    for (const [r, o] of [runA, runB].entries()) {
      const file = join(o.run, 'samples.safetensors');
      const nets = Array.from({ length: 6 }, (_, g) => netOf(file, g));
      const { pred } = cpu[o.run]!;
      const d: number[] = [];
      const dis: number[] = [];
      for (let a = 0; a < 6; a++) {
        for (let b = a + 1; b < 6; b++) {
          let s = 0;
          for (const k of Object.keys(nets[a]!))
            for (const [i, v] of nets[a]![k]!.entries()) s += Math.abs(v - nets[b]![k]![i]!);
          d.push(s);
          dis.push(pred[a]!.reduce((n, k, i) => n + (k !== pred[b]![i] ? 1 : 0), 0) / IMAGES);
        }
      }
      expectClose(j.runs[r].distances, d, 1e-4, 1e-3, `L1 distances of ${o.run}`);
      expectClose(j.runs[r].disagreement, dis, 0, 2 * ONE, `disagreement of ${o.run}`);
    }
  });

  it('pca: the explained variance of the exported weights (ml-pca in float64), projections of that variance', () => {
    ok('pca', '--run', runA.run, '--pca-networks', '8', '--filter', '5');
    const j = json(runA.run, 'pca');
    expect(j.subjects.map((s: { name: string; dims: number }) => [s.name, s.dims])).toEqual([
      ['first-layer filter 5', 26],
      ['first layer', 832],
      ['whole network', 20018],
    ]);
    const file = join(runA.run, 'samples.safetensors');
    const nets = Array.from({ length: NETS }, (_, g) => netOf(file, g));
    // the same weights in PyTorch's order: PCA's variances do not depend on the order of the features
    const rows = [
      nets.map((sd) => [...sd['conv1.weight']!.subarray(5 * 25, 6 * 25), sd['conv1.bias']![5]!]),
      nets.map((sd) => [...sd['conv1.weight']!, ...sd['conv1.bias']!]),
      nets.map((sd) => Object.values(sd).flatMap((t) => [...t])),
    ];
    rows.forEach((x, i) => {
      const s = j.subjects[i];
      const ref = new PCA(x, { method: 'SVD', center: true });
      expectClose(s.explained, ref.getExplainedVariance().slice(0, 4), 1e-3, 1e-4, `${s.name} explained`);
      // each component's projections carry its variance: sum p^2 / (n - 1)
      const v = [0, 1, 2, 3].map(
        (c) => s.projections.reduce((a: number, p: number[]) => a + p[c]! ** 2, 0) / (NETS - 1),
      );
      expectClose(v, ref.getEigenvalues().slice(0, 4), 1e-3, 1e-6 * ref.getEigenvalues()[0]!, `${s.name} projections`);
    });
  });

  it('fgsm: the images network 0 gets right are attacked, none is fooled at eps 0, fooled fractions grow', () => {
    ok('fgsm', '--run', runA.run, '--attack-images', String(IMAGES), '--members', '3');
    const j = json(runA.run, 'fgsm');
    const right = [...cpu[runA.run]!.pred[0]!.keys()].filter((i) => cpu[runA.run]!.pred[0]![i] === labels[i]);
    const attacked = new Set<number>(j.attacked);
    expect(
      right.filter((i) => !attacked.has(i)).length + j.attacked.filter((i: number) => !right.includes(i)).length,
    ).toBeLessThanOrEqual(1);
    j.attacked.forEach((i: number, a: number) => {
      expect(j.targets[a]).not.toBe(labels[i]);
    });
    expect(j.grid[0]).toBe(0);
    expect(j.grid.at(-1)).toBeCloseTo(0.24, 9);
    for (const line of [j.single, j.ensemble]) {
      expect(line.eps).toHaveLength(j.attacked.length);
      for (const e of line.eps) expect(e === null || j.grid.includes(e)).toBe(true);
      expect(line.fooled.every((f: number, i: number) => i === 0 || f >= line.fooled[i - 1])).toBe(true);
    }
    expect(j.single.fooled[0]).toBe(0);
  });

  it('every figure renders (SVG) or decodes (PNG)', () => {
    for (const name of ['accuracy', 'ensembles', 'paths', 'diversity', 'pca', 'fgsm']) {
      const svg = readFileSync(join(runA.run, 'analyses', `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg'), name).toBe(true);
      expect(svgToPng(svg).length, name).toBeGreaterThan(1000);
      checkPng(join(runA.run, 'analyses', `${name}.png`));
    }
  });

  it('report: one page with every figure, open in Chromium; a changed training marks the analyses stale', async () => {
    const out = ok('report', '--run', runA.run);
    expect(out).toMatch(
      /report: made training, eval, accuracy, ensembles, paths, filters, diversity, pca, fgsm; missing none; stale none/,
    );
    const page = join(runA.run, 'analyses', 'report.html');
    const html = readFileSync(page, 'utf8');
    expect(html).not.toMatch(/<script/);
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    try {
      const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await tab.goto(`file://${page}`);
      const sections = await tab.$$eval('section', (ss) =>
        ss.map((s) => ({
          id: s.getAttribute('data-section'),
          status: s.getAttribute('data-status'),
          images: Array.from(s.querySelectorAll('img')).map((i) => ({
            ok: i.complete && i.naturalWidth > 0,
            w: i.naturalWidth,
          })),
          tables: s.querySelectorAll('table').length,
        })),
      );
      const made = ['training', 'eval', 'accuracy', 'ensembles', 'paths', 'filters', 'diversity', 'pca', 'fgsm'];
      for (const id of made) {
        const s = sections.find((x) => x.id === id);
        expect(s?.status, id).toBe('made');
        expect(s?.images.length, id).toBe(1);
        expect(
          s?.images.every((i) => i.ok && i.w > 50),
          `${id} figure drawn`,
        ).toBe(true);
        expect(s?.tables, id).toBeGreaterThan(0);
      }
      mkdirSync(join(repo, 'screenshots'), { recursive: true });
      await tab.screenshot({ path: join(repo, 'screenshots', 'hypernet-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    // a run whose training settings changed since: every analysis is stale, the report says why
    const moved = join(root, 'changed');
    cpSync(runA.run, moved, { recursive: true });
    const m = JSON.parse(readFileSync(join(moved, 'manifest.json'), 'utf8'));
    m.files['hypernet.ckpt.safetensors'].settings.lr = 0.123;
    writeFileSync(join(moved, 'manifest.json'), JSON.stringify(m));
    ok('report', '--run', moved);
    const r = json(moved, 'report');
    const status = Object.fromEntries(r.sections.map((s: { id: string; status: string }) => [s.id, s.status]));
    expect(status).toMatchObject({ accuracy: 'stale', ensembles: 'stale', paths: 'stale', filters: 'stale' });
    expect(readFileSync(join(moved, 'analyses', 'report.html'), 'utf8')).toMatch(
      /training changed: lr: 0.0004 in the file, 0.123 now/,
    );
  });

  it('errors: no checkpoint, an unknown analysis, a missing report section names its command', () => {
    const none = analyze('accuracy', '--run', join(root, 'nothing'));
    expect(none.status).toBe(1);
    expect(none.err).toMatch(/hypernet\.ckpt\.safetensors does not exist: train the run first/);
    expect(existsSync(join(root, 'nothing'))).toBe(false);
    const typo = analyze('ensemble', '--run', runA.run);
    expect(typo.status).toBe(2);
    expect(typo.err).toMatch(/unknown step 'ensemble'; did you mean ensembles\?/);
    const flag = analyze('paths', '--run', runA.run, '--networks', '3');
    expect(flag.status).toBe(2);
    expect(flag.err).toMatch(/--networks is a flag of hypernet analyze accuracy, hypernet analyze diversity only/);
    ok('report', '--run', runB.run);
    const r = json(runB.run, 'report');
    const paths = r.sections.find((s: { id: string }) => s.id === 'paths');
    expect(paths).toMatchObject({ status: 'missing', command: `weightgen hypernet analyze paths --run ${runB.run}` });
  });
});
