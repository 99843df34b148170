// `weightgen tabular [STEP] --csv FILE --label COLUMN ...`: the whole weight-VAE pipeline of the Iris commands on
// any CSV of numeric features and a label column. The CSV is read and checked (src/io/csv-file.ts,
// src/data/csv.ts), split with its own seed (--split-seed; src/data/split.ts), standardised with the training
// rows' mean and std unless --standardise no, and handed as a task (src/models/task.ts: rows, d features, k
// classes, hidden width h) to the one pipeline the Iris commands run:
//   zoo, vae, sample, table1   iris.ts: the Real and Scrambled zoos of Linear(d, k), the Real-2 zoo of d-h-k,
//                              both VAEs, their samples and the Table 1 analogue (no published column)
//   tsne                       iris-tsne.ts: Figure 3 redone on these networks
//   finetune                   iris-finetune.ts: the samplers, fine-tuning and the memorisation check
// Each writes into the run folder what the Iris command writes. The manifest records the CSV's path, SHA-256,
// label, split and options with every file, so a changed CSV or option is refused like any changed setting.
// Iris written as a CSV, with --split shuffle --split-seed 42 --standardise no, is the Iris pipeline's input
// exactly, and gives its numbers. The flags are declared in args.ts (COMMANDS.tabular). Node only.
//
// Not here: parsing or splitting (src/data), the models (src/models), the steps themselves (iris*.ts).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { splitTabular, standardise as standardiseSplit } from '../data/split.js';
import { initGpu } from '../gpu/index.js';
import { readCsv } from '../io/csv-file.js';
import { prepareRunFolder } from '../io/files.js';
import { RunManifest } from '../io/manifest.js';
import type { Table1Row } from '../models/table1.js';
import { makeTask, netTitle, type Task } from '../models/task.js';
import { COMMANDS, commandHelp, type FlagValues, parseCommand, UsageError } from './args.js';
import { type IrisOptions, irisAll, irisSample, irisTable1, irisVae, irisZoo } from './iris.js';
import { FINETUNE_FILES, type FinetuneReport, irisFinetune } from './iris-finetune.js';
import { type Embedding, irisTsne } from './iris-tsne.js';

type TabularValues = FlagValues<(typeof COMMANDS)['tabular']['flags']>;
/** The flags that choose the data (loadTabularTask's; `weightgen zoo --csv` and its workers pass these). */
export type TabularData = Pick<
  TabularValues,
  'csv' | 'label' | 'hidden' | 'test-size' | 'split' | 'split-seed' | 'standardise'
>;
export type TabularStep = 'zoo' | 'vae' | 'sample' | 'table1' | 'tsne' | 'finetune' | 'all';

export interface TabularResult {
  task: Task;
  table1?: Table1Row[];
  tsne?: Record<string, Embedding>;
  finetune?: FinetuneReport;
}

/** The flags that choose the data, as a command line repeats them (non-default ones only, but --csv and --label). */
function dataFlags(v: TabularData, csv: string, label: string): string {
  const spec = COMMANDS.tabular.flags;
  const flags = [`--csv ${csv}`, `--label ${label}`];
  for (const f of ['hidden', 'test-size', 'split', 'split-seed', 'standardise'] as const) {
    if (v[f] !== spec[f].default) flags.push(`--${f} ${v[f]}`);
  }
  return flags.join(' ');
}

/**
 * The task of the command line's data: the CSV read, split and (unless --standardise no) standardised. Throws
 * the data layer's error, naming the file, line and column, on a bad CSV; nothing is written.
 */
export function loadTabularTask(v: TabularData): Task {
  if (v.csv === undefined) throw new UsageError('tabular: --csv FILE is required (a CSV with a header line)');
  if (v.label === undefined) throw new UsageError("tabular: --label COLUMN is required (the class column's name)");
  const [csv, label] = [v.csv, v.label];
  const data = readCsv(csv, { label });
  const sha256 = createHash('sha256').update(readFileSync(csv)).digest('hex');
  const mode = v.split;
  const raw = splitTabular(data, { testSize: v['test-size'], seed: v['split-seed'], mode });
  const split = v.standardise === 'yes' ? standardiseSplit(raw).split : raw;
  const flags = dataFlags(v, csv, label);
  return makeTask({
    name: basename(csv),
    split,
    hidden: v.hidden,
    source: {
      csv,
      sha256,
      label,
      rows: data.y.length,
      features: data.features,
      classes: data.classes,
      split: mode,
      testSize: v['test-size'],
      splitSeed: v['split-seed'],
      standardise: v.standardise === 'yes',
      hidden: v.hidden,
    },
    command: (step) => `weightgen tabular ${step} ${flags}`,
  });
}

/** One line on the data: rows, features, classes with their counts, the split. */
function describe(task: Task, v: TabularValues): string {
  const s = task.split;
  const counts = s.classes.map((c, k) => {
    let n = 0;
    for (const y of [s.yTrain, s.yTest]) for (const l of y) if (l === k) n++;
    return `${c} ${n}`;
  });
  const sha = String(task.source?.sha256).slice(0, 12);
  return (
    `data: ${v.csv} (sha256 ${sha}...): ${s.yTrain.length + s.yTest.length} rows, ${task.features} features, ` +
    `${task.classes} classes (${counts.join(', ')}); ${v.split} split, test size ${v['test-size']}, seed ` +
    `${v['split-seed']}: ${s.yTrain.length} training rows, ${s.yTest.length} test rows; ` +
    (v.standardise === 'yes' ? "standardised by the training rows' mean and std" : 'values as in the file') +
    `\nnetworks: M1 ${netTitle(task, 'M1')}, M2 ${netTitle(task, 'M2')}`
  );
}

/** Deletes the fine-tuning files of a run folder (and their manifest entries): `--restart finetune`. */
function forgetFinetune(run: string): void {
  if (!existsSync(run)) return;
  const manifest = RunManifest.open(run);
  for (const f of FINETUNE_FILES) {
    rmSync(join(run, f), { force: true });
    manifest.forget(f);
  }
}

/** Runs STEP (all: every step) on the task into the run folder; each step resumes or skips what is there. */
export async function tabular(step: TabularStep, v: TabularValues, task: Task): Promise<TabularResult> {
  const restart = v.restart;
  if ((step === 'tsne' || step === 'finetune') && restart !== undefined && restart !== step) {
    throw new UsageError(
      `tabular ${step} --restart ${restart}: the ${step} step only redoes its own files; to redo ${restart} and ` +
        `what was made from it, run \`weightgen tabular all --restart ${restart}\``,
    );
  }
  const opts: IrisOptions = {
    run: v.run,
    preset: v.preset,
    models: v.models,
    zooEpochs: v['zoo-epochs'],
    samples: v.samples,
    vaeEpochs: v['vae-epochs'],
    evaeEpochs: v['evae-epochs'],
    seed: v.seed,
    restart: restart === 'finetune' ? undefined : restart, // iris.ts's steps; finetune's files are deleted below
    task,
  };
  if (restart === 'finetune') forgetFinetune(v.run);
  const tsne = () =>
    irisTsne({
      run: v.run,
      networks: v['tsne-networks'],
      perplexity: v.perplexity,
      iterations: v['tsne-iterations'],
      seed: v.seed,
      paperVariant: false,
      restart: step === 'tsne' && restart === 'tsne', // (other steps: iris.ts's --restart deleted them)
      task,
      skipIfDone: true,
    });
  const finetune = () =>
    irisFinetune({
      run: v.run,
      samples: v['finetune-samples'],
      epochs: v['finetune-epochs'],
      seed: v.seed,
      bandwidth: v.bandwidth,
      task,
      skipIfDone: true,
    });
  const out: TabularResult = { task };
  if (step === 'zoo') await irisZoo(opts);
  else if (step === 'vae') await irisVae(opts);
  else if (step === 'sample') await irisSample(opts);
  else if (step === 'table1') out.table1 = irisTable1(opts);
  else if (step === 'tsne') out.tsne = await tsne();
  else if (step === 'finetune') out.finetune = await finetune();
  else {
    out.table1 = await irisAll(opts);
    out.tsne = await tsne();
    out.finetune = await finetune();
  }
  return out;
}

/** The command line after `tabular`. */
export async function tabularCommand(argv: readonly string[]): Promise<TabularResult | undefined> {
  const p = parseCommand('tabular', COMMANDS.tabular, argv);
  if (p.help) {
    console.log(`weightgen tabular\n${commandHelp('tabular', COMMANDS.tabular)}`);
    return undefined;
  }
  const v = p.values;
  const task = loadTabularTask(v); // before anything is written: a bad CSV leaves no run folder
  // as `iris tsne` and `iris finetune`, those two alone do not make a missing folder (they say what to run)
  if (existsSync(v.run) || (p.step !== 'tsne' && p.step !== 'finetune')) prepareRunFolder(v.run);
  const a = (await initGpu()).adapter;
  console.log(
    `adapter: ${a.vendor || '?'} ${a.description || a.architecture || ''} (${a.backend}${a.fallback ? ', CPU fallback' : ''})`,
  );
  console.log(`run folder: ${v.run} (preset ${v.preset})\n${describe(task, v)}`);
  const t0 = Date.now();
  const r = await tabular(p.step, v, task);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}
