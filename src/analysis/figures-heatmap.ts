// Heatmaps: a grid of values as coloured cells, optionally with points on top (figures.ts lists every figure).

import type { ColorScheme } from 'vega';
import { checkFinite, frame } from './figures-base.js';
import type { Encoding, FigureOptions, TopLevelSpec, UnitSpec } from './figures-base.js';
import { groupsOf, pointRows, type ScatterPoint } from './figures-scatter.js';

const fn = 'heatmapSpec';

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
  const nx = o.x.length;
  const ny = o.y.length;
  const ex = cellEdges(o.x, 'x');
  const ey = cellEdges(o.y, 'y');
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
  const scale = o.domain ? { scheme: o.scheme ?? 'viridis', domain: o.domain } : { scheme: o.scheme ?? 'viridis' };
  const layer: UnitSpec[] = [
    {
      name: 'cells',
      data: { values: cellRows(o, ex, ey) },
      mark: { type: 'rect' },
      encoding: {
        x,
        x2: { field: 'x1' },
        y,
        y2: { field: 'y1' },
        color: { field: 'v', type: 'quantitative', title: o.colorTitle ?? null, scale },
      },
    },
  ];
  if (o.points && o.points.length > 0) layer.push(pointsLayer(o, o.points, x, y));
  return {
    ...frame(fn, o, 320, 320),
    layer,
    resolve: { scale: { color: 'independent', shape: 'independent' } },
  };
}

/** One row a cell: its edges (ex, ey from cellEdges) and its value, after checking the values. */
function cellRows(o: HeatmapOptions, ex: number[], ey: number[]) {
  const nx = o.x.length;
  const ny = o.y.length;
  if (o.values.length !== nx * ny) {
    throw new Error(`${fn}: values has ${o.values.length} entries; x and y make a ${ny} x ${nx} grid (${nx * ny})`);
  }
  checkFinite(fn, 'values', o.values);
  const cells: { x0: number; x1: number; y0: number; y1: number; v: number }[] = [];
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++)
      cells.push({ x0: ex[i], x1: ex[i + 1], y0: ey[j], y1: ey[j + 1], v: o.values[j * nx + i] });
  }
  return cells;
}

/** The points drawn over the cells, on the cells' axes, coloured and shaped by group. */
function pointsLayer(o: HeatmapOptions, points: ScatterPoint[], x: Encoding['x'], y: Encoding['y']): UnitSpec {
  const rows = pointRows(fn, points).map((p) => ({ x0: p.x, y0: p.y, group: p.group }));
  const groups = groupsOf(rows);
  return {
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
  };
}
