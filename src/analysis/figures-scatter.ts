// Scatter plots: points coloured by group, and the point rows heatmaps draw on top (figures.ts lists every
// figure).

import { type FigureOptions, frame, type TopLevelSpec } from './figures-base.js';

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

export function pointRows(fn: string, points: ScatterPoint[]): { x: number; y: number; group: string }[] {
  return points.map((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      throw new Error(`${fn}: point ${i} is (${p.x}, ${p.y}); a figure needs finite numbers`);
    }
    return { x: p.x, y: p.y, group: String(p.group) };
  });
}

/** Groups in the order they first appear, so colours follow the caller's order. */
export function groupsOf(rows: { group: string }[]): string[] {
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
