// Seeded random numbers, generated on the GPU by Philox-4x32-10 (shaders/rng.wgsl), with a CPU copy of
// the same generator for reference and for CPU-side randomness (shuffles, permutations).
//
// An Rng holds a seed and a stream counter: every call takes the next stream, so a program that makes
// the same calls in the same order gets the same numbers, in Node and in the browser alike.

import { gpu, groups1d } from '../gpu/index.js';
import { type Shape, Tensor } from './tensor.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** [hi, lo] of the 64-bit product of two u32s, from 16-bit halves as in the shader. */
function mulhilo(a: number, b: number): [number, number] {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const t = a1 * b0 + ((a0 * b0) >>> 16);
  const w = (t & 0xffff) + a0 * b1;
  const hi = (a1 * b1 + Math.floor(t / 65536) + Math.floor(w / 65536)) >>> 0;
  return [hi, Math.imul(a, b) >>> 0];
}

/** Philox-4x32-10 of a 4-word counter under a 2-word key. */
export function philox4x32(counter: readonly number[], key: readonly number[]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((x) => x >>> 0) as [number, number, number, number];
  let [k0, k1] = key.map((x) => x >>> 0) as [number, number];
  for (let r = 0; r < 10; r++) {
    const [h0, l0] = mulhilo(M0, c0);
    const [h1, l1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(h1 ^ c1 ^ k0) >>> 0, l1, (h0 ^ c3 ^ k1) >>> 0, l0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

const unit = (x: number) => (x >>> 8) / 16777216;

function gauss(r: readonly number[]): number {
  const u1 = Math.fround(((r[0]! >>> 8) + 1) / 16777216);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * unit(r[1]!));
}

export type Distribution = 'uniform' | 'normal' | 'truncated_normal';

/** CPU reference of value i of a call: what the shader computes, in float64. */
export function referenceValue(
  kind: Distribution,
  seed: number,
  stream: number,
  i: number,
  a: number,
  b: number,
): number {
  const key = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
  if (kind === 'uniform') return a + (b - a) * unit(philox4x32([i, stream, 0, 0], key)[0]);
  if (kind === 'normal') return a + b * gauss(philox4x32([i, stream, 0, 0], key));
  let z = 0;
  for (let attempt = 0; attempt < 64; attempt++) {
    z = gauss(philox4x32([i, stream, 0, attempt], key));
    if (Math.abs(z) < 2) break;
  }
  return a + b * Math.max(-2, Math.min(2, z));
}

export class Rng {
  private stream = 0;

  /** seed: an integer in [0, 2^53). */
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`Rng seed must be an integer >= 0, got ${seed}`);
  }

  /** How many streams have been used: save it to resume the same sequence later. */
  get position(): number {
    return this.stream;
  }

  set position(p: number) {
    this.restore(p);
  }

  /**
   * Sets the position saved by `position`, checking it first. `source` names where it was read from (a
   * checkpoint file), so that the error can say which file is corrupt or from another version.
   */
  restore(p: unknown, source?: string): void {
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0) {
      const got = typeof p === 'string' ? `'${p}'` : String(p);
      throw new Error(
        source
          ? `${source}: the random generator's position is ${got}, expected an integer >= 0: the file is ` +
              'damaged or was written by another version; delete it to start that step over'
          : `Rng position must be an integer >= 0, got ${got}`,
      );
    }
    this.stream = p;
  }

  /** The next stream number (each call uses one). */
  next(): number {
    return this.stream++;
  }

  private generate(kind: Distribution, shape: Shape, a: number, b: number): Tensor {
    const t = Tensor.empty(shape);
    const n = t.size;
    const stream = this.next();
    const seed_lo = this.seed >>> 0;
    const seed_hi = Math.floor(this.seed / 2 ** 32) >>> 0;
    gpu().dispatch(
      { shader: 'rng', entry: `rand_${kind}` },
      { out: t.ref },
      { n, seed_lo, seed_hi, stream, a, b },
      groups1d(n),
      kind,
    );
    return t;
  }

  /** U[low, high). */
  uniform(shape: Shape, low = 0, high = 1): Tensor {
    return this.generate('uniform', shape, low, high);
  }

  normal(shape: Shape, mean = 0, std = 1): Tensor {
    return this.generate('normal', shape, mean, std);
  }

  /** Normal, with draws beyond two standard deviations drawn again (TensorFlow's truncated_normal). */
  truncatedNormal(shape: Shape, mean = 0, std = 1): Tensor {
    return this.generate('truncated_normal', shape, mean, std);
  }

  // ---- CPU side ----

  /** n uniform numbers in [0, 1) on the CPU (one stream). */
  uniformCpu(n: number): Float64Array {
    const stream = this.next();
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = referenceValue('uniform', this.seed, stream, i, 0, 1);
    return out;
  }

  /** A random permutation of 0..n-1 (Fisher-Yates on one stream). */
  permutation(n: number): Int32Array {
    const u = this.uniformCpu(n);
    const p = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(u[i]! * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }

  /** An integer in [low, high). */
  intCpu(low: number, high: number): number {
    return low + Math.floor(this.uniformCpu(1)[0]! * (high - low));
  }
}

let global: Rng | null = null;

/** Re-seeds the default generator (used where no Rng is given, like torch.manual_seed). */
export function manualSeed(seed: number): Rng {
  global = new Rng(seed);
  return global;
}

export function defaultRng(): Rng {
  global ??= new Rng(0);
  return global;
}
