// Line plots: one line per series, each with an optional shaded band (figures.ts lists every figure).

import { checkFinite, checkNames, frame } from './figures-base.js';
import type { Encoding, FigureOptions, TopLevelSpec, UnitSpec } from './figures-base.js';

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

const fn = 'lineSpec';

/** Checks one series (lengths, finite values, positive values on a log axis). */
function checkSeries(s: LineSeries, o: LineOptions): void {
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
  }
}

/** The data of the lines and of the bands, a row a point, every series checked. */
function lineRows(o: LineOptions) {
  checkNames(
    fn,
    o.series.map((s) => s.name),
  );
  const rows: { series: string; x: number; y: number }[] = [];
  const bands: { series: string; x: number; lo: number; hi: number }[] = [];
  for (const s of o.series) {
    checkSeries(s, o);
    for (let i = 0; i < s.x.length; i++) {
      rows.push({ series: s.name, x: s.x[i], y: s.y[i] });
      if (s.band) bands.push({ series: s.name, x: s.x[i], lo: s.band.lo[i], hi: s.band.hi[i] });
    }
  }
  return { rows, bands };
}

/** Lines, one per series, each with an optional shaded band: loss curves, accuracy against ensemble size. */
export function lineSpec(o: LineOptions): TopLevelSpec {
  const { rows, bands } = lineRows(o);
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
