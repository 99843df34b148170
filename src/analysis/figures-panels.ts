// Panels: several figures side by side under one title, each keeping its own data, scales and legend
// (figures.ts lists every figure). Not here: any one kind of figure.

import type { TopLevelSpec } from './figures-base.js';

type HConcatSpec = Extract<TopLevelSpec, { hconcat: unknown }>;
type Panel = HConcatSpec['hconcat'][number];

/** The spec with its views' names (its own, its layers') prefixed: names must be unique across panels. */
function unique(spec: object, prefix: string): object {
  const s = spec as { name?: string; layer?: object[] };
  return {
    ...s,
    ...(s.name === undefined ? {} : { name: `${prefix}${s.name}` }),
    ...(s.layer ? { layer: s.layer.map((l) => unique(l, prefix)) } : {}),
  };
}

/** The figures in `panels` in one row, left to right, under `title`; their scales and legends stay apart. */
export function panelsSpec(o: { title?: string; panels: TopLevelSpec[] }): TopLevelSpec {
  if (o.panels.length === 0) throw new Error('panelsSpec: no panels given; pass at least one figure');
  let schema: string | undefined;
  const hconcat = o.panels.map((p, i) => {
    const { $schema, ...rest } = p as TopLevelSpec & { $schema?: string };
    schema ??= $schema;
    return unique(rest, `p${i + 1}_`) as Panel;
  });
  return {
    ...(schema ? { $schema: schema } : {}),
    ...(o.title === undefined ? {} : { title: { text: o.title, anchor: 'middle', offset: 12 } }),
    hconcat,
    spacing: 30,
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
  };
}
