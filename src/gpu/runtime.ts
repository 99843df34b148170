// The GPU runtime: records work, submits it in batches, reads results back.
//
// Ops call `dispatch`, `write` and `copy`; these only append a command to a list, so ops stay synchronous.
// `flush` compiles any kernel not yet built (async, de-duplicated), packs every dispatch's uniforms into one
// uniform buffer and every write into one staging buffer, encodes all commands into ONE command encoder and
// submits it. It runs when something is read back, when `flush()` is called, or when a batch reaches
// `maxBatch` commands. Because every access to a tensor's buffer is such a command, executed in order, a
// buffer given back to the pool can be handed out again at once. Errors of a background flush are thrown
// by the next `flush` or `read`.
//
// Encoding a batch (uniform packing, staging, passes, timestamps) is encode.ts's; bind groups are cached by
// bindgroups.ts.
//
// Limits are checked where the work is asked for, synchronously: a buffer over the device's maxBufferSize
// or maxStorageBufferBindingSize (pool.ts), a workgroup count over maxComputeWorkgroupsPerDimension. A
// dispatch of zero workgroups is never encoded. Once the device is lost (GPUDevice.lost: a driver reset,
// device.destroy()), every later call fails with one error that says so, instead of a readback that hangs
// or fails with an empty message.
//
// Tracing (for pages and tests that show what a step runs): `trace(fn)` returns every dispatch recorded
// while `fn` runs (trace.ts: kernel, module, workgroups, bound buffers with their bytes, uniforms), in the
// order they were recorded; `startTrace()` / `stopTrace()` do the same around any stretch of code. Whatever
// dispatches in that time is traced, including work of other code running meanwhile. When no trace is on,
// a dispatch pays one null check.
//
// Capture (capture.ts): `capture(fn)` runs fn once, recording its commands, and returns a step that
// `replay()`s them without running fn again. A replay is one command of a batch, which counts its
// dispatches towards maxBatch; its dispatches show in a trace and in the profiler as if issued anew.

import { BindGroupCache, type BufferRef } from './bindgroups.js';
import type { CaptureHost, CaptureOptions, CapturedStep } from './capture.js';
import { Recording } from './capture-recording.js';
import { type AdapterReport, requestDevice, type Waiter } from './device.js';
import {
  type Command,
  dispatchNames,
  encode,
  pack,
  type Replayed,
  releasePacked,
  startTiming,
  type UniformValues,
} from './encode.js';
import { type Kernel, KernelCache, type KernelSpec } from './kernels.js';
import { BufferPool } from './pool.js';
import { Profiler } from './profiler.js';
import { type DispatchTrace, traceEntry } from './trace.js';

export type { BufferRef } from './bindgroups.js';
export type { CaptureOptions, CapturedDispatch, CapturedStep, Counter, ReplayOptions } from './capture.js';
export type { UniformValues } from './encode.js';
export type { DispatchTrace } from './trace.js';

// STORAGE | COPY_SRC | COPY_DST, as numbers: in Node the GPUBufferUsage global exists only once Dawn is loaded.
export const STORAGE_USAGE = 0x80 | 0x4 | 0x8;

type Dispatch = Extract<Command, { kind: 'dispatch' }>;

export class Gpu implements CaptureHost {
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  readonly profiler = new Profiler();
  readonly groups: BindGroupCache;
  /** Submit after this many recorded commands even without a readback. */
  maxBatch = 1024;
  private commands: Command[] = [];
  /** Dispatches, writes and copies in `commands`, a replay's included. */
  private pending = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private profiling = false;
  /** The dispatches recorded since startTrace(), or null when no trace is on. */
  private traced: DispatchTrace[] | null = null;
  /** Set once the device is lost; from then on every call throws it. */
  private lostError: Error | null = null;
  /** Rejects with lostError when the device is lost (raced against every wait on the GPU). */
  private readonly lostSignal: Promise<never>;
  /** The capture recording now, if any. */
  private recording: Recording | null = null;
  /** Where a replay's probe sends the dispatches it issues, while it runs. */
  private probing: ((d: Dispatch) => void) | null = null;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
    private readonly wait: Waiter,
  ) {
    this.pool = new BufferPool(device, Math.min(device.limits.maxBufferSize * 4, 8 * 2 ** 30));
    this.kernels = new KernelCache(device);
    this.groups = new BindGroupCache(device);
    this.pool.onDestroy = (buf) => this.groups.forget(buf);
    this.lostSignal = device.lost.then((info) => {
      this.lostError = deviceLostError(info.reason, info.message);
      throw this.lostError;
    });
    this.lostSignal.catch(() => {}); // observed by whoever races it; never an unhandled rejection
  }

  /** Whether the device was lost (every GPU call then throws the error that says so). */
  get isLost(): boolean {
    return this.lostError !== null;
  }

  /** A runtime on the device `options` hand over, or on one it requests (device.ts, GpuOptions). */
  static async create(options: import('./device.js').GpuOptions = {}): Promise<Gpu> {
    const { device, report, wait } = await requestDevice(options);
    return new Gpu(device, report, wait);
  }

  get canProfile(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /** Turns per-kernel GPU timing on or off (timestamp queries; slows every dispatch down). */
  setProfiling(on: boolean): void {
    if (on && !this.canProfile) throw new Error('profiling needs the timestamp-query feature; this adapter lacks it');
    this.profiling = on;
  }

  get isProfiling(): boolean {
    return this.profiling;
  }

  // ---- tracing --------------------------------------------------------------------------------------

  /**
   * Records every dispatch issued from now until stopTrace() (dispatches of zero workgroups, never encoded,
   * are not recorded). One trace at a time: starting a second one is an error.
   */
  startTrace(): void {
    if (this.traced) throw new Error('a dispatch trace is already on: stopTrace() it before starting another');
    this.traced = [];
  }

  /** Ends the trace and returns its dispatches, in the order they were recorded. */
  stopTrace(): DispatchTrace[] {
    const t = this.traced;
    if (!t) throw new Error('stopTrace(): no dispatch trace is on (startTrace() first)');
    this.traced = null;
    return t;
  }

  /** The dispatches recorded while `fn` runs (and, if it returns a promise, until it settles). */
  async trace(fn: () => unknown): Promise<DispatchTrace[]> {
    this.startTrace();
    try {
      await fn();
    } catch (e) {
      this.traced = null;
      throw e;
    }
    return this.stopTrace();
  }

  // ---- recording ------------------------------------------------------------------------------------

  /**
   * Records one compute dispatch. `buffers` and `uniforms` are named as in the WGSL; `groups` is the
   * workgroup count. `name` labels it in the profiler (defaults to the kernel).
   */
  dispatch(
    spec: KernelSpec,
    buffers: Record<string, BufferRef>,
    uniforms: UniformValues,
    groups: [number, number, number],
    name?: string,
  ): void {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (groups.some((g) => g > max || g < 0 || !Number.isInteger(g))) {
      throw new Error(
        `${spec.shader}:${spec.entry}: workgroup count [${groups}] out of range: each must be an integer in ` +
          `0..${max} (this device's maxComputeWorkgroupsPerDimension); spread the work over x and y (groups1d)`,
      );
    }
    if (groups[0] * groups[1] * groups[2] === 0) return;
    const label = name ?? `${spec.shader}:${spec.entry}`;
    if (this.probing) {
      this.probing({ kind: 'dispatch', spec, name: label, buffers, uniforms, groups });
      return;
    }
    if (this.traced) this.traced.push(traceEntry(spec, label, buffers, uniforms, groups));
    this.record({ kind: 'dispatch', spec, name: label, buffers, uniforms, groups });
  }

  /** Records a write of `data` into `dst` (copied now, so the caller may reuse its array). */
  write(dst: BufferRef, data: ArrayBufferView): void {
    if (this.probing) throw new Error("a replay's probe wrote data: a probe may only dispatch (capture.ts)");
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    if (bytes.byteLength % 4 || dst.offset % 4) throw new Error('writes must be whole 4-byte words');
    if (bytes.byteLength > dst.size) throw new Error(`write of ${bytes.byteLength} bytes into ${dst.size}`);
    if (bytes.byteLength) this.record({ kind: 'write', dst, data: bytes });
  }

  /** Records a buffer-to-buffer copy of src.size bytes. */
  copy(src: BufferRef, dst: BufferRef): void {
    if (this.probing) throw new Error("a replay's probe copied a buffer: a probe may only dispatch (capture.ts)");
    if (src.size > dst.size) throw new Error(`copy of ${src.size} bytes into ${dst.size}`);
    if (src.size) this.record({ kind: 'copy', src, dst });
  }

  private record(cmd: Command): void {
    if (this.lostError) throw this.lostError;
    this.recording?.command(cmd);
    this.commands.push(cmd);
    if (++this.pending >= this.maxBatch) this.submitPending(); // its errors wait for the next flush
  }

  // ---- capture (capture.ts) -------------------------------------------------------------------------

  /**
   * Runs `fn` (synchronous) as usual, recording its commands, and returns the step to replay them with.
   * Throws, saying why, if the step cannot be replayed exactly (fn's work has run all the same).
   */
  capture<T>(fn: () => T, options: CaptureOptions = {}): CapturedStep<T> {
    if (this.lostError) throw this.lostError;
    if (this.recording) throw new Error('capture(): a step is being captured already; captures do not nest');
    if ((fn as any)[Symbol.toStringTag] === 'AsyncFunction') throw new Error('capture(fn): fn must be synchronous');
    const rec = new Recording(options);
    this.recording = rec;
    this.pool.observer = rec;
    let value: T;
    try {
      value = fn();
    } finally {
      this.recording = null;
      this.pool.observer = null;
    }
    return rec.finish(value, this);
  }

  /** @internal (CaptureHost) */
  submitReplay(r: Replayed, trace: () => Dispatch[]): void {
    if (this.lostError) throw this.lostError;
    if (this.recording) throw new Error('replay() inside a capture: captures do not nest');
    if (this.traced)
      for (const d of trace()) this.traced.push(traceEntry(d.spec, d.name, d.buffers, d.uniforms, d.groups));
    this.commands.push({ kind: 'replay', replay: r });
    this.pending += r.names.length;
    if (this.pending >= this.maxBatch) this.submitPending();
  }

  /** @internal (CaptureHost) */
  probe(fn: () => void, to: (d: Dispatch) => void): void {
    if (this.probing) throw new Error('a probe ran inside a probe');
    this.probing = to;
    try {
      fn();
    } finally {
      this.probing = null;
    }
  }

  /** @internal (CaptureHost) */
  afterSubmitted(fn: () => void): void {
    this.submitPending();
    this.chain = this.chain.then(() => {
      try {
        fn();
      } catch (e) {
        this.failure ??= e as Error; // the chain itself never rejects: later batches must still run
      }
    });
  }

  // ---- submitting -----------------------------------------------------------------------------------

  /** Submits everything recorded so far. Resolves once it is submitted (not executed). */
  flush(): Promise<void> {
    if (this.lostError) return Promise.reject(this.lostError);
    this.submitPending();
    return this.untilLost(this.chain).then(() => {
      if (this.lostError) throw this.lostError;
      const f = this.failure;
      if (f) {
        this.failure = null;
        throw f;
      }
    });
  }

  private submitPending(): void {
    const batch = this.commands;
    this.commands = [];
    this.pending = 0;
    if (batch.length) this.chain = this.chain.then(() => this.submit(batch));
  }

  /** `p`, or the device-lost error if the device is lost first (a wait on a lost device may never end). */
  private untilLost<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.lostSignal]);
  }

  /** Reads a buffer range back (flushing first). */
  async read(src: BufferRef): Promise<ArrayBuffer> {
    if (this.lostError) throw this.lostError;
    const staging = this.pool.acquire(src.size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    try {
      this.record({ kind: 'copy', src, dst: { buffer: staging, offset: 0, size: staging.size } });
      await this.flush();
      await this.untilLost(this.wait(() => staging.mapAsync(GPUMapMode.READ, 0, src.size)));
      if (this.lostError) throw this.lostError;
      const out = staging.getMappedRange(0, src.size).slice(0);
      staging.unmap();
      return out;
    } catch (e) {
      throw this.lostError ?? e; // a mapAsync on a lost device rejects with an empty message
    } finally {
      this.pool.release(staging);
    }
  }

  /** Waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    await this.flush();
    await this.untilLost(this.wait(() => this.device.queue.onSubmittedWorkDone()));
    if (this.lostError) throw this.lostError;
  }

  private async submit(batch: Command[]): Promise<void> {
    try {
      const kernels = await this.kernelsFor(batch);
      for (const cmd of batch) if (cmd.kind === 'replay') await cmd.replay.prepare();
      const packed = pack(this.device, this.pool, batch, kernels);
      this.device.pushErrorScope('validation');
      this.device.pushErrorScope('out-of-memory');
      // Only a batch with dispatches is timed: resolving 0 queries makes Dawn encode a conversion
      // dispatch of 0 workgroups (its "workgroup count of 0 is unusual" warning, seen with --profile).
      const names = dispatchNames(batch);
      const timing = this.profiling && names.length ? startTiming(this.device, names.length) : null;
      this.device.queue.submit([encode(this.device, batch, kernels, packed, this.groups, timing)]);
      releasePacked(this.pool, packed);
      const oom = await this.device.popErrorScope();
      const invalid = await this.device.popErrorScope();
      const err = invalid ?? oom;
      if (err) {
        const replayed = batch.flatMap((c) => (c.kind === 'replay' ? c.replay.names : []));
        const which = [...new Set([...kernels.map((k) => k.label), ...replayed])].join(', ');
        throw new Error(`GPU error in a batch of ${batch.length} commands (kernels: ${which}): ${err.message}`);
      }
      if (timing) {
        const ns = await timing.read(this.wait);
        names.forEach((name, d) => {
          this.profiler.record(name, ns[d]!);
        });
      }
    } catch (e) {
      this.failure ??= this.lostError ?? (e as Error);
    } finally {
      for (const cmd of batch) if (cmd.kind === 'replay') cmd.replay.done();
    }
  }

  private async kernelsFor(batch: Command[]): Promise<Kernel[]> {
    const out: Kernel[] = [];
    const waits: Promise<void>[] = [];
    for (const cmd of batch) {
      if (cmd.kind !== 'dispatch') continue;
      const i = out.length;
      const k = this.kernels.peek(cmd.spec);
      out.push(k as Kernel);
      if (!k) waits.push(this.kernels.get(cmd.spec).then((kk) => void (out[i] = kk)));
    }
    await Promise.all(waits);
    return out;
  }
}

/** The one error every GPU call gives once the device is lost. */
function deviceLostError(reason: string, message: string): Error {
  const why = `${reason}${message ? `: ${message}` : ''}`;
  return new Error(
    `the GPU device was lost (${why}); training stopped; the last checkpoint on disk is intact (checkpoints ` +
      'are written whole or not at all): run the command again to resume from it, in a new process',
  );
}
