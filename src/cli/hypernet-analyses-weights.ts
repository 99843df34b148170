// The weight-space analyses of `weightgen hypernet analyze` (hypernet-analyses.ts lists them all): `filters`,
// one first-layer filter across samples of z as a PNG grid (the paper's filter figures); `diversity`, the
// pairwise L1 distances between gauge-fixed networks and the fraction of test images two networks disagree
// on, for --run and --compare (not in the paper: what a reader asks next); `pca`, the networks' gauge-fixed
// weights (a first-layer filter, the first layer, the whole network) on their principal components, found on
// the GPU (src/analysis/pca.ts). Node only (files).

import { disagreements, filterSamples, upperTriangle, weightDistances } from '../analysis/diversity.js';
import { spread } from '../analysis/ensembles.js';
import { diversitySpec, filterGrid, pcaSpec } from '../analysis/figures-hypernet.js';
import { pca, readPca } from '../analysis/pca.js';
import type { ReportTable } from '../analysis/report.js';
import { flattenLayers } from '../models/gauge.js';
import type { Hypernet } from '../models/hypernet.js';
import { layerShapes, MNIST_TARGET } from '../models/target-net.js';
import { concat, reshape, slice } from '../ops/index.js';
import { disposeAll, noGrad, scope, type Tensor } from '../tensor/index.js';
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

// ---- filters --------------------------------------------------------------------------------------------

interface FiltersJson {
  layer: number;
  filter: number;
  samples: number;
  size: number; // k: each sample is a k x k image (input channel 0)
  kernels: number[][]; // (samples, k * k) row-major (kh, kw)
  biases: number[];
  max: number; // the largest |w|: white is +max, black -max
}

async function filters(run: TrainedRun, o: AnalyzeOptions): Promise<void> {
  const t0 = Date.now();
  const s = sizesOf(o);
  console.log(`filters, ${scaleLine(o, ['samples', 'filter'])}: first-layer filter ${s.filter}, gauge-fixed`);
  const first = layerShapes(MNIST_TARGET)[0]!; // the target every run here generates (openTrainedRun checks)
  if (first.layer.kind !== 'conv') throw new Error('filters: the first layer of the target is not a conv layer');
  const k = first.layer.kernel;
  const C = first.inChannels;
  const net = loadNet(run);
  const z = sampleNoise(run, s.samples);
  let got: Awaited<ReturnType<typeof filterSamples>>;
  try {
    got = await filterSamples(net, z, s.filter);
  } finally {
    z.dispose();
    net.dispose();
  }
  // rows are (kh, kw, cin): channel 0 of each
  const kernels = Array.from({ length: s.samples }, (_, g) =>
    Array.from({ length: k * k }, (_, p) => got.kernels[g * got.fanIn + p * C]!),
  );
  const grid = filterGrid(kernels.flat(), k, Math.ceil(Math.sqrt(s.samples)));
  const result: FiltersJson = {
    layer: 1,
    filter: s.filter,
    samples: s.samples,
    size: k,
    kernels,
    biases: [...got.biases],
    max: grid.max,
  };
  console.log(`  ${s.samples} samples of ${k} x ${k}, largest |w| ${grid.max.toFixed(3)}`);
  const settings = analysisSettings(run, undefined, o, { samples: s.samples, filter: s.filter });
  const figure = { pixels: grid.pixels, width: grid.width, height: grid.height, scale: 8 };
  written(await writeAnalysis(run, 'filters', result, figure, settings), t0);
}

function filterTables(j: FiltersJson): ReportTable[] {
  const w = j.kernels[0]!.length;
  const stds = Array.from({ length: w }, (_, i) => spread(j.kernels.map((k) => k[i]!)).std);
  return [
    {
      caption: `first-layer filter ${j.filter} across ${j.samples} samples of z (gauge-fixed)`,
      head: ['largest |w|', 'std across samples (mean over weights)', 'bias: mean +- std'],
      rows: [
        [
          j.max.toFixed(3),
          spread(stds).mean.toFixed(3),
          `${spread(j.biases).mean.toFixed(3)} +- ${spread(j.biases).std.toFixed(3)}`,
        ],
      ],
    },
  ];
}

// ---- diversity ------------------------------------------------------------------------------------------

interface DiversityJson {
  images: number;
  networks: number;
  /** Pairs (i, j), i < j, row by row: distances[m] and disagreement[m] belong to the same pair. */
  runs: { run: string; name: string; lambda: number; distances: number[]; disagreement: number[] }[];
}

async function diversity(run: TrainedRun, o: AnalyzeOptions): Promise<void> {
  const t0 = Date.now();
  const s = sizesOf(o);
  const other = openCompare(run, o);
  const part = testImages(run, s.images);
  const G = s.networks;
  console.log(`diversity, ${scaleLine(o, ['networks', 'images'])}: ${(G * (G - 1)) / 2} pairs per run`);
  const runs: DiversityJson['runs'] = [];
  for (const [r, vs] of comparedRuns(run, other)) {
    const out = await networkOutputs(r, G, part);
    const net = loadNet(r);
    const z = sampleNoise(r, G);
    let dist: Float32Array;
    try {
      dist = await weightDistances(net, z);
    } finally {
      z.dispose();
      net.dispose();
    }
    const dis = await disagreements(out.pred, G, out.classes);
    const entry = {
      run: r.dir,
      name: runName(r, vs),
      lambda: r.lambda,
      distances: upperTriangle(dist, G),
      disagreement: upperTriangle(dis, G),
    };
    runs.push(entry);
    console.log(
      `  ${entry.name}: L1 distance ${spread(entry.distances).mean.toFixed(1)} +- ${spread(entry.distances).std.toFixed(1)}, ` +
        `disagreement ${fmt(spread(entry.disagreement))}`,
    );
  }
  const result: DiversityJson = { images: s.images, networks: G, runs };
  const spec = diversitySpec(
    runs.map((r) => ({ name: r.name, distances: r.distances, disagreement: r.disagreement })),
    s.images,
  );
  const settings = analysisSettings(run, other, o, { networks: G, images: s.images });
  written(await writeAnalysis(run, 'diversity', result, { spec }, settings), t0);
}

function diversityTables(j: DiversityJson): ReportTable[] {
  const f1 = (v: number) => v.toFixed(1);
  return [
    {
      caption: `pairwise diversity of ${j.networks} generated networks per run (${(j.networks * (j.networks - 1)) / 2} pairs), first ${j.images} test images`,
      head: ['run', 'lambda', 'L1 distance: mean +- std', 'min', 'max', 'images classified differently: mean +- std'],
      rows: j.runs.map((r) => {
        const d = spread(r.distances);
        return [r.run, r.lambda, `${f1(d.mean)} +- ${f1(d.std)}`, f1(d.min), f1(d.max), fmt(spread(r.disagreement))];
      }),
    },
  ];
}

export const FILTERS: AnalysisDef = {
  help: 'one first-layer filter across samples of z, as an image grid (PNG)',
  figure: 'png',
  sizes: ['samples', 'filter'],
  run: filters,
  tables: filterTables,
};

export const DIVERSITY: AnalysisDef = {
  help: 'pairwise L1 distances between gauge-fixed networks and how often two disagree, of --run and --compare',
  figure: 'svg',
  sizes: ['networks', 'images'],
  compare: true,
  run: diversity,
  tables: diversityTables,
};

// ---- pca ------------------------------------------------------------------------------------------------

interface PcaJson {
  networks: number;
  k: number;
  filter: number;
  /** A first-layer filter (kernel and bias), the first layer, the whole network; gauge-fixed weights. */
  subjects: {
    name: string;
    dims: number;
    method: string;
    converged: boolean;
    explained: number[]; // (k) each component's share of the total variance
    variance: number[]; // (k)
    total: number;
    projections: number[][]; // (networks, k)
  }[];
}

/** The PCA's components: at most this many (the figure draws the first two, the table lists them all). */
const PCA_COMPONENTS = 4;

/** The three sets of weights of networks made from z (n, noise): a first-layer filter, the first layer, all. */
function pcaSubjects(net: Hypernet, z: Tensor, filter: number): { name: string; x: Tensor }[] {
  const n = z.shape[0]!;
  const s = layerShapes(net.config.target)[0]!;
  if (!s.perUnit || filter >= s.units)
    throw new Error(`pca: --filter ${filter}: the first layer has ${s.units} filters`);
  net.eval();
  return noGrad(() =>
    scope(() => {
      const layers = net.networks(z);
      const { kernel, bias } = layers[0]!; // (n, units, fanIn), (n, units)
      const rows = concat([kernel, reshape(bias, [n, s.units, 1])], 2); // (n, units, fanIn + 1)
      return [
        {
          name: `first-layer filter ${filter}`,
          x: reshape(slice(rows, [0, filter, 0], [n, 1, s.fanIn + 1]), [n, s.fanIn + 1]),
        },
        { name: 'first layer', x: reshape(rows, [n, s.units * (s.fanIn + 1)]) },
        { name: 'whole network', x: flattenLayers(net.config.target, layers) },
      ];
    }),
  );
}

async function pcaAnalysis(run: TrainedRun, o: AnalyzeOptions): Promise<void> {
  const t0 = Date.now();
  const s = sizesOf(o);
  const n = s.pcaNetworks;
  const k = Math.min(PCA_COMPONENTS, n);
  console.log(`pca, ${scaleLine(o, ['pcaNetworks', 'filter'])}: ${k} components, gauge-fixed weights`);
  const net = loadNet(run);
  const z = sampleNoise(run, n);
  const subjects: PcaJson['subjects'] = [];
  try {
    for (const { name, x } of pcaSubjects(net, z, s.filter)) {
      try {
        const r = await pca(x, { k });
        const d = await readPca(r);
        disposeAll(r);
        subjects.push({
          name,
          dims: x.shape[1]!,
          method: r.method,
          converged: r.solver.converged,
          explained: [...d.explained],
          variance: [...d.variance],
          total: d.total[0]!,
          projections: Array.from({ length: n }, (_, i) => [...d.projections.subarray(i * k, (i + 1) * k)]),
        });
      } finally {
        x.dispose();
      }
      const e = subjects.at(-1)!.explained.map((v, i) => `PC${i + 1} ${pct(v)}`);
      console.log(`  ${name} (${subjects.at(-1)!.dims} weights): ${e.join(', ')}`);
    }
  } finally {
    z.dispose();
    net.dispose();
  }
  const result: PcaJson = { networks: n, k, filter: s.filter, subjects };
  const spec = pcaSpec(
    subjects.map((j) => ({ name: j.name, dims: j.dims, explained: j.explained, projections: j.projections })),
    `${n} generated networks on their first two principal components (gauge-fixed weights)`,
  );
  const settings = analysisSettings(run, undefined, o, { pcaNetworks: n, filter: s.filter });
  written(await writeAnalysis(run, 'pca', result, { spec }, settings), t0);
}

function pcaTables(j: PcaJson): ReportTable[] {
  return [
    {
      caption: `PCA of ${j.networks} generated networks' gauge-fixed weights: each component's share of the variance`,
      head: ['weights', 'dimensions', ...Array.from({ length: j.k }, (_, i) => `PC${i + 1}`), `first ${j.k} together`],
      rows: j.subjects.map((s) => [
        s.name,
        s.dims,
        ...s.explained.map(pct),
        pct(s.explained.reduce((a, b) => a + b, 0)),
      ]),
    },
  ];
}

export const PCA: AnalysisDef = {
  help: 'PCA of generated weights (a first-layer filter, the first layer, the whole network) as scatters',
  figure: 'svg',
  sizes: ['pcaNetworks', 'filter'],
  run: pcaAnalysis,
  tables: pcaTables,
};
