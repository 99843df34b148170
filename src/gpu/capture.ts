// Step capture and replay, as CUDA graphs and tinygrad's TinyJit do it: `Gpu.capture(fn)` runs fn once as
// usual (its work is submitted like any other) while recording every command it issues
// (capture-recording.ts); `replay()` then submits the same commands again without running fn: no op code,
// no autodiff, no uniform packing, no bind group lookups. The pipelines, the bind groups and one uniform
// buffer holding every dispatch's uniforms are built at the first replay and reused by every later one.
//
//   const counters = [{ counter: rng, field: 'stream' }];
//   const step = gpu().capture(() => scope(() => {
//     opt.zeroGrad(); const l = model.loss(x, rng); backward(l); opt.step(); return l;
//   }).keep(), { counters, inputs: [x.ref] });             // the first step, run and recorded
//   for (const batch of rest) {
//     assign(x, batch);                                    // the next data, into the same tensor
//     step.replay({ probe: () => opt.step(), inputs: [x.ref] }); // step.value: this step's loss
//   }
//
// What a replay cannot see, and how each is handled:
//  - Buffers. A replay binds the buffers fn bound. The capture pins them in the pool (pool.ts): those fn
//    allocated (its intermediates, released as fn ended) are held for the capture until dispose(); those
//    that existed before (parameters, gradients, optimizer state, inputs) are watched, and a replay after
//    one of them was released refuses, naming the dispatch and the binding.
//  - Data. fn may not write data (a `tensor(...)` inside it): a replay would write the capture's bytes
//    again. Per-step data goes into tensors made before the capture, which the caller `assign`s before
//    each replay; `inputs` names them, and a replay must name the same (a tensor of another shape is another
//    buffer: capture that shape apart). `constantWrites` allows writes whose bytes never change.
//  - Counters. A uniform field fn took from a counter (an Rng's stream: `{ counter: rng, field: 'stream' }`)
//    takes, at each replay, the value the counter holds then (plus its offset within the step), and the
//    counter advances as fn advanced it. A counter that moves without a dispatch taking its value (a draw
//    on the CPU inside fn) refuses the capture: a replay could not repeat it.
//  - Other per-step values. `replay({ probe })` runs probe (e.g. `() => opt.step()`, whose uniforms hold the
//    step count and the learning rate) with its dispatches matched to the captured ones (same kernel, same
//    buffers, same workgroups) and their uniforms replacing the captured ones.
// A replay's new uniform values are copied into the uniform buffer by its own command encoder, ahead of its
// dispatches, so any number of replays can share a batch. A replayed step is thus the same work as the step
// run anew, bit for bit, as long as every value that changes between steps reaches the GPU through one of
// these; anything else (a shape, a mode such as training or evaluation) is fixed at capture: capture each
// variant of a step apart. Not here: encoding a batch (encode.ts) or when batches are submitted (runtime.ts).

import type { BindGroupCache, BufferRef } from './bindgroups.js';
import { type Command, type Replayed, type Timing, type UniformValues, writeUniforms } from './encode.js';
import type { Kernel, KernelCache, KernelSpec } from './kernels.js';
import type { BufferPool } from './pool.js';

/** A counter fn draws values from, such as an Rng (its stream position). */
export interface Counter {
  position: number;
}

export interface CaptureOptions {
  /** Names the step in errors, e.g. "VAE step (batch 16)". */
  label?: string;
  /** Counters fn draws from, and the uniform field each value lands in. */
  counters?: { counter: Counter; field: string }[];
  /** Buffers fn reads that the caller refills between replays; every replay must give the same. */
  inputs?: BufferRef[];
  /** Writes inside fn are constants: replay them with the bytes they had (default: refuse them). */
  constantWrites?: boolean;
}

export interface ReplayOptions {
  /** Issues dispatches that update the uniforms of the captured ones they match (see the header). */
  probe?: () => void;
  /** The input buffers, as given to capture: checked, not substituted. */
  inputs?: BufferRef[];
}

/** A captured dispatch, for the caller's checks. */
export interface CapturedDispatch {
  name: string;
  spec: KernelSpec;
  /** Its uniform values at the capture. */
  uniforms: Readonly<UniformValues>;
  /** The index in `counters` of the counter its uniforms draw from, or null. */
  counter: number | null;
}

type Dispatch = Extract<Command, { kind: 'dispatch' }>;

/** What a capture needs of the runtime (runtime.ts). */
export interface CaptureHost {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  readonly groups: BindGroupCache;
  /** Appends a replay to the recorded commands; `trace` gives its dispatches when a trace is on. */
  submitReplay(r: Replayed, trace: () => Dispatch[]): void;
  /** Runs fn with every dispatch it issues handed to `to` instead of recorded. */
  probe(fn: () => void, to: (d: Dispatch) => void): void;
  /** Runs fn once everything recorded so far has been submitted. */
  afterSubmitted(fn: () => void): void;
}

/** Captured dispatch d drew from counter `counter`, `offset` values after where the counter stood. */
export interface Draw {
  counter: number;
  offset: number;
}

/** Uniform values of captured dispatch d for one replay (some fields, or all). */
type Patch = { d: number; values: UniformValues };

/** What the first replay builds: pipelines, bind groups, the uniform buffer and its bytes, write staging. */
interface Built {
  kernels: Kernel[];
  groups: GPUBindGroup[];
  dynamic: number[][]; // per dispatch: its uniform offset, or none
  offsets: number[];
  bytes: ArrayBuffer; // the uniform buffer's contents, as the latest replay left them
  uniform: GPUBuffer | null;
  staging: GPUBuffer | null; // the bytes of constant writes
}

/** A replay's new uniform values: a staging buffer and where each slot of it goes. */
interface Staged {
  buffer: GPUBuffer;
  copies: { from: number; to: number; size: number }[];
}

const UNIFORM_ALIGN = 256;
const WRITE_ALIGN = 16;
const align = (n: number, a: number) => Math.ceil(n / a) * a;

export class CapturedStep<T> {
  readonly dispatches: readonly CapturedDispatch[];
  private readonly list: Dispatch[];
  private readonly names: string[];
  private built: Promise<Built> | null = null;
  private ready: Built | null = null; // the build, once done (encoding is synchronous)
  private disposed = false;
  /** Replays so far. */
  replays = 0;

  constructor(
    /** What fn returned at the capture; every replay refreshes the tensors in it in place. */
    readonly value: T,
    private readonly commands: readonly Command[],
    private readonly draws: readonly (Draw | null)[],
    private readonly o: CaptureOptions,
    private readonly host: CaptureHost,
    private readonly pinned: readonly GPUBuffer[],
    private readonly watched: readonly GPUBuffer[],
  ) {
    this.list = commands.filter((c): c is Dispatch => c.kind === 'dispatch');
    this.names = this.list.map((c) => c.name);
    this.dispatches = this.list.map((c, d) => ({
      name: c.name,
      spec: c.spec,
      uniforms: c.uniforms,
      counter: draws[d]?.counter ?? null,
    }));
  }

  private get label(): string {
    return this.o.label ? `captured step '${this.o.label}'` : 'captured step';
  }

  /** Records the step again (see the file's header for what changes between replays, and how). */
  replay(o: ReplayOptions = {}): void {
    if (this.disposed) throw new Error(`${this.label}: replay() after dispose()`);
    this.checkInputs(o.inputs ?? []);
    this.checkWatched();
    const patches: Patch[] = [];
    if (o.probe) {
      const matched = new Set<number>();
      this.host.probe(o.probe, (cmd) =>
        patches.push({ d: this.match(cmd, matched), values: copyValues(cmd.uniforms) }),
      );
    }
    (this.o.counters ?? []).forEach(({ counter, field }, i) => {
      const base = counter.position;
      let n = 0;
      this.draws.forEach((w, d) => {
        if (w?.counter !== i) return;
        patches.push({ d, values: { [field]: base + w.offset } });
        n++;
      });
      counter.position = base + n;
    });
    let staged: Staged | null = null;
    this.host.submitReplay(
      {
        names: this.names,
        prepare: async () => void (staged = await this.prepare(patches)),
        encode: (enc, timing, first) => this.encode(enc, timing, first, staged),
        done: () => {
          if (staged) this.host.pool.release(staged.buffer);
          staged = null;
        },
      },
      () => this.traced(patches),
    );
    this.replays++;
  }

  private checkInputs(given: BufferRef[]): void {
    const want = this.o.inputs ?? [];
    const show = (r: BufferRef) => `a '${r.buffer.label}' buffer, bytes ${r.offset}..${r.offset + r.size}`;
    if (given.length !== want.length) {
      throw new Error(`${this.label}: replayed with ${given.length} inputs, captured with ${want.length}`);
    }
    given.forEach((r, i) => {
      if (sameRef(r, want[i]!)) return;
      const shape = r.size !== want[i]!.size ? ' (another size: the shape changed)' : '';
      throw new Error(
        `${this.label}: input ${i} is ${show(r)}${shape}, but the step was captured reading ${show(want[i]!)}. A ` +
          'replay reads the buffers it was captured with: write the new data into the same tensor (assign()), ' +
          'or capture the step again for these inputs',
      );
    });
  }

  private checkWatched(): void {
    for (const buf of this.watched) {
      if (!this.host.pool.isReleased(buf)) continue;
      const at = this.list.findIndex((c) => Object.values(c.buffers).some((r) => r.buffer === buf));
      const c = this.list[at];
      const binding = c ? Object.entries(c.buffers).find(([, r]) => r.buffer === buf)![0] : '';
      const where = c ? `dispatch ${at} (${c.name}) binds as '${binding}'` : 'a write or copy of the step uses';
      throw new Error(
        `${this.label}: a '${buf.label}' buffer of ${buf.size} bytes that ${where} was released after the ` +
          'capture (the tensor holding it was disposed or replaced): a replay would use memory that is no ' +
          "longer the step's. Capture the step again with what it uses now (and dispose this capture)",
      );
    }
  }

  /** The index of the captured dispatch a probe's dispatch matches. */
  private match(cmd: Dispatch, matched: Set<number>): number {
    const d = this.list.findIndex(
      (c, i) =>
        !matched.has(i) &&
        sameSpec(c.spec, cmd.spec) &&
        Object.keys(c.buffers).length === Object.keys(cmd.buffers).length &&
        Object.entries(c.buffers).every(([n, r]) => cmd.buffers[n] !== undefined && sameRef(r, cmd.buffers[n]!)),
    );
    if (d < 0) {
      throw new Error(
        `${this.label}: the probe dispatched ${cmd.name} with buffers the step was not captured with (or more ` +
          'often than the step did): a probe repeats dispatches of the step, on the same buffers',
      );
    }
    const c = this.list[d]!;
    if (c.groups.some((g, i) => g !== cmd.groups[i])) {
      throw new Error(
        `${this.label}: the probe dispatched ${cmd.name} with workgroups [${cmd.groups}], captured with ` +
          `[${c.groups}]: a shape changed; capture the step again for the new shape`,
      );
    }
    matched.add(d);
    return d;
  }

  private traced(patches: Patch[]): Dispatch[] {
    const out = this.list.map((c) => ({ ...c, uniforms: { ...c.uniforms } }));
    for (const p of patches) Object.assign(out[p.d]!.uniforms, p.values);
    return out;
  }

  // ---- at submit time ---------------------------------------------------------------------------------

  /** Builds the step the first time; stages this replay's uniform values (applied in submit order). */
  private async prepare(patches: Patch[]): Promise<Staged | null> {
    if (!this.built) {
      this.built = this.build();
      const b = await this.built;
      if (b.uniform) this.host.device.queue.writeBuffer(b.uniform, 0, b.bytes); // the captured values
    }
    const b = await this.built;
    this.ready = b;
    if (!patches.length) return null;
    const view = new DataView(b.bytes);
    const slots = new Set<number>();
    for (const p of patches) {
      writeUniforms(view, b.offsets[p.d]!, b.kernels[p.d]!, p.values, true);
      slots.add(p.d);
    }
    const copies: Staged['copies'] = [];
    let total = 0;
    for (const d of slots) {
      const size = b.kernels[d]!.uniform!.size;
      copies.push({ from: total, to: b.offsets[d]!, size });
      total += align(size, WRITE_ALIGN);
    }
    const bytes = new Uint8Array(total);
    for (const c of copies) bytes.set(new Uint8Array(b.bytes, c.to, c.size), c.from);
    const buffer = this.host.pool.acquire(total, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, 'replay uniforms');
    this.host.device.queue.writeBuffer(buffer, 0, bytes);
    return { buffer, copies };
  }

  private async build(): Promise<Built> {
    const { pool } = this.host;
    const kernels = await Promise.all(this.list.map((c) => this.host.kernels.get(c.spec)));
    const offsets: number[] = [];
    let total = 0;
    for (const k of kernels) {
      offsets.push(total);
      if (k.uniform) total += align(k.uniform.size, UNIFORM_ALIGN);
    }
    const bytes = new ArrayBuffer(total);
    const view = new DataView(bytes);
    kernels.forEach((k, d) => {
      if (k.uniform) writeUniforms(view, offsets[d]!, k, this.list[d]!.uniforms);
    });
    const usage = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    const uniform = total ? pool.acquire(total, usage, 'captured uniforms') : null;
    const groups = kernels.map((k, d) => this.host.groups.get(k, this.list[d]!.buffers, uniform));
    const dynamic = kernels.map((k, d) => (k.uniform ? [offsets[d]!] : []));
    return { kernels, groups, dynamic, offsets, bytes, uniform, staging: this.stageWrites() };
  }

  /** The bytes of the step's (constant) writes, in one staging buffer, in order. */
  private stageWrites(): GPUBuffer | null {
    const writes = this.commands.filter((c) => c.kind === 'write');
    if (!writes.length) return null;
    const bytes = new Uint8Array(writes.reduce((s, w) => s + align(w.data.byteLength, WRITE_ALIGN), 0));
    let at = 0;
    for (const w of writes) {
      bytes.set(w.data, at);
      at += align(w.data.byteLength, WRITE_ALIGN);
    }
    const usage = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const buf = this.host.pool.acquire(bytes.byteLength, usage, 'captured writes');
    this.host.device.queue.writeBuffer(buf, 0, bytes);
    return buf;
  }

  /** Encodes this replay: its new uniform values into the uniform buffer, then the captured commands. */
  private encode(enc: GPUCommandEncoder, timing: Timing | null, first: number, staged: Staged | null): void {
    const b = this.ready!;
    for (const c of staged?.copies ?? []) enc.copyBufferToBuffer(staged!.buffer, c.from, b.uniform!, c.to, c.size);
    let pass: GPUComputePassEncoder | null = null;
    let pipeline: GPUComputePipeline | null = null;
    let d = 0;
    let s = 0;
    for (const cmd of this.commands) {
      if (cmd.kind === 'dispatch') {
        const k = b.kernels[d]!;
        if (timing || !pass) {
          pass?.end();
          pass = enc.beginComputePass(timing ? { timestampWrites: timing.writes(first + d) } : undefined);
          pipeline = null;
        }
        if (k.pipeline !== pipeline) pass.setPipeline((pipeline = k.pipeline));
        pass.setBindGroup(0, b.groups[d]!, b.dynamic[d]!);
        pass.dispatchWorkgroups(...cmd.groups);
        d++;
        continue;
      }
      pass?.end();
      pass = null;
      if (cmd.kind === 'write') {
        enc.copyBufferToBuffer(b.staging!, s, cmd.dst.buffer, cmd.dst.offset, cmd.data.byteLength);
        s += align(cmd.data.byteLength, WRITE_ALIGN);
      } else if (cmd.kind === 'copy') {
        enc.copyBufferToBuffer(cmd.src.buffer, cmd.src.offset, cmd.dst.buffer, cmd.dst.offset, cmd.src.size);
      }
    }
    pass?.end();
  }

  /**
   * Lets go of the buffers the step held (they return to the pool once no other capture holds them). A
   * replay recorded before still runs; the tensors in `value` stay the caller's to dispose.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const buf of this.pinned) this.host.pool.unpin(buf);
    this.host.afterSubmitted(() => {
      const b = this.ready;
      if (b?.uniform) this.host.pool.release(b.uniform);
      if (b?.staging) this.host.pool.release(b.staging);
    });
  }
}

function sameRef(a: BufferRef, b: BufferRef): boolean {
  return a.buffer === b.buffer && a.offset === b.offset && a.size === b.size;
}

function sameSpec(a: KernelSpec, b: KernelSpec): boolean {
  if (a.shader !== b.shader || a.entry !== b.entry) return false;
  const ka = Object.entries(a.constants ?? {});
  return ka.length === Object.keys(b.constants ?? {}).length && ka.every(([k, v]) => b.constants?.[k] === v);
}

function copyValues(u: UniformValues): UniformValues {
  const out: UniformValues = {};
  for (const [k, v] of Object.entries(u)) out[k] = typeof v === 'number' ? v : Array.from(v);
  return out;
}
