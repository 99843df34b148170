// What a benchmark case is: one operation at one shape, implemented three times (ours, TF.js-WebGPU,
// TF.js-wasm) on the same inputs. The harness (harness.ts) times the implementations interleaved and
// compares their first outputs.

import type { Backend, Tf } from './env.js';

export type Contender = 'ours' | Backend;
export type Bound = 'flops' | 'bytes' | 'intensity';

export interface Impl {
  /** The output of the first iteration (which also compiled the kernels), read back in full. */
  first: Float32Array;
  /**
   * Issues one iteration (synchronously: everything the GPU will run is recorded or submitted when it
   * returns) and returns a function that waits until its result has been read back.
   */
  start(): () => Promise<void>;
  dispose(): void;
}

/** Case.minRounds of the rows a target compares with one another. */
export const COMPARED_ROUNDS = 7;

export interface Case {
  op: string;
  shape: string;
  /** Floating-point operations of one iteration, when GFLOP/s means something. */
  flops?: number;
  /**
   * Bytes one iteration must move at least (operands read once, results written once), for the share of
   * the bandwidth roof; absent: the harness sums the storage buffers each of our dispatches binds.
   */
  bytes?: number;
  /**
   * Which roof bounds the case (report.ts): 'flops' (matmul, conv), 'bytes' (elementwise, reductions,
   * optimizers, copies) or 'intensity' (training steps: the row's FLOPs per byte against the ridge).
   */
  bound?: Bound;
  /** Report iterations per second too (training steps). */
  perSecond?: boolean;
  /**
   * At least this many rounds (capped by the run's maximum): rows that a target compares with another row
   * (the convolutions with matmul 1024^3). Their slow TF.js-WebGPU side spends the time budget in 3 rounds,
   * and a median of 3 moves by a third on this shared machine.
   */
  minRounds?: number;
  /** Why a contender is absent or partial, printed under the table. */
  notes?: string[];
  /** Runs the work of our library. Called first: the TF.js sides may use what it sets up. */
  ours(): Promise<Impl>;
  /** TF.js on the given backend (already selected); null when that backend cannot run the case. */
  tf(tf: Tf, backend: Backend): Promise<Impl | null>;
  /**
   * TF.js does only this fraction of the work (measured on a subset, scaled to the whole); its time is
   * divided by it. 1 unless a case says otherwise.
   */
  tfFraction?: number;
}
