// `weightgen iris zoo|vae|sample|table1|all`: the weight-VAE paper's pipeline on Iris, in one run folder.
// The same pipeline runs on any other dataset given as options.task (src/models/task.ts: its rows and the
// networks' widths); `weightgen tabular` (tabular.ts) hands it a CSV's. Then the manifest records where the
// data came from with every file, and Table 1 has no published column (the paper's is Iris's).
//
//   zoo.safetensors        the three zoos: <set>.weights (500, P), <set>.test_accuracy (500); rewritten
//                          after each set, so an interrupted run keeps the sets it finished
//   vae-m1.ckpt.safetensors, vae-m2.ckpt.safetensors   training checkpoints (resume where they stopped)
//   generated.safetensors  500 networks sampled from each VAE, with their test accuracies
//   table1.json, table1.md Table 1 beside the published values
//   tsne.json, tsne-m1.svg, tsne-m2.svg (tsne-paper.svg)   Figure 3, redone: `weightgen iris tsne` (iris-tsne.ts)
//   finetune.*, memorisation.*   `weightgen iris finetune` (iris-finetune.ts): made from the zoo and both VAEs
//   manifest.json          the settings each file was made with (src/io/manifest.ts)
//
// Every step skips or resumes what the folder already holds, after checking that it was made with the
// settings asked for now; it refuses, naming both, when they differ. --restart STEP deletes a step's files
// and those made from them.

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assertFinite, fileCheckpointer } from '../io/checkpoint.js';
import { readSafetensors, writeFileAtomic, writeJson, writeSafetensors } from '../io/files.js';
import { RunManifest, type Settings } from '../io/manifest.js';
import { expectTensor, type SafeFile, type SafeTensor } from '../io/safetensors.js';
import { type EnhancedPreset, ENHANCED_PRESETS, trainEnhancedVae } from '../models/enhanced-vae-train.js';
import { formatTable1, majorityRate, PUBLISHED, type Table1Row, table1Row } from '../models/table1.js';
import { irisTask, layoutText, netTitle, type Task, taskNet, taskZooSets } from '../models/task.js';
import { sampleScaled, sampleVae, trainWeightVae, VAE_PRESETS, type VaePreset } from '../models/vae-train.js';
import {
  netName,
  netShape,
  setNet,
  trainZoo,
  vectorAccuracy,
  vectorLength,
  ZOO_TRAINING,
  type ZooSet,
} from '../models/zoo.js';
import { FINETUNE_FILES } from './iris-finetune.js';
import { TSNE_FILES } from './iris-tsne.js';
import { Progress } from './progress.js';

export interface IrisOptions {
  run: string; // folder
  preset: 'faithful' | 'default';
  models: number; // per zoo set, 500
  zooEpochs: number; // 200
  samples: number; // generated networks per VAE, 500
  vaeEpochs?: number; // overrides the preset
  evaeEpochs?: number;
  seed: number;
  /** Delete this step's files (and those made from them) first. */
  restart?: IrisStep;
  /** The data and its networks' widths (src/models/task.ts); absent: Iris, the paper's fixed split. */
  task?: Task;
}

/** The options' data: the task given, or Iris. */
export function taskOf(opts: { task?: Task }): Task {
  return opts.task ?? irisTask();
}

export type IrisStep = 'zoo' | 'vae' | 'sample' | 'table1' | 'tsne';

const ZOO_FILE = 'zoo.safetensors';
const M1_FILE = 'vae-m1.ckpt.safetensors';
const M2_FILE = 'vae-m2.ckpt.safetensors';
const GEN_FILE = 'generated.safetensors';
const TABLE_FILES = ['table1.json', 'table1.md'];

/** The files each step writes; a restart of a step deletes its own and every later step's. */
const STEP_FILES: Record<IrisStep, string[]> = {
  zoo: [ZOO_FILE],
  vae: [M1_FILE, M2_FILE],
  sample: [GEN_FILE],
  table1: [...TABLE_FILES, ...FINETUNE_FILES], // (finetune's come from the zoo and the VAEs: a restart deletes them)
  tsne: TSNE_FILES, // (made from the zoo and the sampled networks)
};
const STEPS = Object.keys(STEP_FILES) as IrisStep[];

/** The settings each file is made with; each includes those of the files it is made from. */
function settingsOf(opts: IrisOptions): Record<string, Settings> & { table1: Settings } {
  const data = opts.task?.source;
  const zoo: Settings = {
    ...(data ? { data } : {}), // where another dataset's rows came from (Iris's settings predate it)
    ...ZOO_TRAINING,
    models: opts.models,
    epochs: opts.zooEpochs,
    seed: opts.seed,
  };
  const m1: Settings = { zoo, preset: opts.preset, vae: { ...vaePreset(opts) }, seed: opts.seed };
  const m2: Settings = { zoo, preset: opts.preset, vae: { ...evaePreset(opts) }, seed: opts.seed };
  const gen: Settings = { m1, m2, samples: opts.samples, seed: opts.seed };
  return { [ZOO_FILE]: zoo, [M1_FILE]: m1, [M2_FILE]: m2, [GEN_FILE]: gen, table1: gen };
}

function redoHint(file: string): string {
  const step = STEPS.find((s) => STEP_FILES[s].includes(file)) ?? 'zoo';
  return `--restart ${step}`;
}

/** Opens the run folder's manifest, applying --restart, and checks each existing file's settings. */
function openRun(opts: IrisOptions): RunManifest {
  mkdirSync(opts.run, { recursive: true });
  const manifest = RunManifest.open(opts.run);
  if (opts.restart) {
    for (const step of STEPS.slice(STEPS.indexOf(opts.restart))) {
      for (const f of STEP_FILES[step]) {
        rmSync(join(opts.run, f), { force: true });
        manifest.forget(f);
      }
    }
  }
  const settings = settingsOf(opts);
  for (const f of [ZOO_FILE, M1_FILE, M2_FILE, GEN_FILE]) manifest.check(f, settings[f]!, redoHint(f));
  for (const f of TABLE_FILES) manifest.check(f, settings.table1, redoHint(f));
  return manifest;
}

/** Reads a file the pipeline made, checking that every value is finite. */
function readResult(path: string): SafeFile {
  const f = readSafetensors(path);
  assertFinite(f, path);
  return f;
}

function zooTensors(opts: IrisOptions): Record<string, SafeTensor> {
  const path = join(opts.run, ZOO_FILE);
  return existsSync(path) ? readResult(path).tensors : {};
}

export async function irisZoo(opts: IrisOptions, manifest = openRun(opts)): Promise<void> {
  const task = taskOf(opts);
  const sets = taskZooSets(task);
  const tensors = zooTensors(opts);
  for (const set of sets) {
    if (tensors[`${set.name}.weights`]) {
      console.log(`zoo ${set.name}: already in ${ZOO_FILE}, skipped`);
      continue;
    }
    const bar = new Progress(`zoo ${set.name} (${opts.models} x ${netName(setNet(set))})`, opts.zooEpochs);
    const z = await trainZoo(set, task.split, {
      models: opts.models,
      epochs: opts.zooEpochs,
      seed: opts.seed,
      onEpoch: (e, loss) => bar.update(e + 1, `loss ${loss.toFixed(4)}`),
    });
    tensors[`${set.name}.weights`] = { dtype: 'F32', shape: [opts.models, vectorLength(setNet(set))], data: z.vectors };
    tensors[`${set.name}.test_accuracy`] = { dtype: 'F32', shape: [opts.models], data: z.testAccuracy };
    const meta = {
      format: 'weightgen iris zoo v1',
      layout: layoutText(task),
      sets: JSON.stringify(sets),
      training: JSON.stringify(settingsOf(opts)[ZOO_FILE]),
    };
    writeSafetensors(join(opts.run, ZOO_FILE), tensors, meta);
    manifest.record(ZOO_FILE, settingsOf(opts)[ZOO_FILE]!);
    const acc = z.testAccuracy.reduce((s, a) => s + a, 0) / opts.models;
    console.log(`zoo ${set.name}: mean test accuracy ${(100 * acc).toFixed(2)}%, saved`);
  }
}

function zooSet(opts: IrisOptions, name: string): { set: ZooSet; weights: Float32Array } {
  const task = taskOf(opts);
  const set = taskZooSets(task).find((s) => s.name === name)!;
  const path = join(opts.run, ZOO_FILE);
  if (!existsSync(path)) throw new Error(`${path} does not exist: run \`${task.command('zoo')}\` first`);
  const t = expectTensor(readResult(path), `${name}.weights`, [opts.models, vectorLength(setNet(set))], path);
  return { set, weights: t.data as Float32Array };
}

function vaePreset(opts: IrisOptions): VaePreset {
  const p = { ...VAE_PRESETS[opts.preset] };
  if (opts.vaeEpochs !== undefined) p.epochs = opts.vaeEpochs;
  return p;
}

function evaePreset(opts: IrisOptions): EnhancedPreset {
  const p = { ...ENHANCED_PRESETS[opts.preset] };
  if (opts.evaeEpochs !== undefined) p.epochs = opts.evaeEpochs;
  return p;
}

/** Trains both VAEs, resuming from their checkpoints (a finished checkpoint means nothing left to do). */
export async function irisVae(opts: IrisOptions, manifest = openRun(opts)): Promise<void> {
  await irisVaeAndSample(opts, false, manifest);
}

/** Trains (or loads, from their finished checkpoints) both VAEs and samples networks from them. */
export async function irisSample(opts: IrisOptions, manifest = openRun(opts)): Promise<void> {
  const genPath = join(opts.run, GEN_FILE);
  if (existsSync(genPath)) {
    generatedAccuracy(opts, genPath); // skip only on a complete, finite file of the expected shapes
    console.log(`${GEN_FILE} exists (same settings): sampling skipped`);
    return;
  }
  await irisVaeAndSample(opts, true, manifest);
}

/** The test accuracies held in generated.safetensors, after checking its tensors. */
function generatedAccuracy(
  opts: IrisOptions,
  path: string,
): { g1: Float32Array; g2: Float32Array; g2s: Float32Array | null } {
  const f = readResult(path);
  const task = taskOf(opts);
  expectTensor(f, 'g1.weights', [opts.samples, vectorLength(taskNet(task, 'M1'))], path);
  expectTensor(f, 'g2.weights', [opts.samples, vectorLength(taskNet(task, 'M2'))], path);
  const standardised = opts.preset === 'faithful' ? 'g2.test_accuracy_standardised' : null;
  return {
    g1: expectTensor(f, 'g1.test_accuracy', [opts.samples], path).data as Float32Array,
    g2: expectTensor(f, 'g2.test_accuracy', [opts.samples], path).data as Float32Array,
    g2s: standardised ? (expectTensor(f, standardised, [opts.samples], path).data as Float32Array) : null,
  };
}

async function irisVaeAndSample(opts: IrisOptions, sample: boolean, manifest: RunManifest): Promise<void> {
  const genPath = join(opts.run, GEN_FILE);
  const task = taskOf(opts);
  const split = task.split;
  const [m1, m2] = [taskNet(task, 'M1'), taskNet(task, 'M2')];
  const out: Record<string, SafeTensor> = {};

  const real = zooSet(opts, 'real');
  const p1 = vaePreset(opts);
  const bar1 = new Progress(`VAE on M1 (${opts.preset}: batch ${p1.batchSize}, lr ${p1.lr})`, p1.epochs);
  const settings = settingsOf(opts);
  const ckpt1 = recorded(fileCheckpointer(join(opts.run, M1_FILE), Math.max(1, Math.floor(p1.epochs / 20))), () =>
    manifest.record(M1_FILE, settings[M1_FILE]!),
  );
  const vae = await trainWeightVae(real.weights, p1, {
    seed: opts.seed,
    dim: vectorLength(m1),
    onEpoch: (e, l) => bar1.update(e + 1, `loss ${l.toFixed(4)}`),
    ckpt: ckpt1,
  });
  const g1 = sample ? await sampleVae(vae, opts.samples, opts.seed + 1) : null;
  vae.vae.dispose();

  const real2 = zooSet(opts, 'real2');
  const p2 = evaePreset(opts);
  const bar2 = new Progress(`enhanced VAE on M2 (${opts.preset}: batch ${p2.batchSize}, lr ${p2.lr})`, p2.epochs);
  const ckpt2 = recorded(fileCheckpointer(join(opts.run, M2_FILE), Math.max(1, Math.floor(p2.epochs / 20))), () =>
    manifest.record(M2_FILE, settings[M2_FILE]!),
  );
  const evae = await trainEnhancedVae(real2.weights, p2, {
    seed: opts.seed,
    widths: netShape(m2).widths,
    inputs: split.xTrain,
    onEpoch: (e, l) => bar2.update(e + 1, `loss ${l.toFixed(4)}`),
    ckpt: ckpt2,
  });
  const g2 = sample ? await sampleVae(evae, opts.samples, opts.seed + 2) : null;
  // the faithful preset also evaluates G2 as the paper's code did: the decoded weights, standardised
  const g2s = sample && opts.preset === 'faithful' ? await sampleScaled(evae, opts.samples, opts.seed + 2) : null;
  evae.vae.dispose();
  if (!g1 || !g2) return;
  out['g1.weights'] = { dtype: 'F32', shape: [opts.samples, vectorLength(m1)], data: g1 };
  out['g1.test_accuracy'] = { dtype: 'F32', shape: [opts.samples], data: await vectorAccuracy(m1, g1, split) };
  out['g2.weights'] = { dtype: 'F32', shape: [opts.samples, vectorLength(m2)], data: g2 };
  out['g2.test_accuracy'] = { dtype: 'F32', shape: [opts.samples], data: await vectorAccuracy(m2, g2, split) };
  if (g2s) {
    const acc = await vectorAccuracy(m2, g2s, split);
    out['g2.test_accuracy_standardised'] = { dtype: 'F32', shape: [opts.samples], data: acc };
  }

  writeSafetensors(genPath, out, { format: 'weightgen iris generated v1', preset: opts.preset });
  manifest.record(GEN_FILE, settings[GEN_FILE]!);
  console.log(`sampled ${opts.samples} networks from each VAE: ${GEN_FILE}`);
}

export function irisTable1(opts: IrisOptions, manifest = openRun(opts)): Table1Row[] {
  const task = taskOf(opts);
  const zp = join(opts.run, ZOO_FILE);
  if (!existsSync(zp)) throw new Error(`${zp} does not exist: run \`${task.command('zoo')}\` first`);
  const zoo = readResult(zp);
  const genPath = join(opts.run, GEN_FILE);
  if (!existsSync(genPath)) throw new Error(`${genPath} does not exist: run \`${task.command('sample')}\` first`);
  const gen = generatedAccuracy(opts, genPath);
  const acc = (name: string) => expectTensor(zoo, `${name}.test_accuracy`, [opts.models], zp).data as Float32Array;
  const rows = [
    table1Row('R1', acc('real')),
    table1Row('S1', acc('scrambled')),
    table1Row('G1', gen.g1),
    table1Row('R2', acc('real2')),
    table1Row('G2', gen.g2),
    ...(gen.g2s ? [table1Row('G2s', gen.g2s)] : []),
  ];
  let text: string;
  let json: object;
  if (opts.task) {
    // another dataset: no published values; the majority class's rate is the floor to beat
    const majority = majorityRate(task.split.yTest);
    const [m1, m2] = [netTitle(task, 'M1'), netTitle(task, 'M2')];
    text = formatTable1(rows, opts.preset, { name: task.name, testRows: task.split.yTest.length, majority, m1, m2 });
    json = { preset: opts.preset, data: task.source ?? null, majority, rows };
  } else {
    text = formatTable1(rows, opts.preset);
    json = { preset: opts.preset, rows, published: PUBLISHED };
  }
  writeJson(join(opts.run, 'table1.json'), json);
  writeFileAtomic(join(opts.run, 'table1.md'), `${text}\n`);
  for (const f of TABLE_FILES) manifest.record(f, settingsOf(opts).table1);
  console.log(`\n${text}\n\nwritten: ${join(opts.run, 'table1.md')}, ${join(opts.run, 'table1.json')}`);
  return rows;
}

/** Every step: the zoos, both VAEs and their samples, Table 1 (returned). */
export async function irisAll(opts: IrisOptions): Promise<Table1Row[]> {
  const manifest = openRun(opts);
  await irisZoo(opts, manifest);
  await irisSample(opts, manifest);
  return irisTable1(opts, manifest);
}

/** A checkpointer that records its file in the manifest after each save. */
function recorded(c: ReturnType<typeof fileCheckpointer>, onSave: () => void): ReturnType<typeof fileCheckpointer> {
  return {
    ...c,
    save: (s) => {
      c.save(s);
      onSave();
    },
  };
}
