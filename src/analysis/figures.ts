// Figures as data: pure functions from numbers to Vega-Lite specs (plain JSON), and imageGrid, which tiles
// small images into one pixel array. The command line renders a spec to SVG/PNG (src/io/render.ts); a page
// embeds the same spec with vega-embed. Browser-safe: no Node modules, no DOM, no rendering, no hand-written SVG.
//
// Every function checks its input and throws an error naming the series and index of what is wrong
// (an empty series, NaN, x and y of different lengths), so a broken run never becomes a silent blank figure.

import type { ColorScheme } from 'vega';
import type { TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

// The parts of a spec, named here so TypeScript checks each piece against vega-lite's own types.
type LayerSpec = Extract<TopLevelSpec, { layer: unknown }>;
type UnitSpec = Extract<LayerSpec['layer'][number], { mark: unknown }>;
type Encoding = NonNullable<UnitSpec['encoding']>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** What every figure takes: a title and the size of its plotting area in pixels (axes and legend add to it). */
export interface FigureOptions {
  title?: string;
  width?: number;
  height?: number;
}

function frame(fn: string, o: FigureOptions, width: number, height: number) {
  for (const [k, v] of [
    ['width', o.width],
    ['height', o.height],
  ] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new Error(`${fn}: ${k} ${v} must be a number > 0`);
  }
  return {
    $schema: SCHEMA,
    ...(o.title === undefined ? {} : { title: o.title }),
    width: o.width ?? width,
    height: o.height ?? height,
  };
}

function checkFinite(fn: string, what: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new Error(
        `${fn}: ${what}[${i}] is ${values[i]}; a figure needs finite numbers (drop or fix the NaN/Infinity first)`,
      );
    }
  }
}

function checkNames(fn: string, names: string[]): void {
  if (names.length === 0) throw new Error(`${fn}: no series given; pass at least one`);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n))
      throw new Error(`${fn}: two series are named '${n}'; names label the colours, so make them unique`);
    seen.add(n);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Histograms

export interface HistogramOptions extends FigureOptions {
  series: { name: string; values: ArrayLike<number> }[];
  xTitle: string;
  /** 'count' unless normalize, then 'fraction'. */
  yTitle?: string;
  /** Number of equal-width bins spanning range (default 20). */
  bins?: number;
  /** [lo, hi] of the bins, shared by every series; default the smallest and largest value of all series. */
  range?: [number, number];
  /** 'overlay' (default): translucent bars on one plot. 'facet': one plot per series, stacked, same x scale. */
  layout?: 'overlay' | 'facet';
  /** Plot the fraction of each series in a bin instead of the count (series of different sizes). */
  normalize?: boolean;
}

/** One bar: [x0, x1) holds y values of the named series (the last bin also holds hi). */
export interface HistogramBar {
  series: string;
  x0: number;
  x1: number;
  y: number;
}

/**
 * The bars of histogramSpec: every series binned on the same `bins` equal-width bins over [lo, hi]. Empty bins
 * are left out. A range of zero width (all values equal) becomes [v - 0.5, v + 0.5].
 */
export function histogramBars(o: HistogramOptions): { bars: HistogramBar[]; lo: number; hi: number } {
  const fn = 'histogramSpec';
  checkNames(
    fn,
    o.series.map((s) => s.name),
  );
  const bins = o.bins ?? 20;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`${fn}: bins ${bins} must be a whole number >= 1`);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of o.series) {
    if (s.values.length === 0) throw new Error(`${fn}: series '${s.name}' has no values`);
    checkFinite(fn, `series '${s.name}' values`, s.values);
    for (let i = 0; i < s.values.length; i++) {
      lo = Math.min(lo, s.values[i]);
      hi = Math.max(hi, s.values[i]);
    }
  }
  if (o.range) {
    const [rlo, rhi] = o.range;
    if (!(Number.isFinite(rlo) && Number.isFinite(rhi) && rlo < rhi)) {
      throw new Error(`${fn}: range [${rlo}, ${rhi}] must be two finite numbers, lo < hi`);
    }
    if (lo < rlo || hi > rhi) {
      throw new Error(`${fn}: values span [${lo}, ${hi}], outside range [${rlo}, ${rhi}]; widen the range`);
    }
    [lo, hi] = [rlo, rhi];
  } else if (lo === hi) {
    [lo, hi] = [lo - 0.5, hi + 0.5];
  }
  const step = (hi - lo) / bins;
  const bars: HistogramBar[] = [];
  for (const s of o.series) {
    const counts = new Float64Array(bins);
    for (let i = 0; i < s.values.length; i++) {
      counts[Math.min(bins - 1, Math.floor((s.values[i] - lo) / step))]++;
    }
    const scale = o.normalize ? 1 / s.values.length : 1;
    for (let b = 0; b < bins; b++) {
      if (counts[b] > 0)
        bars.push({ series: s.name, x0: lo + b * step, x1: lo + (b + 1) * step, y: counts[b] * scale });
    }
  }
  return { bars, lo, hi };
}

/**
 * Histograms of several series binned on one shared x scale (e.g. the test accuracy of networks generated
 * with lambda 1e3 beside 1e5): overlaid in translucent colours, or faceted one above the other.
 */
export function histogramSpec(o: HistogramOptions): TopLevelSpec {
  const { bars, lo, hi } = histogramBars(o);
  const names = o.series.map((s) => s.name);
  const facet = o.layout === 'facet';
  const unit = {
    name: 'bars',
    mark: { type: 'bar', opacity: facet || names.length === 1 ? 0.9 : 0.5, stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      x: {
        field: 'x0',
        type: 'quantitative',
        bin: 'binned', // the bins are ours: x0..x1, bars rise from 0
        title: o.xTitle,
        scale: { domain: [lo, hi], zero: false, nice: false },
      },
      x2: { field: 'x1' },
      y: { field: 'y', type: 'quantitative', title: o.yTitle ?? (o.normalize ? 'fraction' : 'count'), stack: null },
      // faceted, the panel headers name the series
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: names },
        ...(facet ? { legend: null } : {}),
      },
    },
  } satisfies UnitSpec;
  const head = frame('histogramSpec', o, 400, facet ? 120 : 260);
  const data = { values: bars };
  if (!facet) return { ...head, data, ...unit };
  const { width, height, ...top } = head;
  return {
    ...top,
    data,
    facet: {
      row: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: names,
        header: { labelOrient: 'top', labelAnchor: 'start', labelFontSize: 11 },
      },
    },
    spec: { width, height, ...unit },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Lines with optional bands

export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** A shaded band around the line (e.g. mean +- std, or min..max), same length as x. */
  band?: { lo: ArrayLike<number>; hi: ArrayLike<number> };
}

export interface LineOptions extends FigureOptions {
  series: LineSeries[];
  xTitle: string;
  yTitle: string;
  logX?: boolean;
  logY?: boolean;
  /** Mark every (x, y) with a dot as well (few points, e.g. accuracy vs ensemble size). */
  points?: boolean;
}

/** Lines, one per series, each with an optional shaded band: loss curves, accuracy against ensemble size. */
export function lineSpec(o: LineOptions): TopLevelSpec {
  const fn = 'lineSpec';
  checkNames(
    fn,
    o.series.map((s) => s.name),
  );
  const rows: { series: string; x: number; y: number }[] = [];
  const bands: { series: string; x: number; lo: number; hi: number }[] = [];
  for (const s of o.series) {
    const n = s.x.length;
    if (n === 0) throw new Error(`${fn}: series '${s.name}' has no points`);
    if (s.y.length !== n) throw new Error(`${fn}: series '${s.name}' has ${n} x values but ${s.y.length} y values`);
    checkFinite(fn, `series '${s.name}' x`, s.x);
    checkFinite(fn, `series '${s.name}' y`, s.y);
    if (s.band && (s.band.lo.length !== n || s.band.hi.length !== n)) {
      throw new Error(
        `${fn}: series '${s.name}' band has ${s.band.lo.length} lo and ${s.band.hi.length} hi values for ${n} points`,
      );
    }
    if (s.band) {
      checkFinite(fn, `series '${s.name}' band.lo`, s.band.lo);
      checkFinite(fn, `series '${s.name}' band.hi`, s.band.hi);
    }
    for (let i = 0; i < n; i++) {
      if (o.logX && s.x[i] <= 0) throw new Error(`${fn}: logX, but series '${s.name}' x[${i}] = ${s.x[i]} <= 0`);
      const lows = s.band ? [s.y[i], s.band.lo[i]] : [s.y[i]];
      if (o.logY && Math.min(...lows) <= 0) {
        throw new Error(`${fn}: logY, but series '${s.name}' has y or band.lo <= 0 at index ${i}`);
      }
      rows.push({ series: s.name, x: s.x[i], y: s.y[i] });
      if (s.band) bands.push({ series: s.name, x: s.x[i], lo: s.band.lo[i], hi: s.band.hi[i] });
    }
  }
  const names = o.series.map((s) => s.name);
  const x: Encoding['x'] = {
    field: 'x',
    type: 'quantitative',
    title: o.xTitle,
    scale: { type: o.logX ? 'log' : 'linear' },
  };
  const y = (field: string): Encoding['y'] => ({
    field,
    type: 'quantitative',
    title: o.yTitle,
    scale: o.logY ? { type: 'log', nice: false } : { type: 'linear', zero: false },
  });
  const color: Encoding['color'] = { field: 'series', type: 'nominal', title: null, scale: { domain: names } };
  const layer: UnitSpec[] = [];
  if (bands.length > 0) {
    layer.push({
      name: 'bands',
      data: { values: bands },
      mark: { type: 'area', fillOpacity: 0.2 },
      encoding: { x, y: y('lo'), y2: { field: 'hi' }, color },
    });
  }
  layer.push({
    name: 'lines',
    data: { values: rows },
    mark: { type: 'line', point: o.points ?? false },
    // the legend shows strokes, as the lines are drawn, rather than the pale fill of the bands
    encoding: { x, y: y('y'), color: { ...color, legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } } },
  });
  return { ...frame(fn, o, 400, 260), layer };
}

// ---------------------------------------------------------------------------------------------------------
// Scatter plots

export interface ScatterPoint {
  x: number;
  y: number;
  group: string | number;
}

export interface ScatterOptions extends FigureOptions {
  points: ScatterPoint[];
  xTitle: string;
  yTitle: string;
  /** Legend title (none by default). */
  groupTitle?: string;
  /** Area of a dot in square pixels (default 16). */
  size?: number;
}

function pointRows(fn: string, points: ScatterPoint[]): { x: number; y: number; group: string }[] {
  return points.map((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      throw new Error(`${fn}: point ${i} is (${p.x}, ${p.y}); a figure needs finite numbers`);
    }
    return { x: p.x, y: p.y, group: String(p.group) };
  });
}

/** Groups in the order they first appear, so colours follow the caller's order. */
function groupsOf(rows: { group: string }[]): string[] {
  return [...new Set(rows.map((r) => r.group))];
}

/** Points coloured by group (PCA or t-SNE of weights, coloured by zoo or by class). */
export function scatterSpec(o: ScatterOptions): TopLevelSpec {
  const fn = 'scatterSpec';
  if (o.points.length === 0) throw new Error(`${fn}: no points given`);
  const rows = pointRows(fn, o.points);
  return {
    ...frame(fn, o, 360, 360),
    name: 'points',
    data: { values: rows },
    mark: { type: 'point', filled: true, size: o.size ?? 16, opacity: 0.75 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.xTitle, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: o.yTitle, scale: { zero: false } },
      color: { field: 'group', type: 'nominal', title: o.groupTitle ?? null, scale: { domain: groupsOf(rows) } },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Heatmaps

export interface HeatmapOptions extends FigureOptions {
  /** (ny, nx) row-major: values[j * nx + i] is the value at (x[i], y[j]). */
  values: ArrayLike<number>;
  /** (nx) cell centres, strictly increasing. */
  x: ArrayLike<number>;
  /** (ny) cell centres, strictly increasing. */
  y: ArrayLike<number>;
  xTitle: string;
  yTitle: string;
  colorTitle?: string;
  /** A Vega colour scheme (default 'viridis'; 'blueorange' for signed values). */
  scheme?: ColorScheme;
  /** Fixed [lo, hi] of the colour scale (default the values' extent), e.g. [0, 1] for probabilities. */
  domain?: [number, number];
  /** Points drawn over the grid, coloured by group (e.g. the toy problem's training set). */
  points?: ScatterPoint[];
  groupTitle?: string;
}

/** Cell edges (n + 1) around strictly increasing centres: midpoints, and half a step beyond each end. */
export function cellEdges(c: ArrayLike<number>, axis = 'x'): number[] {
  const fn = 'heatmapSpec';
  const n = c.length;
  if (n === 0) throw new Error(`${fn}: ${axis} has no coordinates`);
  checkFinite(fn, axis, c);
  for (let i = 1; i < n; i++) {
    if (!(c[i] > c[i - 1])) throw new Error(`${fn}: ${axis} must increase strictly, but ${axis}[${i}] = ${c[i]}`);
  }
  if (n === 1) return [c[0] - 0.5, c[0] + 0.5];
  const e = [c[0] - (c[1] - c[0]) / 2];
  for (let i = 1; i < n; i++) e.push((c[i - 1] + c[i]) / 2);
  e.push(c[n - 1] + (c[n - 1] - c[n - 2]) / 2);
  return e;
}

/**
 * A grid of values as coloured cells, optionally with points on top (a classifier's output over the plane of
 * the toy problem, with its training points). One rect per cell: keep grids to about 200 x 200 or less, or the
 * SVG grows large; downsample finer grids first.
 */
export function heatmapSpec(o: HeatmapOptions): TopLevelSpec {
  const fn = 'heatmapSpec';
  const nx = o.x.length;
  const ny = o.y.length;
  const ex = cellEdges(o.x, 'x');
  const ey = cellEdges(o.y, 'y');
  if (o.values.length !== nx * ny) {
    throw new Error(`${fn}: values has ${o.values.length} entries; x and y make a ${ny} x ${nx} grid (${nx * ny})`);
  }
  checkFinite(fn, 'values', o.values);
  const cells: { x0: number; x1: number; y0: number; y1: number; v: number }[] = [];
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++)
      cells.push({ x0: ex[i], x1: ex[i + 1], y0: ey[j], y1: ey[j + 1], v: o.values[j * nx + i] });
  }
  const x: Encoding['x'] = {
    field: 'x0',
    type: 'quantitative',
    title: o.xTitle,
    scale: { domain: [ex[0], ex[nx]], nice: false, zero: false },
  };
  const y: Encoding['y'] = {
    field: 'y0',
    type: 'quantitative',
    title: o.yTitle,
    scale: { domain: [ey[0], ey[ny]], nice: false, zero: false },
  };
  const layer: UnitSpec[] = [
    {
      name: 'cells',
      data: { values: cells },
      mark: { type: 'rect' },
      encoding: {
        x,
        x2: { field: 'x1' },
        y,
        y2: { field: 'y1' },
        color: {
          field: 'v',
          type: 'quantitative',
          title: o.colorTitle ?? null,
          scale: o.domain ? { scheme: o.scheme ?? 'viridis', domain: o.domain } : { scheme: o.scheme ?? 'viridis' },
        },
      },
    },
  ];
  if (o.points && o.points.length > 0) {
    const rows = pointRows(fn, o.points).map((p) => ({ x0: p.x, y0: p.y, group: p.group }));
    const groups = groupsOf(rows);
    layer.push({
      name: 'points',
      data: { values: rows },
      mark: { type: 'point', filled: true, size: 30, stroke: 'white', strokeWidth: 0.75, clip: true },
      encoding: {
        x,
        y,
        color: {
          field: 'group',
          type: 'nominal',
          title: o.groupTitle ?? null,
          scale: { scheme: 'set1', domain: groups },
        },
        shape: { field: 'group', type: 'nominal', title: o.groupTitle ?? null, scale: { domain: groups } },
      },
    });
  }
  return {
    ...frame(fn, o, 320, 320),
    layer,
    resolve: { scale: { color: 'independent', shape: 'independent' } },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Image grids

export interface ImageGridOptions {
  rows: number;
  cols: number;
  /** Size of every image. */
  width: number;
  height: number;
  /** Pixels between images and around the grid (default 1). */
  pad?: number;
  /** Value of the padding and of empty tiles (default 1: white). */
  padValue?: number;
  /** Stretch each image to [0, 1] on its own (min -> 0, max -> 1; a constant image -> 0.5). Default false. */
  normalize?: boolean;
}

/**
 * Tiles equal-size single-channel images (filters, digits) row by row into one (H, W) array, for gridToPng in
 * src/io/render.ts. images[k] is (height, width) row-major and lands in tile (k / cols, k % cols); fewer images
 * than rows * cols leave the last tiles as padding.
 */
export function imageGrid(
  images: ArrayLike<number>[],
  o: ImageGridOptions,
): { pixels: Float32Array; width: number; height: number } {
  const fn = 'imageGrid';
  const pad = o.pad ?? 1;
  for (const [k, v, min] of [
    ['rows', o.rows, 1],
    ['cols', o.cols, 1],
    ['width', o.width, 1],
    ['height', o.height, 1],
    ['pad', pad, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${fn}: ${k} ${v} must be a whole number >= ${min}`);
  }
  if (images.length > o.rows * o.cols) {
    throw new Error(`${fn}: ${images.length} images do not fit in ${o.rows} x ${o.cols} tiles; add rows or cols`);
  }
  const size = o.width * o.height;
  const W = o.cols * (o.width + pad) + pad;
  const H = o.rows * (o.height + pad) + pad;
  const out = new Float32Array(W * H).fill(o.padValue ?? 1); // (H, W)
  images.forEach((img, k) => {
    if (img.length !== size) {
      throw new Error(`${fn}: image ${k} has ${img.length} pixels, expected ${o.height} x ${o.width} = ${size}`);
    }
    checkFinite(fn, `image ${k}`, img);
    let a = 0;
    let b = 1;
    if (o.normalize) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < size; i++) {
        lo = Math.min(lo, img[i]);
        hi = Math.max(hi, img[i]);
      }
      [a, b] = hi > lo ? [-lo / (hi - lo), 1 / (hi - lo)] : [0.5, 0]; // v -> a + b v
    }
    const top = pad + Math.floor(k / o.cols) * (o.height + pad);
    const left = pad + (k % o.cols) * (o.width + pad);
    for (let r = 0; r < o.height; r++) {
      for (let c = 0; c < o.width; c++) out[(top + r) * W + left + c] = a + b * img[r * o.width + c];
    }
  });
  return { pixels: out, width: W, height: H };
}
