// The figures of the hypernetwork's analyses (paper 2, "Evaluation"), as Vega-Lite specs from the numbers the
// analyses return (or read back from their JSON): accuracy histograms of two runs, accuracy against ensemble
// size, accuracy along paths in weight space, the pairwise diversity of generated networks, and a grid of one
// filter across z (pixels, for gridToPng). The command line renders them; a page embeds the same specs.
// Browser-safe (figures.ts lists every figure). Not here: computing the numbers (ensembles.ts, paths.ts,
// diversity.ts).

import { ENSEMBLE_RULES, type EnsembleCurvesResult, type EnsembleRule, spread } from './ensembles.js';
import { type Encoding, frame, type TopLevelSpec, type UnitSpec } from './figures-base.js';
import { histogramSpec } from './figures-histogram.js';
import { imageGrid } from './figures-image.js';
import { type LineSeries, lineSpec } from './figures-line.js';
import { panelsSpec } from './figures-panels.js';
import type { PathKind, PathsResult } from './paths.js';

/** One run's numbers in a two-run figure: its name in the legend (e.g. "lambda 1000"), and its values. */
export interface RunValues {
  name: string;
  values: ArrayLike<number>;
}

/** "20 networks" for one run, "20 networks per run" for several of the same count, "20 and 50 networks". */
function perRun(counts: number[], noun: string): string {
  if (counts.length === 1) return `${counts[0]} ${noun}`;
  return counts.every((c) => c === counts[0]) ? `${counts[0]} ${noun} per run` : `${counts.join(' and ')} ${noun}`;
}

/** Histograms of the test accuracy of each run's generated networks, overlaid on one x scale. */
export function accuracyHistogramSpec(runs: RunValues[], images: number): TopLevelSpec {
  return histogramSpec({
    title: `test accuracy of generated networks (${perRun(
      runs.map((r) => r.values.length),
      'networks',
    )}, ${images} test images)`,
    xTitle: 'test accuracy',
    series: runs.map((r) => ({ name: r.name, values: r.values })),
    bins: 20,
  });
}

export const RULE_NAMES: Record<EnsembleRule, string> = {
  vote: 'majority vote',
  mean: 'mean probabilities',
  confident: 'most confident',
};

/** Accuracy against ensemble size, one line per rule: the mean over the ensembles, a band of +- 1 std. */
export function ensemblesSpec(r: EnsembleCurvesResult): TopLevelSpec {
  const sizes = Array.from({ length: r.maxSize }, (_, i) => i + 1);
  const series: LineSeries[] = ENSEMBLE_RULES.map((rule) => {
    const s = r.accuracy[rule].map((perEnsemble) => spread(perEnsemble));
    return {
      name: RULE_NAMES[rule],
      x: sizes,
      y: s.map((v) => v.mean),
      band: { lo: s.map((v) => Math.max(0, v.mean - v.std)), hi: s.map((v) => Math.min(1, v.mean + v.std)) },
    };
  });
  return lineSpec({
    title: `test accuracy of ${r.count} ensembles by size (${r.images} test images; bands: +- 1 std)`,
    width: 440,
    xTitle: 'ensemble size (networks)',
    yTitle: 'test accuracy',
    series,
    logX: r.maxSize >= 20,
    points: r.maxSize <= 20,
  });
}

export const PATH_NAMES: Record<PathKind, string> = {
  interpolated: 'interpolated: G(t z1 + (1-t) z2)',
  direct: 'direct: t G(z1) + (1-t) G(z2)',
};

/** The rows of pathsSpec: every pair's accuracy at every t, and the mean over pairs, by path kind. */
function pathRows(r: PathsResult) {
  const rows: { kind: string; pair: number; t: number; accuracy: number }[] = [];
  const means: { kind: string; t: number; accuracy: number }[] = [];
  for (const k of ['interpolated', 'direct'] as const) {
    const pairs = r.accuracy[k];
    r.t.forEach((t, i) => {
      pairs.forEach((acc, p) => {
        rows.push({ kind: PATH_NAMES[k], pair: p, t, accuracy: acc[i]! });
      });
      means.push({ kind: PATH_NAMES[k], t, accuracy: spread(pairs.map((acc) => acc[i]!)).mean });
    });
  }
  return { rows, means };
}

/** Accuracy along both paths: a thin line per pair, a thick one for the mean over pairs; dashed: direct. */
export function pathsSpec(r: PathsResult): TopLevelSpec {
  const names = [PATH_NAMES.interpolated, PATH_NAMES.direct];
  const { rows, means } = pathRows(r);
  const x: Encoding['x'] = {
    field: 't',
    type: 'quantitative',
    title: 't (0: G(z2), 1: G(z1))',
    scale: { nice: false },
  };
  const y: Encoding['y'] = { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { zero: false } };
  // one legend for colour and dash (same field, same title), under the plot: the names are long
  const legend = {
    orient: 'bottom',
    direction: 'vertical',
    labelLimit: 400,
    symbolType: 'stroke',
    symbolStrokeWidth: 2.5,
    symbolOpacity: 1,
    symbolSize: 500,
  } as const;
  const color: Encoding['color'] = { field: 'kind', type: 'nominal', title: null, scale: { domain: names }, legend };
  const dash: Encoding['strokeDash'] = {
    field: 'kind',
    type: 'nominal',
    title: null,
    scale: {
      domain: names,
      range: [
        [1, 0],
        [6, 4],
      ],
    },
    legend,
  };
  const layer: UnitSpec[] = [
    {
      name: 'pairs',
      data: { values: rows },
      mark: { type: 'line', opacity: 0.35, strokeWidth: 1 },
      encoding: { x, y, color, strokeDash: dash, detail: { field: 'pair' } },
    },
    {
      name: 'means',
      data: { values: means },
      mark: { type: 'line', strokeWidth: 2.5 },
      encoding: { x, y, color, strokeDash: dash },
    },
  ];
  const pairs = r.accuracy.interpolated.length;
  const title = `accuracy along paths, ${pairs} pairs of z (${r.images} test images; thin: each pair, thick: mean)`;
  return { ...frame('pathsSpec', { title }, 460, 260), layer };
}

/** One run's pairwise numbers: L1 distances between gauge-fixed networks and disagreement fractions. */
export interface DiversityValues {
  name: string;
  distances: ArrayLike<number>;
  disagreement: ArrayLike<number>;
}

/** Two panels: histograms of the pairwise L1 distances, and of the fraction of test images two networks disagree on. */
export function diversitySpec(runs: DiversityValues[], images: number): TopLevelSpec {
  return panelsSpec({
    title: `pairwise diversity of generated networks (${perRun(
      runs.map((r) => r.distances.length),
      'pairs',
    )})`,
    panels: [
      histogramSpec({
        title: 'L1 distance between gauge-fixed weights',
        xTitle: 'L1 distance',
        series: runs.map((r) => ({ name: r.name, values: r.distances })),
        width: 320,
      }),
      histogramSpec({
        title: `test images classified differently (of ${images})`,
        xTitle: 'fraction of test images',
        series: runs.map((r) => ({ name: r.name, values: r.disagreement })),
        width: 320,
      }),
    ],
  });
}

/**
 * One filter across z as a pixel grid for gridToPng: kernels (samples, size * size) row-major, tiled cols per
 * row, on one grey scale shared by every tile (0 grey, +-max|w| white and black) so that tiles compare.
 */
export function filterGrid(kernels: ArrayLike<number>, size: number, cols = 8) {
  const n = kernels.length / (size * size);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`filterGrid: ${kernels.length} values are not ${size} x ${size} images`);
  let m = 0;
  for (let i = 0; i < kernels.length; i++) m = Math.max(m, Math.abs(kernels[i]!));
  const scale = m > 0 ? 0.5 / m : 0;
  const images = Array.from({ length: n }, (_, s) =>
    Float32Array.from({ length: size * size }, (_, i) => 0.5 + scale * kernels[s * size * size + i]!),
  );
  const grid = imageGrid(images, {
    rows: Math.ceil(n / cols),
    cols: Math.min(cols, n),
    width: size,
    height: size,
    pad: 1,
    padValue: 1,
  });
  return { ...grid, max: m };
}

/** One set of weights in PCA space: its name, its dimension, each component's share of the variance, and the
 * networks' coordinates (n, k). */
export interface PcaValues {
  name: string;
  dims: number;
  explained: ArrayLike<number>;
  projections: ArrayLike<number>[]; // (n) rows of k >= 2
}

/** One scatter per set of weights: the networks on their first two principal components. */
export function pcaSpec(sets: PcaValues[], title: string): TopLevelSpec {
  const panel = (s: PcaValues): TopLevelSpec => {
    const rows = s.projections.map((p, i) => {
      if (!(p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]))) {
        throw new Error(`pcaSpec: '${s.name}' point ${i} is [${Array.from(p)}]; two finite coordinates are needed`);
      }
      return { pc1: p[0]!, pc2: p[1]! };
    });
    const axis = (i: number) => `PC${i + 1} (${(100 * s.explained[i]!).toFixed(1)}% of the variance)`;
    return {
      ...frame('pcaSpec', { title: `${s.name} (${s.dims} weights)` }, 260, 260),
      data: { values: rows },
      mark: { type: 'point', filled: true, size: 14, opacity: 0.6 },
      encoding: {
        x: { field: 'pc1', type: 'quantitative', title: axis(0), scale: { zero: false } },
        y: { field: 'pc2', type: 'quantitative', title: axis(1), scale: { zero: false } },
      },
    };
  };
  return panelsSpec({ title, panels: sets.map(panel) });
}

/** The fraction of attacked images fooled at each eps (the CDF of the eps needed), one line per attacked model. */
export function fgsmSpec(
  grid: readonly number[],
  lines: { name: string; fooled: ArrayLike<number> }[],
  images: number,
): TopLevelSpec {
  return lineSpec({
    title: `targeted FGSM on ${images} test images: fraction fooled against the step size`,
    xTitle: 'eps (fraction of the pixel range)',
    yTitle: 'fraction fooled',
    series: lines.map((l) => ({ name: l.name, x: grid, y: l.fooled })),
    points: true,
    width: 440,
  });
}
