// Accuracy against ensemble size (paper 2, "Ensembles"): `count` ensembles grow one member at a time, each from
// its own block of a pool of generated networks (ensemble e holds networks e * maxSize .. e * maxSize + k - 1 at
// size k), so every network's outputs are computed once and read once, and the ensembles of one size are
// disjoint. Three rules, as ensembleAccuracy in src/models/hypernet-train.ts defines them (majority vote with
// ties to the lowest class, argmax of the summed probabilities, the most confident member's class, the first
// one on a tie); the accumulation here gives the same answers at every size without recounting members.
//
// Bookkeeping on the CPU: the networks' probabilities (the GPU's work) come in from the caller. Browser-safe.
// Not here: drawing (figures-hypernet.ts), files (src/cli).

export type EnsembleRule = 'vote' | 'mean' | 'confident';
export const ENSEMBLE_RULES: readonly EnsembleRule[] = ['vote', 'mean', 'confident'];

/** Mean, population standard deviation, min and max of some values. */
export interface Spread {
  mean: number;
  std: number;
  min: number;
  max: number;
}

export function spread(values: ArrayLike<number>): Spread {
  const n = values.length;
  if (n === 0) throw new Error('spread: no values');
  let s = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    s += values[i]!;
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(v / n), min, max };
}

/** Accuracy of each ensemble at each size, per rule: accuracy[rule][size - 1][ensemble]. */
export interface EnsembleCurvesResult {
  count: number; // ensembles
  maxSize: number; // members of each at the end
  images: number;
  accuracy: Record<EnsembleRule, number[][]>;
}

/** The first of the largest of K values at `at`. */
function argmaxAt(v: ArrayLike<number>, at: number, K: number): number {
  let best = 0;
  for (let j = 1; j < K; j++) if (v[at + j]! > v[at + best]!) best = j;
  return best;
}

/**
 * Grows `count` ensembles of up to `maxSize` members over test images with `labels`: add() network g of the
 * pool (ensemble floor(g / maxSize)) in order within each ensemble; result() once every ensemble is full.
 */
export class EnsembleCurves {
  private readonly N: number;
  private readonly votes: Float64Array[]; // per ensemble (N, K)
  private readonly sums: Float64Array[]; // per ensemble (N, K)
  private readonly bestP: Float64Array[]; // per ensemble (N): the most confident member's probability so far
  private readonly bestK: Int32Array[]; // per ensemble (N): its class
  private readonly size: Int32Array; // members so far, per ensemble
  private readonly acc: Record<EnsembleRule, number[][]>;

  constructor(
    private readonly labels: Int32Array,
    private readonly K: number,
    readonly count: number,
    readonly maxSize: number,
  ) {
    for (const [k, v] of [
      ['count', count],
      ['maxSize', maxSize],
      ['classes', K],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`EnsembleCurves: ${k} ${v} must be a whole number >= 1`);
    }
    this.N = labels.length;
    const per = (make: () => Float64Array) => Array.from({ length: count }, make);
    this.votes = per(() => new Float64Array(this.N * K));
    this.sums = per(() => new Float64Array(this.N * K));
    this.bestP = per(() => new Float64Array(this.N).fill(-1));
    this.bestK = Array.from({ length: count }, () => new Int32Array(this.N));
    this.size = new Int32Array(count);
    const table = () => Array.from({ length: maxSize }, () => new Array<number>(count).fill(Number.NaN));
    this.acc = { vote: table(), mean: table(), confident: table() };
  }

  /** Network g of the pool, its probabilities (N, K) starting at `at` of probs. */
  add(g: number, probs: ArrayLike<number>, at = 0): void {
    const { N, K } = this;
    const e = Math.floor(g / this.maxSize);
    if (!Number.isInteger(g) || g < 0 || e >= this.count) {
      throw new Error(`EnsembleCurves.add: network ${g} is outside the pool of ${this.count} x ${this.maxSize}`);
    }
    if (g % this.maxSize !== this.size[e]) {
      throw new Error(
        `EnsembleCurves.add: network ${g} is member ${g % this.maxSize} of ensemble ${e}, which holds ` +
          `${this.size[e]}: add each ensemble's networks in order`,
      );
    }
    if (probs.length < at + N * K) {
      throw new Error(`EnsembleCurves.add: ${probs.length - at} probabilities from ${at}, expected N x K = ${N * K}`);
    }
    const [votes, sums, bestP, bestK] = [this.votes[e]!, this.sums[e]!, this.bestP[e]!, this.bestK[e]!];
    const right = { vote: 0, mean: 0, confident: 0 };
    for (let i = 0; i < N; i++) {
      const p = at + i * K;
      const k = argmaxAt(probs, p, K);
      votes[i * K + k]! += 1;
      for (let j = 0; j < K; j++) sums[i * K + j]! += probs[p + j]!;
      if (probs[p + k]! > bestP[i]!) {
        bestP[i] = probs[p + k]!;
        bestK[i] = k;
      }
      const y = this.labels[i];
      if (argmaxAt(votes, i * K, K) === y) right.vote++;
      if (argmaxAt(sums, i * K, K) === y) right.mean++;
      if (bestK[i] === y) right.confident++;
    }
    const s = this.size[e]!;
    for (const r of ENSEMBLE_RULES) this.acc[r][s]![e] = right[r] / N;
    this.size[e] = s + 1;
  }

  result(): EnsembleCurvesResult {
    const short = [...this.size].findIndex((s) => s !== this.maxSize);
    if (short >= 0) {
      throw new Error(
        `EnsembleCurves.result: ensemble ${short} holds ${this.size[short]} of ${this.maxSize} networks; add the rest first`,
      );
    }
    return { count: this.count, maxSize: this.maxSize, images: this.N, accuracy: this.acc };
  }
}
