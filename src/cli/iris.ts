// `weightgen iris zoo|vae|sample|table1|all`: the weight-VAE paper's pipeline on Iris, in one run folder.
//
//   zoo.safetensors        the three zoos: <set>.weights (500, P), <set>.test_accuracy (500); rewritten
//                          after each set, so an interrupted run keeps the sets it finished
//   vae-m1.ckpt.safetensors, vae-m2.ckpt.safetensors   training checkpoints (resume where they stopped)
//   generated.safetensors  500 networks sampled from each VAE, with their test accuracies
//   table1.json, table1.md Table 1 beside the published values
//
// Every step skips what the folder already holds; delete a file to redo its step.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { irisSplit } from '../data/iris.js';
import { fileCheckpointer } from '../io/checkpoint.js';
import { readSafetensors, writeFileAtomic, writeJson, writeSafetensors } from '../io/files.js';
import { expectTensor, type SafeTensor } from '../io/safetensors.js';
import {
  type EnhancedPreset,
  ENHANCED_PRESETS,
  sampleEnhancedVae,
  trainEnhancedVae,
} from '../models/enhanced-vae-train.js';
import { formatTable1, PUBLISHED, type Table1Row, table1Row } from '../models/table1.js';
import { sampleWeightVae, trainWeightVae, VAE_PRESETS, type VaePreset } from '../models/vae-train.js';
import { trainZoo, vectorAccuracy, vectorLength, ZOO_SETS, type ZooSet } from '../models/zoo.js';
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
}

const ZOO_FILE = 'zoo.safetensors';
const GEN_FILE = 'generated.safetensors';

function zooTensors(opts: IrisOptions): Record<string, SafeTensor> {
  const path = join(opts.run, ZOO_FILE);
  return existsSync(path) ? readSafetensors(path).tensors : {};
}

export async function irisZoo(opts: IrisOptions): Promise<void> {
  const split = irisSplit();
  const tensors = zooTensors(opts);
  for (const set of ZOO_SETS) {
    if (tensors[`${set.name}.weights`]) {
      console.log(`zoo ${set.name}: already in ${ZOO_FILE}, skipped`);
      continue;
    }
    const bar = new Progress(`zoo ${set.name} (${opts.models} x ${set.arch})`, opts.zooEpochs);
    const z = await trainZoo(set, split, {
      models: opts.models,
      epochs: opts.zooEpochs,
      onEpoch: (e, loss) => bar.update(e + 1, `loss ${loss.toFixed(4)}`),
    });
    tensors[`${set.name}.weights`] = { dtype: 'F32', shape: [opts.models, vectorLength(set.arch)], data: z.vectors };
    tensors[`${set.name}.test_accuracy`] = { dtype: 'F32', shape: [opts.models], data: z.testAccuracy };
    const meta = {
      format: 'weightgen iris zoo v1',
      layout: 'M1: the 3x5 matrix [W | b] row-major; M2: W1 (5x4) row-major, b1, W2 (3x5) row-major, b2',
      sets: JSON.stringify(ZOO_SETS),
      training: JSON.stringify({
        optimizer: 'Adam',
        lr: 0.005,
        epochs: opts.zooEpochs,
        batch: 16,
        loss: 'cross-entropy',
      }),
    };
    writeSafetensors(join(opts.run, ZOO_FILE), tensors, meta);
    const acc = z.testAccuracy.reduce((s, a) => s + a, 0) / opts.models;
    console.log(`zoo ${set.name}: mean test accuracy ${(100 * acc).toFixed(2)}%, saved`);
  }
}

function zooSet(opts: IrisOptions, name: string): { set: ZooSet; weights: Float32Array } {
  const set = ZOO_SETS.find((s) => s.name === name)!;
  const path = join(opts.run, ZOO_FILE);
  if (!existsSync(path)) throw new Error(`${path} does not exist: run \`weightgen iris zoo\` first`);
  const t = expectTensor(readSafetensors(path), `${name}.weights`, [-1, vectorLength(set.arch)], path);
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
export async function irisVae(opts: IrisOptions): Promise<void> {
  await irisVaeAndSample(opts, false);
}

/** Trains (or loads, from their finished checkpoints) both VAEs and samples networks from them. */
export async function irisSample(opts: IrisOptions): Promise<void> {
  if (existsSync(join(opts.run, GEN_FILE))) {
    console.log(`${GEN_FILE} exists: sampling skipped`);
    return;
  }
  await irisVaeAndSample(opts, true);
}

async function irisVaeAndSample(opts: IrisOptions, sample: boolean): Promise<void> {
  const genPath = join(opts.run, GEN_FILE);
  const split = irisSplit();
  const out: Record<string, SafeTensor> = {};

  const real = zooSet(opts, 'real');
  const p1 = vaePreset(opts);
  const bar1 = new Progress(`VAE on M1 (${opts.preset}: batch ${p1.batchSize}, lr ${p1.lr})`, p1.epochs);
  const ckpt1 = fileCheckpointer(join(opts.run, 'vae-m1.ckpt.safetensors'), Math.max(1, Math.floor(p1.epochs / 20)));
  const vae = await trainWeightVae(
    real.weights,
    15,
    p1,
    opts.seed,
    (e, l) => bar1.update(e + 1, `loss ${l.toFixed(4)}`),
    ckpt1,
  );
  const g1 = sample ? await sampleWeightVae(vae, opts.samples, opts.seed + 1) : null;
  vae.vae.dispose();

  const real2 = zooSet(opts, 'real2');
  const p2 = evaePreset(opts);
  const bar2 = new Progress(`enhanced VAE on M2 (${opts.preset}: batch ${p2.batchSize}, lr ${p2.lr})`, p2.epochs);
  const ckpt2 = fileCheckpointer(join(opts.run, 'vae-m2.ckpt.safetensors'), Math.max(1, Math.floor(p2.epochs / 20)));
  const evae = await trainEnhancedVae(real2.weights, p2, {
    seed: opts.seed,
    inputs: split.xTrain,
    onEpoch: (e, l) => bar2.update(e + 1, `loss ${l.toFixed(4)}`),
    ckpt: ckpt2,
  });
  const g2 = sample ? await sampleEnhancedVae(evae, opts.samples, opts.seed + 2) : null;
  evae.vae.dispose();
  if (!g1 || !g2) return;
  out['g1.weights'] = { dtype: 'F32', shape: [opts.samples, 15], data: g1 };
  out['g1.test_accuracy'] = { dtype: 'F32', shape: [opts.samples], data: await vectorAccuracy('M1', g1, split) };
  out['g2.weights'] = { dtype: 'F32', shape: [opts.samples, 43], data: g2 };
  out['g2.test_accuracy'] = { dtype: 'F32', shape: [opts.samples], data: await vectorAccuracy('M2', g2, split) };

  writeSafetensors(genPath, out, { format: 'weightgen iris generated v1', preset: opts.preset });
  console.log(`sampled ${opts.samples} networks from each VAE: ${GEN_FILE}`);
}

export function irisTable1(opts: IrisOptions): Table1Row[] {
  const zoo = readSafetensors(join(opts.run, ZOO_FILE));
  const genPath = join(opts.run, GEN_FILE);
  if (!existsSync(genPath)) throw new Error(`${genPath} does not exist: run \`weightgen iris sample\` first`);
  const gen = readSafetensors(genPath);
  const acc = (f: typeof zoo, name: string, path: string) =>
    expectTensor(f, `${name}.test_accuracy`, [-1], path).data as Float32Array;
  const zp = join(opts.run, ZOO_FILE);
  const rows = [
    table1Row('R1', acc(zoo, 'real', zp)),
    table1Row('S1', acc(zoo, 'scrambled', zp)),
    table1Row('G1', acc(gen, 'g1', genPath)),
    table1Row('R2', acc(zoo, 'real2', zp)),
    table1Row('G2', acc(gen, 'g2', genPath)),
  ];
  const text = formatTable1(rows, opts.preset);
  writeJson(join(opts.run, 'table1.json'), { preset: opts.preset, rows, published: PUBLISHED });
  writeFileAtomic(join(opts.run, 'table1.md'), `${text}\n`);
  console.log(`\n${text}\n\nwritten: ${join(opts.run, 'table1.md')}, ${join(opts.run, 'table1.json')}`);
  return rows;
}

export async function irisAll(opts: IrisOptions): Promise<void> {
  mkdirSync(opts.run, { recursive: true });
  await irisZoo(opts);
  await irisSample(opts);
  irisTable1(opts);
}
