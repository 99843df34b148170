// Histograms: several series binned on one shared x scale, overlaid or faceted (figures.ts lists every figure).

import {
  checkFinite,
  checkNames,
  type FigureOptions,
  frame,
  type TopLevelSpec,
  type UnitSpec,
} from './figures-base.js';

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
      y: {
        field: 'y',
        type: 'quantitative',
        title: o.yTitle ?? (o.normalize ? 'fraction' : 'count'),
        stack: null,
        ...(o.normalize ? {} : { axis: { tickMinStep: 1 } }), // counts are whole: no tick at 0.5
      },
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
