// The toy problem's figure (the hypernetwork paper's Fig. 2a): the mixture f as a heat map, the generator's
// curve G(z) on top as points coloured by z, and the mixture's means marked reached or missed (figures.ts
// lists every figure). The curve and the means are NAMED data sets (TOY_DATA), so a page that embeds the
// spec once can move them with `view.data(name, rows)` while training, without drawing the heat map again.
// Not here: computing f, the curve or which peaks are reached (src/models/toy-mixture.ts).

import { checkFinite } from './figures-base.js';
import type { Encoding, FigureOptions, LayerSpec, TopLevelSpec, UnitSpec } from './figures-base.js';
import { heatmapSpec } from './figures-heatmap.js';

const fn = 'toyCurveSpec';

/** The names of the data sets a page replaces as training goes on. */
export const TOY_DATA = { curve: 'curve', peaks: 'peaks' } as const;

export interface ToyCurveRow {
  y1: number;
  y2: number;
  z: number;
}

export interface ToyPeakRow {
  y1: number;
  y2: number;
  peak: 'reached' | 'missed';
}

export interface ToyCurveOptions extends FigureOptions {
  /** f on a grid, as heatmapSpec takes it: (ny, nx) row-major over the cell centres x (nx) and y (ny). */
  values: ArrayLike<number>;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** The curve's rows (toyCurveRows). */
  curve: ToyCurveRow[];
  /** The mixture's means (toyPeakRows). */
  peaks: ToyPeakRow[];
  /** How near counts as reached, in sigmas (for the legend). */
  radius: number;
}

/** Rows of the curve: points (n, 2) row-major, with the z (n) each came from. */
export function toyCurveRows(points: ArrayLike<number>, z: ArrayLike<number>): ToyCurveRow[] {
  if (points.length !== 2 * z.length) {
    throw new Error(
      `${fn}: ${points.length} curve values (x, y pairs) for ${z.length} values of z; give one pair per z`,
    );
  }
  checkFinite(fn, 'curve', points);
  checkFinite(fn, 'z', z);
  return Array.from(z, (zi, j) => ({ y1: points[2 * j]!, y2: points[2 * j + 1]!, z: zi }));
}

/** Rows of the means: mu (K, 2) row-major, and whether the curve reached each. */
export function toyPeakRows(mu: ArrayLike<number>, reached: readonly boolean[]): ToyPeakRow[] {
  if (mu.length !== 2 * reached.length) {
    throw new Error(
      `${fn}: ${mu.length} mean values (x, y pairs) for ${reached.length} reached flags; give one pair per flag`,
    );
  }
  checkFinite(fn, 'mu', mu);
  return reached.map((r, i) => ({ y1: mu[2 * i]!, y2: mu[2 * i + 1]!, peak: r ? 'reached' : 'missed' }));
}

/**
 * f as a heat map (oranges, as the paper's figure), the curve as small points coloured from blue (z = -1) to
 * green (z = 1) (matplotlib's `winter`, as the paper's), and the means: black crosses where the curve passes
 * near, red dots where it does not.
 */
export function toyCurveSpec(o: ToyCurveOptions): TopLevelSpec {
  if (o.curve.length === 0) throw new Error(`${fn}: the curve has no points`);
  const base = heatmapSpec({ ...o, xTitle: 'y1', yTitle: 'y2', colorTitle: 'f(y)', scheme: 'oranges' }) as LayerSpec;
  const heat = base.layer[0] as UnitSpec;
  // each cell widened by a quarter of a cell to the right and up, under its neighbours: drawn edge to edge,
  // rects leave hairline seams where anti-aliasing blends two cells' edges with the background
  const cells: UnitSpec = {
    ...heat,
    mark: { type: 'rect', clip: true },
    encoding: {
      ...heat.encoding,
      color: { ...heat.encoding!.color, legend: { gradientLength: 150 } } as Encoding['color'],
    },
    transform: [
      { calculate: 'datum.x1 + 0.25 * (datum.x1 - datum.x0)', as: 'x1' },
      { calculate: 'datum.y1 + 0.25 * (datum.y1 - datum.y0)', as: 'y1' },
    ],
  };
  // the heat map's axes (its field names x0, y0 and fixed domains) on the fields of the curve and the means:
  // the layers share the scales, and so the axes, through the domains
  const x = { ...heat.encoding!.x, field: 'y1' } as Encoding['x'];
  const y = { ...heat.encoding!.y, field: 'y2' } as Encoding['y'];
  return {
    ...base,
    layer: [cells, curveLayer(x, y), peaksLayer(x, y, o.radius)],
    datasets: { [TOY_DATA.curve]: o.curve, [TOY_DATA.peaks]: o.peaks },
    resolve: { scale: { color: 'independent', shape: 'independent' } },
  } as TopLevelSpec;
}

/** The curve: small points coloured by z from blue to green. */
function curveLayer(x: Encoding['x'], y: Encoding['y']): UnitSpec {
  return {
    name: 'curve',
    data: { name: TOY_DATA.curve },
    mark: { type: 'circle', size: 9, opacity: 1, clip: true },
    encoding: {
      x,
      y,
      color: {
        field: 'z',
        type: 'quantitative',
        title: 'z',
        scale: { domain: [-1, 1], range: ['#0000ff', '#00ff80'] },
        legend: { gradientLength: 150 },
      },
    },
  };
}

/** The means: reached or missed, by colour and shape (one legend). */
function peaksLayer(x: Encoding['x'], y: Encoding['y'], radius: number): UnitSpec {
  const title = ["a peak's mean", '(reached: the curve', `passes within ${radius} σ)`];
  const domain = ['reached', 'missed'];
  return {
    name: 'peaks',
    data: { name: TOY_DATA.peaks },
    mark: { type: 'point', filled: true, size: 90, stroke: 'white', strokeWidth: 0.75, clip: true },
    encoding: {
      x,
      y,
      color: { field: 'peak', type: 'nominal', title, scale: { domain, range: ['#111111', '#d62728'] } },
      shape: { field: 'peak', type: 'nominal', title, scale: { domain, range: ['cross', 'circle'] } },
    },
  };
}
