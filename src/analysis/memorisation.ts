// The memorisation check: does a generator hand back networks of its training zoo? For each generated
// network, the distance to its nearest zoo network
//   in weight space: Euclidean, after putting every M2 network's hidden units in canonical order (zoo.ts
//                    canonicalizeM2), so a zoo member with its hidden units permuted is still at distance 0
//   in function space: the fraction of test rows on which the two predict different classes (1 - agreement)
// against the same distances between zoo networks themselves (each to its nearest other member). A network
// counts as a copy when it is closer to its nearest zoo network than a tenth of that network's own distance
// to its nearest other zoo member (COPY_RATIO). Not "closer than any two zoo members are to each other": in
// many dimensions the zoo's average is closer than that to most members, and it copies none of them.
//
// Distances in float64 on the CPU (Iris: 500 x 500 pairs of 43 weights or 50 predictions); predictions on the
// GPU. Networks of any shape (zoo.ts Net: Iris's 'M1' and 'M2', or another dataset's widths).
// Not here: where the networks come from (src/models/samplers.ts).

import { argmax } from '../ops/index.js';
import { scope, tensor } from '../tensor/index.js';
import { canonicalOrder, type Net, netShape, Population, vectorLength } from '../models/zoo.js';
import { checkFinite, type TopLevelSpec } from './figures-base.js';

/** Each network's nearest zoo network, by weights and by predictions. */
export interface NearestZoo {
  weight: Float64Array; // (n) Euclidean distance, canonical hidden-unit order
  weightIndex: Int32Array; // (n) which zoo network
  disagreement: Float64Array; // (n) fraction of test rows predicted differently by the nearest zoo network
  disagreementIndex: Int32Array;
  /** weight over the nearest zoo network's own distance to its nearest other zoo member (0 at distance 0). */
  relative: Float64Array;
}

/** A copy is closer to its nearest zoo network than this fraction of that network's nearest-neighbour distance. */
export const COPY_RATIO = 0.1;

export interface MemorisationResult {
  sets: Record<string, NearestZoo>;
  /** The zoo against itself: each member to its nearest other member. */
  zoo: NearestZoo;
}

export interface MemorisationSummary {
  n: number;
  weightMedian: number;
  disagreementMedian: number; // fraction of test rows
  relativeMedian: number;
  copies: number; // fraction of networks that are copies (relative < COPY_RATIO)
}

/** The predicted class of every network (G, P) on every row x (N, d): (G, N). */
export async function predictions(arch: Net, vectors: Float32Array, x: Float32Array): Promise<Int32Array> {
  const G = vectors.length / vectorLength(arch);
  const pop = new Population(arch, G, null);
  const d = netShape(arch).widths[0]!;
  const xs = tensor(x, [x.length / d, d]);
  try {
    pop.loadVectors(vectors);
    const pred = scope(() => argmax(pop.forward(xs), -1)); // (G, N)
    const p = Int32Array.from(await pred.data());
    pred.dispose();
    return p;
  } finally {
    pop.dispose();
    xs.dispose();
  }
}

/**
 * For each row of a (n, d), the nearest row of b (m, d) by `dist`; with `self`, a and b are the same rows
 * and each row's own is left out.
 */
export function nearest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  d: number,
  dist: (a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number) => number,
  self = false,
): { distance: Float64Array; index: Int32Array } {
  const n = a.length / d;
  const m = b.length / d;
  if (self && m < 2) throw new Error('nearest: a set compared with itself needs 2 or more rows');
  const distance = new Float64Array(n).fill(Infinity);
  const index = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      if (self && i === j) continue;
      const v = dist(a, i, b, j, d);
      if (v < distance[i]!) {
        distance[i] = v;
        index[i] = j;
      }
    }
  }
  return { distance, index };
}

/** Euclidean distance between row i of a and row j of b, in float64. */
export function euclidean(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += (a[i * d + k]! - b[j * d + k]!) ** 2;
  return Math.sqrt(s);
}

/** The fraction of positions where row i of a and row j of b differ (predicted classes). */
export function disagreement(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) if (a[i * d + k] !== b[j * d + k]) s++;
  return s / d;
}

/** Networks as weight space compares them: M2's hidden units in canonical order; M1 as it is. */
export function canonical(arch: Net, vectors: Float32Array): Float32Array {
  return canonicalOrder(arch, vectors);
}

/** Every set's nearest zoo networks, and the zoo's own; xTest (N, d) the rows predictions are compared on. */
export async function memorisation(
  arch: Net,
  sets: Record<string, Float32Array>,
  zoo: Float32Array,
  xTest: Float32Array,
): Promise<MemorisationResult> {
  const P = vectorLength(arch);
  const N = xTest.length / netShape(arch).widths[0]!;
  const zooW = canonical(arch, zoo);
  const zooP = await predictions(arch, zoo, xTest);
  let spacing: Float64Array | null = null; // each zoo network's distance to its nearest other member
  const compare = async (v: Float32Array | null): Promise<NearestZoo> => {
    const w = nearest(v ? canonical(arch, v) : zooW, zooW, P, euclidean, !v);
    const p = nearest(v ? await predictions(arch, v, xTest) : zooP, zooP, N, disagreement, !v);
    spacing ??= w.distance;
    const own = spacing;
    const relative = w.distance.map((d, i) => (d === 0 ? 0 : d / own[w.index[i]!]!));
    return { weight: w.distance, weightIndex: w.index, disagreement: p.distance, disagreementIndex: p.index, relative };
  };
  const zooSelf = await compare(null);
  const out: Record<string, NearestZoo> = {};
  for (const [name, v] of Object.entries(sets)) out[name] = await compare(v);
  return { sets: out, zoo: zooSelf };
}

/** Whether a network is a copy of its nearest zoo network, from its `relative` distance. */
export function isCopy(relative: number): boolean {
  return relative < COPY_RATIO;
}

export function summarise(nz: NearestZoo): MemorisationSummary {
  const n = nz.weight.length;
  let copies = 0;
  for (const r of nz.relative) if (isCopy(r)) copies++;
  return {
    n,
    weightMedian: median(nz.weight),
    disagreementMedian: median(nz.disagreement),
    relativeMedian: median(nz.relative),
    copies: copies / n,
  };
}

export function median(v: ArrayLike<number>): number {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  if (n === 0) throw new Error('median: no values');
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** The name the figure and the table give the zoo's own distances (each member to its nearest other member). */
export const ZOO_REFERENCE = 'zoo to zoo';

/** The two distances the figure shows, as its row headers. */
export const MEASURES = {
  weight: 'weights: distance to the nearest zoo network',
  disagreement: 'predictions: test rows differing from the nearest zoo network (%)',
} as const;

/**
 * A strip plot per distance (rows): one tick per network at its distance to its nearest zoo network, a row
 * of ticks per set, the zoo's own distances first as the reference and each set's median as a black tick.
 * Copies of zoo networks pile up at 0. Each distance has its own x scale.
 */
export function memorisationSpec(r: MemorisationResult, title: string): TopLevelSpec {
  const rows: { set: string; measure: string; value: number }[] = [];
  const sets: [string, NearestZoo][] = [[ZOO_REFERENCE, r.zoo], ...Object.entries(r.sets)];
  for (const [set, nz] of sets) {
    checkFinite('memorisationSpec', `set '${set}' weight`, nz.weight);
    checkFinite('memorisationSpec', `set '${set}' disagreement`, nz.disagreement);
    nz.weight.forEach((v, i) => {
      rows.push({ set, measure: MEASURES.weight, value: v });
      rows.push({ set, measure: MEASURES.disagreement, value: 100 * nz.disagreement[i]! });
    });
  }
  const y = { field: 'set', type: 'nominal', sort: sets.map(([s]) => s), title: null };
  const x = { field: 'value', type: 'quantitative', title: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: rows },
    facet: {
      row: {
        field: 'measure',
        type: 'nominal',
        sort: [MEASURES.weight, MEASURES.disagreement],
        title: null,
        header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontWeight: 'bold' },
      },
    },
    spec: {
      width: 400,
      height: 16 * sets.length,
      layer: [
        {
          mark: { type: 'tick', opacity: 0.25, thickness: 1 },
          encoding: { x, y, color: { field: 'set', legend: null } },
        },
        {
          mark: { type: 'tick', color: 'black', thickness: 2 },
          encoding: { x: { ...x, aggregate: 'median' }, y },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as unknown as TopLevelSpec;
}
