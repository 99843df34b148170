// What `weightgen hypernet eval` reports about G generated networks, tallied network by network in index
// order: each network's test accuracy (argmax of its probabilities, models/hypernet-train.ts's
// `accuracies`), their mean, population std, min and max, and floor(G / size) disjoint ensembles of `size`
// consecutive networks (0..size-1, size..2 size-1, ...) under the three rules of `ensembleAccuracy`
// (majority vote, mean probabilities, most confident), accumulated by EnsembleCurves in the same order of
// operations, so the numbers are those of the whole (G, N, K) array at once, bit for bit. Networks come in
// blocks of any size (one process's blocks, or a sharded eval's shard files), so the full array is never
// held: memory is the ensembles' (count x N x K) accumulators.
//
// Bookkeeping on the CPU, browser-safe. Not here: computing the probabilities (the GPU's work), files.

import { accuracies, mean } from '../models/hypernet-train.js';
import { EnsembleCurves } from './ensembles.js';

/** eval.json: the accuracy of every network and of the ensembles (their accuracies per ensemble). */
export interface GeneratedEval {
  networks: number;
  images: number;
  accuracy: { mean: number; std: number; min: number; max: number; all: number[] };
  ensembles: { size: number; count: number; vote: number[]; mean: number[]; confident: number[] };
}

export class GeneratedEvalTally {
  private readonly acc: Float64Array; // (G)
  private readonly curves: EnsembleCurves;
  private next = 0; // networks tallied
  readonly size: number;
  readonly count: number;

  /** G networks on test images with `labels`, `classes` classes, ensembles of `ensemble` (at most G). */
  constructor(
    private readonly labels: Int32Array,
    private readonly classes: number,
    readonly networks: number,
    ensemble: number,
  ) {
    if (!Number.isInteger(networks) || networks < 1) throw new Error(`GeneratedEvalTally: ${networks} networks`);
    if (!Number.isInteger(ensemble) || ensemble < 1) throw new Error(`GeneratedEvalTally: ensemble ${ensemble}`);
    this.acc = new Float64Array(networks);
    this.size = Math.min(ensemble, networks);
    this.count = Math.floor(networks / this.size);
    this.curves = new EnsembleCurves(labels, classes, this.count, this.size);
  }

  /** Networks first..first+b-1 with their probabilities (b, N, K); `first` must be the next untallied one. */
  add(first: number, probs: Float32Array): void {
    const N = this.labels.length;
    const K = this.classes;
    const b = probs.length / (N * K);
    if (first !== this.next || !Number.isInteger(b) || b < 1 || first + b > this.networks) {
      throw new Error(
        `GeneratedEvalTally.add: networks ${first}.. (${probs.length} probabilities, ${N} images x ${K} classes) ` +
          `after ${this.next} of ${this.networks} tallied: add whole networks, in order`,
      );
    }
    this.acc.set(accuracies(probs, this.labels, b), first);
    const inEnsembles = this.count * this.size;
    for (let g = first; g < Math.min(first + b, inEnsembles); g++) {
      this.curves.add(g, probs, (g - first) * N * K);
    }
    this.next = first + b;
  }

  result(): GeneratedEval {
    if (this.next !== this.networks) {
      throw new Error(`GeneratedEvalTally.result: ${this.next} of ${this.networks} networks tallied`);
    }
    const acc = this.acc;
    const m = mean(acc);
    const std = Math.sqrt(mean(acc.map((a) => (a - m) ** 2)));
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const a of acc) {
      min = Math.min(min, a);
      max = Math.max(max, a);
    }
    const curves = this.curves.result();
    const last = (rule: 'vote' | 'mean' | 'confident') => [...curves.accuracy[rule][this.size - 1]!];
    return {
      networks: this.networks,
      images: this.labels.length,
      accuracy: { mean: m, std, min, max, all: [...acc] },
      ensembles: {
        size: this.size,
        count: this.count,
        vote: last('vote'),
        mean: last('mean'),
        confident: last('confident'),
      },
    };
  }
}
