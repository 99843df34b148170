// The hypernetwork paper's analyses (paper 2, "Evaluation") as `weightgen hypernet analyze NAME`: each computes
// its numbers on the GPU (src/analysis), writes DIR/analyses/NAME.json and its figure, records its settings in
// the run folder's manifest, prints a short summary naming the scale, and says how its JSON reads as tables for
// the report (hypernet-report.ts). Node only (files).
//
//   accuracy    histograms of generated networks' test accuracy, for --run and --compare (lambda 1e3 vs 1e5)
//   ensembles   accuracy against ensemble size for majority vote, mean probabilities and the most confident
//   paths       accuracy along G(t z1 + (1-t) z2) and t G(z1) + (1-t) G(z2)
//   filters     one first-layer filter across samples of z (PNG)                 } in
//   diversity   pairwise L1 distances between gauge-fixed networks and            } hypernet-analyses-
//               disagreement, for --run and --compare                            } weights.ts
//   pca         generated weights on their principal components (the GPU's PCA)  }
//   fgsm        one network against the majority vote of others, by eps

import { EnsembleCurves, type EnsembleCurvesResult, ENSEMBLE_RULES, spread } from '../analysis/ensembles.js';
import {
  accuracyHistogramSpec,
  ensemblesSpec,
  fgsmSpec,
  PATH_NAMES,
  pathsSpec,
  RULE_NAMES,
} from '../analysis/figures-hypernet.js';
import { epsToJson, fgsm, fooledFraction } from '../analysis/fgsm.js';
import { forEachNetworkBlock, networksPerBlock } from '../analysis/networks.js';
import { type PathsResult, pathAccuracies, pathTimes } from '../analysis/paths.js';
import type { ReportTable } from '../analysis/report.js';
import { reshape, slice } from '../ops/index.js';
import type { GeneratedLayer } from '../models/target-net.js';
import { disposeAll, noGrad, Rng, scope, type Tensor } from '../tensor/index.js';
import { DIVERSITY, FILTERS, PCA } from './hypernet-analyses-weights.js';
import {
  type AnalysisDef,
  type AnalyzeOptions,
  analysisSettings,
  comparedRuns,
  fmt,
  loadNet,
  networkOutputs,
  openCompare,
  pct,
  runName,
  sampleNoise,
  scaleLine,
  sizesOf,
  type TrainedRun,
  testImages,
  writeAnalysis,
  written,
} from './hypernet-analysis-run.js';

// ---- accuracy -------------------------------------------------------------------------------------------

interface AccuracyJson {
  images: number;
  networks: number;
  runs: {
    run: string;
    name: string;
    lambda: number;
    accuracy: number[];
    mean: number;
    std: number;
    min: number;
    max: number;
  }[];
}

async function accuracy(run: TrainedRun, o: AnalyzeOptions): Promise<void> {
  const t0 = Date.now();
  const s = sizesOf(o);
  const other = openCompare(run, o);
  const part = testImages(run, s.images);
  console.log(`accuracy, ${scaleLine(o, ['networks', 'images'])}`);
  const runs: AccuracyJson['runs'] = [];
  for (const [r, vs] of comparedRuns(run, other)) {
    const { accuracy: acc } = await networkOutputs(r, s.networks, part);
    const st = spread(acc);
    runs.push({ run: r.dir, name: runName(r, vs), lambda: r.lambda, accuracy: [...acc], ...st });
    console.log(`  ${runs.at(-1)!.name} (${r.dir}): ${fmt(st)} (min ${pct(st.min)}, max ${pct(st.max)})`);
  }
  const result: AccuracyJson = { images: s.images, networks: s.networks, runs };
  const spec = accuracyHistogramSpec(
    runs.map((r) => ({ name: r.name, values: r.accuracy })),
    s.images,
  );
  const settings = analysisSettings(run, other, o, { networks: s.networks, images: s.images });
  written(await writeAnalysis(run, 'accuracy', result, { spec }, settings), t0);
}

function accuracyTables(j: AccuracyJson): ReportTable[] {
  return [
    {
      caption: `test accuracy of ${j.networks} generated networks per run, first ${j.images} test images`,
      head: ['run', 'lambda', 'mean +- std', 'min', 'max'],
      rows: j.runs.map((r) => [r.run, r.lambda, fmt(r), pct(r.min), pct(r.max)]),
    },
  ];
}

// ---- ensembles ------------------------------------------------------------------------------------------

/** The paper's number (20 ensembles of 200, majority vote, the 10,000 test images). */
export const PAPER_ENSEMBLE = { size: 200, vote: 0.9914 };

async function ensembles(run: TrainedRun, o: AnalyzeOptions): Promise<void> {
  const t0 = Date.now();
  const s = sizesOf(o);
  const part = testImages(run, s.images);
  const N = part.y.length;
  const pool = s.ensembles * s.ensembleSize;
  console.log(`ensembles, ${scaleLine(o, ['ensembles', 'ensembleSize', 'images'])}: ${pool} networks, each run once`);
  const net = loadNet(run);
  const K = net.config.target.classes;
  const z = sampleNoise(run, pool);
  const curves = new EnsembleCurves(part.y, K, s.ensembles, s.ensembleSize);
  try {
    await forEachNetworkBlock(net, z, part, networksPerBlock(N, K), (probs, first, n) => {
      for (let i = 0; i < n; i++) curves.add(first + i, probs, i * N * K);
    });
  } finally {
    z.dispose();
    net.dispose();
  }
  const result = curves.result();
  for (const size of [1, s.ensembleSize]) {
    const line = ENSEMBLE_RULES.map((r) => `${RULE_NAMES[r]} ${fmt(spread(result.accuracy[r][size - 1]!))}`);
    console.log(`  size ${size}: ${line.join(', ')}`);
  }
  console.log(
    `  the paper: ${PAPER_ENSEMBLE.size} networks, majority vote ${pct(PAPER_ENSEMBLE.vote)} (10,000 test images)`,
  );
  const settings = analysisSettings(run, undefined, o, {
    ensembles: s.ensembles,
    ensembleSize: s.ensembleSize,
    images: s.images,
  });
  written(await writeAnalysis(run, 'ensembles', result, { spec: ensemblesSpec(result) }, settings), t0);
}

function ensembleTables(j: EnsembleCurvesResult): ReportTable[] {
  const sizes = [...new Set([1, 2, 5, 10, 20, 50, 100, 200, j.maxSize].filter((k) => k <= j.maxSize))];
  const rows: (string | number)[][] = sizes.map((k) => [
    k,
    ...ENSEMBLE_RULES.map((r) => fmt(spread(j.accuracy[r][k - 1]!))),
  ]);
  rows.push([`${PAPER_ENSEMBLE.size} (the paper, 10,000 images)`, pct(PAPER_ENSEMBLE.vote), '', '']);
  return [
    {
      caption: `test accuracy of ${j.count} disjoint ensembles by size (mean +- std over ensembles), first ${j.images} test images`,
      head: ['size', ...ENSEMBLE_RULES.map((r) => RULE_NAMES[r])],
      rows,
    },
  ];
}

// ---- paths ----------------------------------------------------------------------------------------------

async function paths(run: TrainedRun, o: AnalyzeOptions): Promise<void> {
  const t0 = Date.now();
  const s = sizesOf(o);
  const part = testImages(run, s.images);
  const t = pathTimes(s.points);
  console.log(`paths, ${scaleLine(o, ['pairs', 'points', 'images'])}: z1, z2 = networks 2p, 2p + 1`);
  const net = loadNet(run);
  const z = sampleNoise(run, 2 * s.pairs);
  const D = z.shape[1]!;
  const [z1, z2] = scope(() => {
    const zz = reshape(z, [s.pairs, 2, D]);
    return [0, 1].map((k) => reshape(slice(zz, [0, k, 0], [s.pairs, 1, D]), [s.pairs, D]));
  }) as [typeof z, typeof z];
  let result: PathsResult;
  try {
    result = await pathAccuracies(net, z1, z2, t, part);
  } finally {
    for (const x of [z, z1, z2]) x.dispose();
    net.dispose();
  }
  for (const [kind, v] of Object.entries(pathSummary(result).kinds)) {
    console.log(
      `  ${PATH_NAMES[kind as keyof typeof PATH_NAMES]}: ends ${pct(v.ends)}, lowest ${pct(v.lowest)}, middle ${pct(v.middle)}`,
    );
  }
  const settings = analysisSettings(run, undefined, o, { pairs: s.pairs, points: s.points, images: s.images });
  written(await writeAnalysis(run, 'paths', result, { spec: pathsSpec(result) }, settings), t0);
}

/** Per path kind, means over pairs: accuracy at the two ends, the lowest along the path, at t nearest 0.5. */
function pathSummary(r: PathsResult) {
  const mid = r.t.reduce((b, t, i) => (Math.abs(t - 0.5) < Math.abs(r.t[b]! - 0.5) ? i : b), 0);
  const T = r.t.length;
  const of = (acc: number[][]) => ({
    ends: spread(acc.flatMap((a) => [a[0]!, a[T - 1]!])).mean,
    lowest: spread(acc.map((a) => Math.min(...a))).mean,
    middle: spread(acc.map((a) => a[mid]!)).mean,
  });
  return { midT: r.t[mid]!, kinds: { interpolated: of(r.accuracy.interpolated), direct: of(r.accuracy.direct) } };
}

function pathTables(j: PathsResult): ReportTable[] {
  const sm = pathSummary(j);
  return [
    {
      caption: `test accuracy along paths between ${j.accuracy.direct.length} pairs, ${j.t.length} points each (means over pairs), first ${j.images} test images`,
      head: ['path', 'at the ends', 'lowest along the path', `at t = ${sm.midT.toFixed(2)}`],
      rows: (['interpolated', 'direct'] as const).map((k) => [
        PATH_NAMES[k],
        pct(sm.kinds[k].ends),
        pct(sm.kinds[k].lowest),
        pct(sm.kinds[k].middle),
      ]),
    },
  ];
}

// ---- fgsm -----------------------------------------------------------------------------------------------

interface FgsmJson {
  images: number; // test images looked at
  attacked: number[]; // those network 0 classifies right: the ones attacked
  targets: number[];
  members: number; // the ensemble: networks 1 .. members
  grid: number[];
  /** eps needed per attacked image (null: none of the grid fooled it), and the fraction fooled at each eps. */
  single: { eps: (number | null)[]; fooled: number[] };
  ensemble: { eps: (number | null)[]; fooled: number[] };
}

/** The first `count` networks from `first` of layers made for many (kernels (G, ...)). */
const networksOf = (layers: GeneratedLayer[], first: number, count: number) =>
  layers.map((l) => {
    const cut = (t: Tensor) => slice(t, [first, ...t.shape.slice(1).map(() => 0)], [count, ...t.shape.slice(1)]);
    return { kernel: cut(l.kernel).keep(), bias: cut(l.bias).keep() };
  });

async function fgsmAnalysis(run: TrainedRun, o: AnalyzeOptions): Promise<void> {
  const t0 = Date.now();
  const s = sizesOf(o);
  const part = testImages(run, s.attackImages);
  console.log(
    `fgsm, ${scaleLine(o, ['attackImages', 'members'])}: network 0 attacked; networks 1 .. ${s.members} vote`,
  );
  const net = loadNet(run);
  net.eval();
  const z = sampleNoise(run, 1 + s.members);
  const layers = noGrad(() =>
    scope(() => net.networks(z)).map((l) => ({ kernel: l.kernel.keep(), bias: l.bias.keep() })),
  );
  const [single, ensemble] = [networksOf(layers, 0, 1), networksOf(layers, 1, s.members)];
  disposeAll([layers, z]);
  let r: Awaited<ReturnType<typeof fgsm>>;
  try {
    // the targets' own stream, apart from the networks' noise
    const rng = new Rng(run.options.seed * 16 + 6);
    r = await fgsm({ spec: net.config.target, single, ensemble, images: part.x, labels: part.y, rng });
  } finally {
    disposeAll([single, ensemble]);
    net.dispose();
  }
  const line = (need: Float64Array) => ({ eps: epsToJson(need), fooled: fooledFraction(need, r.grid) });
  const result: FgsmJson = {
    images: part.y.length,
    attacked: [...r.attacked],
    targets: [...r.targets],
    members: s.members,
    grid: r.grid,
    single: line(r.single),
    ensemble: line(r.ensemble!),
  };
  const last = r.grid.length - 1;
  console.log(
    `  ${r.attacked.length} of ${part.y.length} images attacked; fooled at eps ${r.grid[last]}: ` +
      `the network ${pct(result.single.fooled[last]!)}, the vote of ${s.members} ${pct(result.ensemble.fooled[last]!)}`,
  );
  const spec = fgsmSpec(r.grid, fgsmLines(result), r.attacked.length);
  const settings = analysisSettings(run, undefined, o, { attackImages: s.attackImages, members: s.members });
  written(await writeAnalysis(run, 'fgsm', result, { spec }, settings), t0);
}

const fgsmLines = (j: FgsmJson) => [
  { name: 'attacked network', fooled: j.single.fooled },
  { name: `vote of ${j.members} others`, fooled: j.ensemble.fooled },
];

function fgsmTables(j: FgsmJson): ReportTable[] {
  const at = [0.02, 0.05, 0.1, 0.24].map((e) => j.grid.findIndex((g) => Math.abs(g - e) < 1e-9)).filter((i) => i >= 0);
  return [
    {
      caption: `targeted FGSM: the fraction of the ${j.attacked.length} attacked images (of ${j.images}) fooled by step size`,
      head: ['model', ...at.map((i) => `eps ${j.grid[i]}`)],
      rows: fgsmLines(j).map((l) => [l.name, ...at.map((i) => pct(l.fooled[i]!))]),
    },
  ];
}

// ---- the table ------------------------------------------------------------------------------------------

export const ANALYSES = {
  accuracy: {
    help: "histograms of generated networks' test accuracy, of --run and --compare (e.g. lambda 1e3 and 1e5)",
    figure: 'svg',
    sizes: ['networks', 'images'],
    compare: true,
    run: accuracy,
    tables: accuracyTables,
  },
  ensembles: {
    help: 'accuracy against ensemble size: majority vote, mean probabilities, most confident member',
    figure: 'svg',
    sizes: ['ensembles', 'ensembleSize', 'images'],
    run: ensembles,
    tables: ensembleTables,
  },
  paths: {
    help: 'accuracy along G(t z1 + (1-t) z2) and t G(z1) + (1-t) G(z2) for pairs (z1, z2)',
    figure: 'svg',
    sizes: ['pairs', 'points', 'images'],
    run: paths,
    tables: pathTables,
  },
  filters: FILTERS,
  diversity: DIVERSITY,
  pca: PCA,
  fgsm: {
    help: 'targeted FGSM: one network against the majority vote of others on the same adversarial images',
    figure: 'svg',
    sizes: ['attackImages', 'members'],
    run: fgsmAnalysis,
    tables: fgsmTables,
  },
} satisfies Record<string, AnalysisDef>;

export type AnalysisName = keyof typeof ANALYSES;
