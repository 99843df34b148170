// `weightgen iris tsne --run DIR`: Figure 3 of the weight-VAE paper, redone on a run folder's networks. The
// sets R1, S1, G1 (Linear(4, 3): the Real and Scrambled zoos and the VAE's samples) and R2, G2 (4-5-3: the
// Real-2 zoo and the enhanced VAE's samples), --networks of each spread evenly over the set (every 20th of 500,
// as the paper's code), all in the raw weight space (the generated networks un-scaled, as
// generated.safetensors holds them); distances = spectral norms of the differences of [W | b] (M2: summed
// over both layers after canonical hidden-unit ordering; src/analysis/spectral.ts), given to t-SNE as
// precomputed distances (src/analysis/tsne.ts). Writes into DIR:
//   tsne.json                  every point and its set, KL divergence, trustworthiness, mean distances
//                              between the sets, and the settings
//   tsne-m1.svg, tsne-m2.svg   the embeddings coloured by set (and .png)
//   tsne-paper.svg             with --paper-variant: the paper's code's choices, for comparison: G1 left in
//                              the [0, 1]-scaled space the VAE was trained in (the others raw), and the
//                              distance matrix's rows passed to t-SNE as feature vectors
// The run's settings come from its manifest (zoo.safetensors, generated.safetensors); these files' are recorded
// in it, and a second run with other settings refuses (--restart deletes them first). The flags are declared in
// args.ts (IRIS_TSNE); main.ts routes `iris tsne ...` here. Node only.
// Another dataset's run (options.task, src/models/task.ts; `weightgen tabular tsne`) has the same sets and
// distances with its networks' widths in place of 4-3 and 4-5-3.

import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { scatterSpec, type TopLevelSpec } from '../analysis/figures.js';
import { spectralDistances } from '../analysis/spectral.js';
import { trustworthiness, tsne } from '../analysis/tsne.js';
import { initGpu } from '../gpu/index.js';
import { assertFinite } from '../io/checkpoint.js';
import { prepareRunFolder, readJson, readSafetensors, writeJson } from '../io/files.js';
import { MANIFEST, RunManifest, type Settings } from '../io/manifest.js';
import { writeFigure } from '../io/render.js';
import { expectTensor, type SafeFile } from '../io/safetensors.js';
import { irisTask, netTitle, type Task, taskNet } from '../models/task.js';
import { MinMaxScaler } from '../models/weight-vae.js';
import { type Arch, type Net, vectorLength } from '../models/zoo.js';
import { pairwiseDistances } from '../ops/index.js';
import { tensor } from '../tensor/index.js';
import { commandHelp, IRIS_TSNE, parseCommand } from './args.js';

export interface IrisTsneOptions {
  run: string;
  networks: number; // per set
  perplexity: number;
  iterations: number;
  seed: number; // of the initial embedding
  paperVariant: boolean;
  restart: boolean;
  /** The run's data (src/models/task.ts); absent: Iris. */
  task?: Task;
  /** When every file is there with these settings, return tsne.json's figures instead of recomputing them. */
  skipIfDone?: boolean;
}

/** What this command writes into the run folder (iris.ts deletes them when a step they come from restarts). */
export const TSNE_FILES = ['tsne.json', ...['m1', 'm2', 'paper'].flatMap((f) => [`tsne-${f}.svg`, `tsne-${f}.png`])];

/** Neighbours for trustworthiness (scikit-learn's default). */
const TRUST_K = 5;

interface SetSpec {
  name: string;
  what: string;
  file: 'zoo' | 'generated';
  tensor: string;
}

const SETS: Record<Arch, SetSpec[]> = {
  M1: [
    { name: 'R1', what: 'Real zoo', file: 'zoo', tensor: 'real.weights' },
    { name: 'S1', what: 'Scrambled zoo', file: 'zoo', tensor: 'scrambled.weights' },
    { name: 'G1', what: 'generated (VAE)', file: 'generated', tensor: 'g1.weights' },
  ],
  M2: [
    { name: 'R2', what: 'Real-2 zoo', file: 'zoo', tensor: 'real2.weights' },
    { name: 'G2', what: 'generated (enhanced VAE)', file: 'generated', tensor: 'g2.weights' },
  ],
};

/** What each figure's distance is, for the task's shapes (Iris: the 3x5 matrices; 5x5 and 3x6). */
function distanceText(t: Task): Record<Arch | 'paper', string> {
  const [d, h, k] = [t.features, t.hidden, t.classes];
  return {
    M1: `spectral norm of the difference of the ${k}x${d + 1} [W | b] matrices, raw weights`,
    M2: `sum over both layers of the spectral norm of the difference of [W | b] (${h}x${d + 1}, ${k}x${h + 1}), hidden units in canonical order, raw weights`,
    paper:
      "the paper's code: M1 spectral-norm distances with G1 in the VAE's [0, 1]-scaled space (R1, S1 raw), the " +
      "distance matrix's rows then given to t-SNE as feature vectors (Euclidean distances between rows)",
  };
}

/** A finished run folder's networks: zoo.safetensors and generated.safetensors, with their recorded settings. */
interface IrisRun {
  files: Record<SetSpec['file'], SafeFile>;
  counts: Record<SetSpec['file'], number>; // networks per set in each file
  settings: Record<SetSpec['file'], Settings>;
}

function openIrisRun(dir: string, task: Task): IrisRun {
  if (!existsSync(dir))
    throw new Error(`${dir}: no such run folder; make one with \`${task.command('all')} --run ${dir}\``);
  const manifest = RunManifest.open(dir);
  const open = (file: string, step: string, count: string) => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${path} does not exist: run \`${task.command(step)} --run ${dir}\` first`);
    const e = manifest.entry(file);
    if (!e) {
      throw new Error(
        `${path} exists but ${MANIFEST} has no record of the settings it was made with (an older weightgen, or ` +
          `copied in); make it again with \`${task.command('all')} --run ${dir} --restart ${step}\``,
      );
    }
    if (file === 'zoo.safetensors') checkSource(path, e.settings, task); // (every other file's include the zoo's)
    const f = readSafetensors(path);
    assertFinite(f, path);
    return { f, settings: e.settings, count: e.settings[count] as number };
  };
  const zoo = open('zoo.safetensors', 'zoo', 'models');
  const gen = open('generated.safetensors', 'sample', 'samples');
  return {
    files: { zoo: zoo.f, generated: gen.f },
    counts: { zoo: zoo.count, generated: gen.count },
    settings: { zoo: zoo.settings, generated: gen.settings },
  };
}

/**
 * Throws unless the zoo file at `path` was made from the task's data: the data its settings record (absent:
 * Iris) is the task's source. Shared by `iris finetune`.
 */
export function checkSource(path: string, zoo: Settings, task: Task): void {
  const was = JSON.stringify(zoo.data ?? null);
  const now = JSON.stringify(task.source ?? null);
  if (was === now) return;
  const made = zoo.data ? `data ${was}` : 'Iris';
  const asked = task.source ? `data ${now}` : 'Iris';
  throw new Error(
    `${path} was made from ${made}, not from ${asked}: run this step on the data the folder was made from ` +
      '(the same --csv, --label and split options, or `weightgen iris` for Iris), or use another --run folder',
  );
}

/** `count` indices spread evenly over 0..available-1: every floor(available / count)-th from 0 (all if fewer). */
export function evenlySpaced(available: number, count: number): number[] {
  if (available <= count) return Array.from({ length: available }, (_, i) => i);
  const step = Math.floor(available / count);
  return Array.from({ length: count }, (_, i) => i * step);
}

/** One set's chosen networks (vectors (n, P)) and their indices in the file. */
function pick(run: IrisRun, net: Net, s: SetSpec, networks: number): { vectors: Float32Array; indices: number[] } {
  const P = vectorLength(net);
  const path = s.file === 'zoo' ? 'zoo.safetensors' : 'generated.safetensors';
  const all = expectTensor(run.files[s.file], s.tensor, [run.counts[s.file], P], path).data as Float32Array;
  const indices = evenlySpaced(run.counts[s.file], networks);
  const vectors = new Float32Array(indices.length * P);
  indices.forEach((g, k) => {
    vectors.set(all.subarray(g * P, (g + 1) * P), k * P);
  });
  return { vectors, indices };
}

export interface Embedding {
  arch: Arch;
  distance: string;
  points: { set: string; network: number; x: number; y: number }[];
  kl: number;
  trustworthiness: number;
  neighbours: number; // trustworthiness's k: 5, fewer for a figure of 10 networks or less
  lastIteration: number;
  learningRate: number;
  /** Mean distance between a network of one set and one of another ("R1-G1"), or of the same set. */
  setDistances: Record<string, number>;
}

/** Mean distances within and between the sets (the i != j pairs). */
function setDistances(d: Float32Array, labels: string[]): Record<string, number> {
  const n = labels.length;
  const names = [...new Set(labels)];
  const out: Record<string, number> = {};
  names.forEach((a, ia) => {
    for (const b of names.slice(ia)) {
      let [sum, count] = [0, 0];
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          if (i !== j && labels[i] === a && labels[j] === b) [sum, count] = [sum + d[i * n + j]!, count + 1];
      out[`${a}-${b}`] = count ? sum / count : Number.NaN;
    }
  });
  return out;
}

/** Throws, before any work, unless the perplexity is below the number of networks in each figure. */
function checkPerplexity(run: IrisRun, o: IrisTsneOptions): void {
  for (const arch of ['M1', 'M2'] as const) {
    const sets = SETS[arch].map((s) => ({ s, n: evenlySpaced(run.counts[s.file], o.networks).length }));
    const n = sets.reduce((t, c) => t + c.n, 0);
    if (!(o.perplexity < n)) {
      throw new Error(
        `iris tsne: perplexity ${o.perplexity} must be less than the ${n} networks of the ${arch} figure ` +
          `(${sets.map((c) => `${c.n} ${c.s.name}`).join(', ')}): lower --perplexity or raise --networks`,
      );
    }
  }
}

/** Euclidean distances between the rows of d (n, n): the distance matrix used as feature vectors. */
async function rowDistances(d: Float32Array, n: number): Promise<Float32Array> {
  const rows = tensor(d, [n, n]);
  const out = pairwiseDistances(rows, rows, 'l2');
  const v = (await out.data()) as Float32Array;
  rows.dispose();
  out.dispose();
  for (let i = 0; i < n; i++) {
    v[i * n + i] = 0;
    for (let j = 0; j < i; j++) v[i * n + j] = v[j * n + i]!; // exactly symmetric
  }
  return v;
}

/** Embeds the chosen networks of `arch`'s sets; `paper` applies the paper's code's two choices. */
async function embed(run: IrisRun, task: Task, arch: Arch, o: IrisTsneOptions, paper = false): Promise<Embedding> {
  const net = taskNet(task, arch);
  const chosen = SETS[arch].map((s) => ({ s, ...pick(run, net, s, o.networks) }));
  if (paper) {
    const shape = [run.counts.zoo, vectorLength(net)];
    const real = expectTensor(run.files.zoo, 'real.weights', shape, 'zoo.safetensors').data;
    const scaler = MinMaxScaler.fit(real); // the VAE's own scaling: one min and max over the whole Real zoo
    const g1 = chosen.find((c) => c.s.name === 'G1')!;
    g1.vectors = scaler.scale(g1.vectors);
  }
  const labels = chosen.flatMap((c) => c.indices.map(() => c.s.name));
  const n = labels.length;
  const P = vectorLength(net);
  const all = new Float32Array(n * P);
  let at = 0;
  for (const c of chosen) {
    all.set(c.vectors, at);
    at += c.vectors.length;
  }
  const d = await spectralDistances(all, net);
  const input = paper ? await rowDistances(d, n) : d;
  const r = await tsne(input, n, { perplexity: o.perplexity, iterations: o.iterations, seed: o.seed });
  const k = Math.min(TRUST_K, Math.ceil(n / 2) - 1);
  const points = chosen.flatMap((c) => c.indices.map((network) => ({ set: c.s.name, network })));
  return {
    arch,
    distance: distanceText(task)[paper ? 'paper' : arch],
    points: points.map((p, i) => ({ ...p, x: r.embedding[2 * i]!, y: r.embedding[2 * i + 1]! })),
    kl: r.kl,
    trustworthiness: trustworthiness(input, r.embedding, n, 2, k),
    neighbours: k,
    lastIteration: r.lastIteration,
    learningRate: r.learningRate,
    setDistances: setDistances(d, labels),
  };
}

/** The figure of an embedding: its points coloured by set. */
export function tsneSpec(e: Embedding, title: string): TopLevelSpec {
  const what = new Map(Object.values(SETS).flatMap((sets) => sets.map((s) => [s.name, `${s.name}: ${s.what}`])));
  const spec = scatterSpec({
    title: `${title} (KL ${e.kl.toFixed(3)}, trustworthiness ${e.trustworthiness.toFixed(3)})`,
    points: e.points.map((p) => ({ x: p.x, y: p.y, group: what.get(p.set) ?? p.set })),
    xTitle: 't-SNE 1',
    yTitle: 't-SNE 2',
    groupTitle: 'set',
    size: 30,
  });
  return { ...spec, config: { legend: { labelLimit: 240 } } }; // the sets' names in full
}

/** The figures' titles (Iris: Linear(4,3), 4-5-3). */
function titles(t: Task): Record<'m1' | 'm2' | 'paper', string> {
  return {
    m1: `${netTitle(t, 'M1')} networks, spectral-norm distances, raw weights`,
    m2: `${netTitle(t, 'M2')} networks, per-layer spectral norms summed, raw weights`,
    paper: "As the paper's code: G1 in [0, 1], distance rows as features",
  };
}

/** The settings of this command's files: the run's, and t-SNE's. */
function settingsOf(run: IrisRun, o: IrisTsneOptions, task: Task): Settings {
  const distance = distanceText(task);
  return {
    zoo: run.settings.zoo,
    generated: run.settings.generated,
    networks: o.networks,
    perplexity: o.perplexity,
    iterations: o.iterations,
    seed: o.seed,
    paperVariant: o.paperVariant,
    tsne: { method: 'exact', earlyExaggeration: 12, learningRate: 'auto', init: 'random, 1e-4 N(0, 1)' },
    distances: { M1: distance.M1, M2: distance.M2 },
  };
}

/** The whole command on options: every file written and recorded; returns the embeddings. */
export async function irisTsne(o: IrisTsneOptions): Promise<Record<string, Embedding>> {
  const task = o.task ?? irisTask();
  const run = openIrisRun(o.run, task);
  checkPerplexity(run, o);
  const manifest = RunManifest.open(o.run);
  if (o.restart) {
    for (const f of TSNE_FILES) {
      rmSync(join(o.run, f), { force: true });
      manifest.forget(f);
    }
  }
  const settings = settingsOf(run, o, task);
  const redo = o.task ? `\`${task.command('tsne')} --restart tsne\`` : '`weightgen iris tsne --restart`';
  for (const f of TSNE_FILES) manifest.check(f, settings, redo);
  if (o.skipIfDone && manifest.entry('tsne.json') && existsSync(join(o.run, 'tsne.json'))) {
    console.log('tsne.json exists (same settings): t-SNE skipped');
    return (readJson<{ figures: Record<string, Embedding> }>(join(o.run, 'tsne.json')) ?? { figures: {} }).figures;
  }
  const figures: Record<string, Embedding> = {
    m1: await embed(run, task, 'M1', o),
    m2: await embed(run, task, 'M2', o),
  };
  if (o.paperVariant) figures.paper = await embed(run, task, 'M1', o, true);
  const written = ['tsne.json'];
  writeJson(join(o.run, 'tsne.json'), { format: 'weightgen iris tsne v1', settings, figures });
  for (const [name, e] of Object.entries(figures)) {
    await writeFigure(join(o.run, `tsne-${name}`), tsneSpec(e, titles(task)[name as 'm1' | 'm2' | 'paper']));
    written.push(`tsne-${name}.svg`, `tsne-${name}.png`);
  }
  for (const f of written) manifest.record(f, settings);
  for (const [name, e] of Object.entries(figures)) {
    const between = Object.entries(e.setDistances).map(([k, v]) => `${k} ${v.toFixed(3)}`);
    console.log(
      `${name}: ${e.points.length} networks, KL ${e.kl.toFixed(4)}, trustworthiness ${e.trustworthiness.toFixed(4)}; ` +
        `mean distances ${between.join(', ')}`,
    );
  }
  console.log(`written: ${written.map((f) => join(o.run, f)).join(', ')}`);
  return figures;
}

/** The command line after `iris tsne`. */
export async function irisTsneCommand(argv: readonly string[]): Promise<Record<string, Embedding> | undefined> {
  const p = parseCommand('iris tsne', IRIS_TSNE, argv);
  if (p.help) {
    console.log(`weightgen iris tsne\n${commandHelp('iris tsne', IRIS_TSNE)}`);
    return undefined;
  }
  const v = p.values;
  const o: IrisTsneOptions = {
    run: v.run,
    networks: v.networks,
    perplexity: v.perplexity,
    iterations: v.iterations,
    seed: v.seed,
    paperVariant: v['paper-variant'],
    restart: v.restart,
  };
  if (existsSync(o.run)) prepareRunFolder(o.run); // a missing folder: openIrisRun says what to do
  const a = (await initGpu()).adapter;
  console.log(
    `adapter: ${a.vendor || '?'} ${a.description || a.architecture || ''} (${a.backend}${a.fallback ? ', CPU fallback' : ''})`,
  );
  console.log(`run folder: ${o.run}`);
  const t0 = Date.now();
  const figures = await irisTsne(o);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return figures;
}
