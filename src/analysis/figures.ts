// Figures as data: pure functions from numbers to Vega-Lite specs (plain JSON), and imageGrid, which tiles
// small images into one pixel array. The command line renders a spec to SVG/PNG (src/io/render.ts); a page
// embeds the same spec with vega-embed. Browser-safe: no Node modules, no DOM, no rendering, no hand-written SVG.
//
// Every function checks its input and throws an error naming the series and index of what is wrong
// (an empty series, NaN, x and y of different lengths), so a broken run never becomes a silent blank figure.
//
// One file a kind of figure, this one the index of them all:
//   figures-histogram.ts   histogramSpec, histogramBars      figures-line.ts     lineSpec
//   figures-scatter.ts     scatterSpec                       figures-heatmap.ts  heatmapSpec, cellEdges
//   figures-image.ts       imageGrid                         figures-base.ts     the frame and checks they share
//   figures-hypernet.ts    the hypernetwork analyses' specs  figures-panels.ts   panels side by side
//   figures-toy.ts         the toy problem's heat map and curve
// (The memorisation figure is built in src/analysis/memorisation.ts, beside the distances it draws.)

export type { FigureOptions, TopLevelSpec } from './figures-base.js';
export { cellEdges, type HeatmapOptions, heatmapSpec } from './figures-heatmap.js';
export { type HistogramBar, histogramBars, type HistogramOptions, histogramSpec } from './figures-histogram.js';
export { type ImageGridOptions, imageGrid } from './figures-image.js';
export { type LineOptions, type LineSeries, lineSpec } from './figures-line.js';
export { type ScatterOptions, type ScatterPoint, scatterSpec } from './figures-scatter.js';
// the hypernetwork paper's analyses (figures-hypernet.ts), and panels side by side (figures-panels.ts)
export {
  accuracyHistogramSpec,
  type DiversityValues,
  diversitySpec,
  fgsmSpec,
  filterGrid,
  PATH_NAMES,
  type PcaValues,
  pathsSpec,
  pcaSpec,
  RULE_NAMES,
  type RunValues,
  ensemblesSpec,
} from './figures-hypernet.js';
export { panelsSpec } from './figures-panels.js';
// the toy problem (figures-toy.ts)
export * from './figures-toy.js';
