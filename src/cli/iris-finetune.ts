// `weightgen iris finetune --run DIR`: the hyper-representations paper's evaluation on a finished Iris run.
// From each VAE (M1's and the enhanced one of M2) every sampler and baseline of src/models/samplers.ts draws
// --samples networks; all of them are fine-tuned on the training rows as one population (finetune.ts) with
// test accuracy read at epochs 0, 1, 5, 25, 50; and each network at epoch 0 is compared with the zoo it was
// learned from (src/analysis/memorisation.ts). Writes into DIR:
//   finetune.json, finetune.md   the table: mean +- std per sampler and epoch, and the memorisation medians
//   finetune.svg (.png)          the accuracy curves, one panel per VAE
//   memorisation.svg (.png)      nearest zoo network by weights against by predictions, one panel per VAE
//   finetune.safetensors         every sampled network and its accuracies and distances, for other analyses
// The run's settings come from its manifest (the zoo and both VAE checkpoints, which must be finished);
// these files' settings are recorded in it as well. The flags are declared in args.ts (IRIS_FINETUNE);
// main.ts routes `iris finetune ...` here. Node only.
// Another dataset's run (options.task, src/models/task.ts; `weightgen tabular finetune`) is evaluated the same
// way on its own rows and networks.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  COPY_RATIO,
  type MemorisationResult,
  memorisation,
  memorisationSpec,
  summarise,
} from '../analysis/memorisation.js';
import { panelsSpec } from '../analysis/figures-panels.js';
import { initGpu } from '../gpu/index.js';
import { assertFinite, fileCheckpointer } from '../io/checkpoint.js';
import {
  prepareRunFolder,
  readJson,
  readSafetensors,
  writeFileAtomic,
  writeJson,
  writeSafetensors,
} from '../io/files.js';
import { MANIFEST, RunManifest, type Settings, settingsDiff } from '../io/manifest.js';
import { writeFigure } from '../io/render.js';
import { expectTensor, type SafeTensor } from '../io/safetensors.js';
import { EnhancedVae } from '../models/enhanced-vae.js';
import { finetune, type FinetuneResult } from '../models/finetune.js';
import {
  BEST_FRACTION,
  embeddingSpread,
  type LatentModel,
  SAMPLERS,
  SAMPLER_WHAT,
  sampleAll,
  type SampledSets,
} from '../models/samplers.js';
import { irisTask, netTitle, type Task, type TaskSplit, taskNet } from '../models/task.js';
import { ColumnStandardizer, MinMaxScaler, Standardizer, WeightVae } from '../models/weight-vae.js';
import { canonicalOrder, netShape, vectorLength, ZOO_SETS, ZOO_TRAINING } from '../models/zoo.js';
import { Rng } from '../tensor/index.js';
import { commandHelp, IRIS_FINETUNE, parseCommand } from './args.js';
import { finetuneSpec, formatFinetune } from './finetune-report.js';
import { checkSource } from './iris-tsne.js';
import { Progress } from './progress.js';

export interface IrisFinetuneOptions {
  run: string;
  samples: number; // per sampler and VAE
  epochs: number; // of fine-tuning
  seed: number;
  bandwidth?: number; // the KDEs' factor; Scott's rule when absent
  /** The run's data (src/models/task.ts); absent: Iris. */
  task?: Task;
  /** When every file is there with these settings, return finetune.json's report instead of recomputing it. */
  skipIfDone?: boolean;
}

/** What this command writes into the run folder (iris.ts deletes them when a step they come from restarts). */
export const FINETUNE_FILES = [
  'finetune.json',
  'finetune.md',
  'finetune.svg',
  'finetune.png',
  'finetune.safetensors',
  'memorisation.svg',
  'memorisation.png',
];

const VAES = {
  M1: { zooSet: 'real', file: 'vae-m1.ckpt.safetensors', what: 'from the VAE' },
  M2: { zooSet: 'real2', file: 'vae-m2.ckpt.safetensors', what: 'from the enhanced VAE' },
} as const;
type VaeArch = keyof typeof VAES;

/** What a VAE's networks are: 'Linear(4,3) from the VAE', '4-5-3 from the enhanced VAE' for Iris. */
function networksOf(task: Task, arch: VaeArch): string {
  return `${netTitle(task, arch)} ${VAES[arch].what}`;
}

/** One VAE's results: the sampled networks, their fine-tuning and their nearest zoo networks. */
export interface ArchResult {
  arch: VaeArch;
  sampled: SampledSets;
  tuned: FinetuneResult; // every sampler's networks in SAMPLERS order, n each
  memorisation: MemorisationResult;
}

/** A finished Iris run folder, as its manifest describes it. */
interface TrainedIris {
  dir: string;
  task: Task;
  settings: Record<'zoo' | VaeArch, Settings>;
  zoo: Record<VaeArch, Float32Array>;
}

function openTrainedIris(dir: string, task: Task): TrainedIris {
  if (!existsSync(dir))
    throw new Error(`${dir}: no such run folder; make one with \`${task.command('all')} --run ${dir}\``);
  const manifest = RunManifest.open(dir);
  const settingsOf = (file: string, step: string): Settings => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${path} does not exist: run \`${task.command(step)} --run ${dir}\` first`);
    const e = manifest.entry(file);
    if (!e) {
      throw new Error(
        `${path} exists but ${MANIFEST} has no record of the settings it was made with (an older weightgen, or ` +
          `copied in); make it again with \`${task.command('all')} --run ${dir} --restart ${step}\``,
      );
    }
    return e.settings;
  };
  const zooSettings = settingsOf('zoo.safetensors', 'zoo');
  checkSource(join(dir, 'zoo.safetensors'), zooSettings, task);
  const settings = {
    zoo: zooSettings,
    M1: settingsOf(VAES.M1.file, 'vae'),
    M2: settingsOf(VAES.M2.file, 'vae'),
  };
  const path = join(dir, 'zoo.safetensors');
  const f = readSafetensors(path);
  assertFinite(f, path);
  const models = settings.zoo.models as number;
  const weights = (arch: VaeArch) =>
    expectTensor(f, `${VAES[arch].zooSet}.weights`, [models, vectorLength(taskNet(task, arch))], path)
      .data as Float32Array;
  return { dir, task, settings, zoo: { M1: weights('M1'), M2: weights('M2') } };
}

/** A VAE of the run, loaded from its finished checkpoint, with the scaler its training fitted to the zoo. */
function loadVae(run: TrainedIris, arch: VaeArch): LatentModel & { dispose(): void } {
  const path = join(run.dir, VAES[arch].file);
  const preset = (run.settings[arch].vae ?? {}) as Record<string, unknown>;
  const state = fileCheckpointer(path, 1).load()!;
  if (state.epoch !== preset.epochs) {
    throw new Error(
      `${path} holds epoch ${state.epoch} of ${preset.epochs}: its training is unfinished; finish it with ` +
        `\`${run.task.command('vae')} --run ${run.dir}\``,
    );
  }
  const zoo = run.zoo[arch];
  const net = taskNet(run.task, arch);
  if (arch === 'M1') {
    const vae = new WeightVae(vectorLength(net), 32);
    vae.loadStateDict(state.model, path);
    return { vae, scaler: MinMaxScaler.fit(zoo), dispose: () => vae.dispose() };
  }
  const vae = new EnhancedVae(undefined, netShape(net).widths);
  vae.loadStateDict(state.model, path);
  const prepare = preset.canonical ? (v: Float32Array) => canonicalOrder(net, v) : undefined;
  const seen = prepare ? prepare(zoo) : zoo; // what the trainer scaled (enhanced-vae-train.ts)
  const scaler =
    preset.scaling === 'columns' ? ColumnStandardizer.fit(seen, vectorLength(net)) : Standardizer.fit(seen);
  return { vae, scaler, prepare, dispose: () => vae.dispose() };
}

/** The seed of network g's batch order when fine-tuning arch's networks: the same g of every sampler shares it. */
function orderSeed(seed: number, arch: VaeArch, g: number): number {
  return 2 ** 52 + ((seed * 2 + (arch === 'M1' ? 0 : 1)) * 2 ** 20 + g);
}

async function runArch(run: TrainedIris, arch: VaeArch, o: IrisFinetuneOptions, split: TaskSplit): Promise<ArchResult> {
  const model = loadVae(run, arch);
  const set = ZOO_SETS.find((s) => s.name === VAES[arch].zooSet)!;
  const net = taskNet(run.task, arch);
  let sampled: SampledSets;
  try {
    sampled = await sampleAll(
      {
        arch: net,
        zoo: run.zoo[arch],
        rows: split,
        model,
        seeds: { set: set.seed, run: run.settings.zoo.seed as number },
      },
      { n: o.samples, seed: o.seed * 2 + (arch === 'M1' ? 0 : 1), bandwidth: o.bandwidth },
    );
  } finally {
    model.dispose();
  }
  const init = new Float32Array(SAMPLERS.length * o.samples * vectorLength(net));
  SAMPLERS.forEach((s, k) => {
    init.set(sampled.sets[s], k * sampled.sets[s].length);
  });
  const rngs = SAMPLERS.flatMap(() => Array.from({ length: o.samples }, (_, g) => new Rng(orderSeed(o.seed, arch, g))));
  const bar = new Progress(`fine-tuning ${arch} (${SAMPLERS.length} samplers x ${o.samples})`, o.epochs);
  const tuned = await finetune(net, init, split, {
    epochs: o.epochs,
    rngs,
    onEpoch: (e, loss) => bar.update(e + 1, `loss ${loss.toFixed(4)}`),
  });
  const mem = await memorisation(net, sampled.sets, run.zoo[arch], split.xTest);
  return { arch, sampled, tuned, memorisation: mem };
}

/** The accuracies of sampler k's networks at each epoch of r.tuned.at. */
function samplerAccuracy(r: ArchResult, k: number, n: number): Float32Array[] {
  return r.tuned.accuracy.map((a) => a.subarray(k * n, (k + 1) * n));
}

function meanStd(v: ArrayLike<number>): { mean: number; std: number } {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i]! / v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i]! - m) ** 2 / v.length;
  return { mean: 100 * m, std: 100 * Math.sqrt(s) };
}

/** finetune.json: per VAE, per sampler, accuracy (%) at each epoch and the memorisation summary. */
export function finetuneReport(results: ArchResult[], o: IrisFinetuneOptions, settings: Settings, task = irisTask()) {
  return {
    format: 'weightgen iris finetune v1',
    settings,
    epochs: results[0]!.tuned.at,
    archs: Object.fromEntries(
      results.map((r) => [
        r.arch,
        {
          networks: networksOf(task, r.arch),
          best: { count: r.sampled.best.length, by: 'accuracy on the training rows' },
          embeddings: embeddingSpread(r.sampled.embeddings),
          copyRatio: COPY_RATIO,
          zoo: summarise(r.memorisation.zoo),
          rows: SAMPLERS.map((s, k) => ({
            sampler: s,
            what: SAMPLER_WHAT[s],
            n: o.samples,
            accuracy: samplerAccuracy(r, k, o.samples).map((a, e) => ({ epoch: r.tuned.at[e]!, ...meanStd(a) })),
            memorisation: summarise(r.memorisation.sets[s]!),
          })),
        },
      ]),
    ),
  };
}

export type FinetuneReport = ReturnType<typeof finetuneReport>;

/** The whole command on options: every file written and recorded; returns the report. */
export async function irisFinetune(o: IrisFinetuneOptions): Promise<FinetuneReport> {
  const task = o.task ?? irisTask();
  const run = openTrainedIris(o.run, task);
  const split = task.split;
  const settings: Settings = {
    zoo: run.settings.zoo,
    m1: run.settings.M1,
    m2: run.settings.M2,
    samples: o.samples,
    epochs: o.epochs,
    seed: o.seed,
    bandwidth: o.bandwidth ?? 'scott',
    best: BEST_FRACTION,
    neighbourhood: 'posterior of a best model',
    training: { ...ZOO_TRAINING, epochs: o.epochs },
  };
  const manifest = RunManifest.open(o.run);
  const data = { name: task.name, testRows: split.yTest.length, trainRows: split.yTrain.length };
  if (o.skipIfDone && FINETUNE_FILES.every((f) => upToDate(manifest, o.run, f, settings))) {
    console.log('finetune.json exists (same settings): fine-tuning skipped');
    return readJson<FinetuneReport>(join(o.run, 'finetune.json'))!;
  }
  const results: ArchResult[] = [];
  for (const arch of ['M1', 'M2'] as const) results.push(await runArch(run, arch, o, split));
  const rep = finetuneReport(results, o, settings, task);
  const written = await writeOutputs(o.run, results, rep, data);
  for (const f of written) manifest.record(f, settings);
  console.log(`\n${formatFinetune(rep, data)}\n\nwritten: ${written.map((f) => join(o.run, f)).join(', ')}`);
  return rep;
}

/** Whether `file` is in the folder, recorded with exactly `settings`. */
function upToDate(manifest: RunManifest, dir: string, file: string, settings: Settings): boolean {
  const e = manifest.entry(file);
  return existsSync(join(dir, file)) && e !== undefined && settingsDiff(e.settings, settings).length === 0;
}

async function writeOutputs(
  dir: string,
  results: ArchResult[],
  rep: FinetuneReport,
  data: Parameters<typeof formatFinetune>[1],
): Promise<string[]> {
  writeJson(join(dir, 'finetune.json'), rep);
  writeFileAtomic(join(dir, 'finetune.md'), `${formatFinetune(rep, data)}\n`);
  await writeFigure(join(dir, 'finetune'), finetuneSpec(rep));
  const mem = results.map((r) => memorisationSpec(r.memorisation, `${r.arch}: ${rep.archs[r.arch]!.networks}`));
  await writeFigure(
    join(dir, 'memorisation'),
    panelsSpec({ title: 'Nearest zoo network of each network at epoch 0', panels: mem }),
  );
  const tensors: Record<string, SafeTensor> = {};
  for (const r of results) {
    const n = rep.archs[r.arch]!.rows[0]!.n;
    SAMPLERS.forEach((s, k) => {
      const nz = r.memorisation.sets[s]!;
      const acc = new Float32Array(r.tuned.at.length * n);
      samplerAccuracy(r, k, n).forEach((a, e) => {
        acc.set(a, e * n);
      });
      const P = r.sampled.sets[s].length / n;
      tensors[`${r.arch}.${s}.weights`] = { dtype: 'F32', shape: [n, P], data: r.sampled.sets[s] };
      tensors[`${r.arch}.${s}.test_accuracy`] = { dtype: 'F32', shape: [r.tuned.at.length, n], data: acc };
      tensors[`${r.arch}.${s}.nearest_weights`] = { dtype: 'F32', shape: [n], data: Float32Array.from(nz.weight) };
      tensors[`${r.arch}.${s}.nearest_disagreement`] = {
        dtype: 'F32',
        shape: [n],
        data: Float32Array.from(nz.disagreement),
      };
    });
  }
  for (const r of results) {
    const zoo = r.memorisation.zoo;
    tensors[`${r.arch}.zoo.nearest_weights`] = {
      dtype: 'F32',
      shape: [zoo.weight.length],
      data: Float32Array.from(zoo.weight),
    };
    const d = Float32Array.from(zoo.disagreement);
    tensors[`${r.arch}.zoo.nearest_disagreement`] = { dtype: 'F32', shape: [d.length], data: d };
  }
  writeSafetensors(join(dir, 'finetune.safetensors'), tensors, {
    format: 'weightgen iris finetune v1',
    epochs: JSON.stringify(rep.epochs),
    samplers: JSON.stringify(SAMPLERS),
  });
  return FINETUNE_FILES;
}

/** The command line after `iris finetune`. */
export async function irisFinetuneCommand(argv: readonly string[]): Promise<FinetuneReport | undefined> {
  const p = parseCommand('iris finetune', IRIS_FINETUNE, argv);
  if (p.help) {
    console.log(`weightgen iris finetune\n${commandHelp('iris finetune', IRIS_FINETUNE)}`);
    return undefined;
  }
  const o: IrisFinetuneOptions = { ...p.values };
  if (existsSync(o.run)) prepareRunFolder(o.run); // a missing folder: openTrainedIris says what to do
  const a = (await initGpu()).adapter;
  console.log(
    `adapter: ${a.vendor || '?'} ${a.description || a.architecture || ''} (${a.backend}${a.fallback ? ', CPU fallback' : ''})`,
  );
  console.log(`run folder: ${o.run}`);
  const t0 = Date.now();
  const rep = await irisFinetune(o);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return rep;
}
