// What every figure of figures.ts shares: the parts of a Vega-Lite spec as types, the frame of a spec (schema,
// title, size), and the checks of its input, which throw an error naming the series and index of what is
// wrong. Not here: any one kind of figure (figures-*.ts).

import type { TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

// The parts of a spec, named here so TypeScript checks each piece against vega-lite's own types.
export type LayerSpec = Extract<TopLevelSpec, { layer: unknown }>;
export type UnitSpec = Extract<LayerSpec['layer'][number], { mark: unknown }>;
export type Encoding = NonNullable<UnitSpec['encoding']>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** What every figure takes: a title and the size of its plotting area in pixels (axes and legend add to it). */
export interface FigureOptions {
  title?: string;
  width?: number;
  height?: number;
}

/** The top of every spec: schema, title and plotting size (the given size, checked, or the figure's default). */
export function frame(fn: string, o: FigureOptions, width: number, height: number) {
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

export function checkFinite(fn: string, what: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new Error(
        `${fn}: ${what}[${i}] is ${values[i]}; a figure needs finite numbers (drop or fix the NaN/Infinity first)`,
      );
    }
  }
}

export function checkNames(fn: string, names: string[]): void {
  if (names.length === 0) throw new Error(`${fn}: no series given; pass at least one`);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n))
      throw new Error(`${fn}: two series are named '${n}'; names label the colours, so make them unique`);
    seen.add(n);
  }
}
