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
// Limits are checked where the work is asked for, synchronously: a buffer over the device's maxBufferSize
// or maxStorageBufferBindingSize (pool.ts), a workgroup count over maxComputeWorkgroupsPerDimension. A
// dispatch of zero workgroups is never encoded. Once the device is lost (GPUDevice.lost: a driver reset,
// device.destroy()), every later call fails with one error that says so, instead of a readback that hangs
// or fails with an empty message.

import { type AdapterReport, requestDevice, type Waiter } from './device.js';
import { type Kernel, KernelCache, type KernelSpec } from './kernels.js';
import { BufferPool } from './pool.js';
import { Profiler } from './profiler.js';

/** A range of a buffer, as bound to a shader. Offsets are multiples of 256 when bound. */
export interface BufferRef {
  buffer: GPUBuffer;
  offset: number; // bytes
  size: number; // bytes
}

export type UniformValues = Record<string, number | ArrayLike<number>>;

type Command =
  | {
      kind: 'dispatch';
      spec: KernelSpec;
      name: string;
      buffers: Record<string, BufferRef>;
      uniforms: UniformValues;
      groups: [number, number, number];
    }
  | { kind: 'write'; dst: BufferRef; data: Uint8Array }
  | { kind: 'copy'; src: BufferRef; dst: BufferRef };

// STORAGE | COPY_SRC | COPY_DST, as numbers: in Node the GPUBufferUsage global exists only once Dawn is loaded.
export const STORAGE_USAGE = 0x80 | 0x4 | 0x8;
const UNIFORM_ALIGN = 256;

export class Gpu {
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  readonly profiler = new Profiler();
  /** Submit after this many recorded commands even without a readback. */
  maxBatch = 1024;
  private commands: Command[] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private profiling = false;
  /** Set once the device is lost; from then on every call throws it. */
  private lostError: Error | null = null;
  /** Rejects with lostError when the device is lost (raced against every wait on the GPU). */
  private readonly lostSignal: Promise<never>;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
    private readonly wait: Waiter,
  ) {
    this.pool = new BufferPool(device, Math.min(device.limits.maxBufferSize * 4, 8 * 2 ** 30));
    this.kernels = new KernelCache(device);
    this.pool.onDestroy = (buf) => this.forgetBindGroups(buf);
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

  static async create(): Promise<Gpu> {
    const { device, report, wait } = await requestDevice();
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
    this.record({ kind: 'dispatch', spec, name: name ?? `${spec.shader}:${spec.entry}`, buffers, uniforms, groups });
  }

  /** Records a write of `data` into `dst` (copied now, so the caller may reuse its array). */
  write(dst: BufferRef, data: ArrayBufferView): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    if (bytes.byteLength % 4 || dst.offset % 4) throw new Error('writes must be whole 4-byte words');
    if (bytes.byteLength > dst.size) throw new Error(`write of ${bytes.byteLength} bytes into ${dst.size}`);
    if (bytes.byteLength) this.record({ kind: 'write', dst, data: bytes });
  }

  /** Records a buffer-to-buffer copy of src.size bytes. */
  copy(src: BufferRef, dst: BufferRef): void {
    if (src.size > dst.size) throw new Error(`copy of ${src.size} bytes into ${dst.size}`);
    if (src.size) this.record({ kind: 'copy', src, dst });
  }

  private record(cmd: Command): void {
    if (this.lostError) throw this.lostError;
    this.commands.push(cmd);
    if (this.commands.length >= this.maxBatch) this.submitPending(); // its errors wait for the next flush
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
      const uniforms = this.packUniforms(batch, kernels);
      const staging = this.packWrites(batch);
      this.device.pushErrorScope('validation');
      this.device.pushErrorScope('out-of-memory');
      const enc = this.device.createCommandEncoder();
      // Only a batch with dispatches is timed: resolving 0 queries makes Dawn encode a conversion
      // dispatch of 0 workgroups (its "workgroup count of 0 is unusual" warning, seen with --profile).
      const timing = this.profiling && batch.some((c) => c.kind === 'dispatch') ? this.startTiming(batch) : null;
      let pass: GPUComputePassEncoder | null = null;
      let u = 0;
      let s = 0;
      let d = 0;
      for (const cmd of batch) {
        if (cmd.kind === 'dispatch') {
          const k = kernels[d]!;
          if (timing) {
            pass?.end();
            pass = enc.beginComputePass({
              timestampWrites: {
                querySet: timing.set,
                beginningOfPassWriteIndex: 2 * d,
                endOfPassWriteIndex: 2 * d + 1,
              },
            });
          } else {
            pass ??= enc.beginComputePass();
          }
          pass.setPipeline(k.pipeline);
          const dynamic = k.uniform ? [uniforms.offsets[d]!] : [];
          pass.setBindGroup(0, this.bindGroup(k, cmd, uniforms.buffer), dynamic);
          pass.dispatchWorkgroups(...cmd.groups);
          d++;
        } else {
          pass?.end();
          pass = null;
          if (cmd.kind === 'write') {
            enc.copyBufferToBuffer(staging!, s, cmd.dst.buffer, cmd.dst.offset, cmd.data.byteLength);
            s += align(cmd.data.byteLength, 16);
          } else {
            enc.copyBufferToBuffer(cmd.src.buffer, cmd.src.offset, cmd.dst.buffer, cmd.dst.offset, cmd.src.size);
          }
        }
        u++;
      }
      pass?.end();
      if (timing) enc.resolveQuerySet(timing.set, 0, 2 * d, timing.resolve, 0);
      if (timing) enc.copyBufferToBuffer(timing.resolve, 0, timing.read, 0, 16 * d);
      this.device.queue.submit([enc.finish()]);
      if (uniforms.buffer) this.pool.release(uniforms.buffer);
      if (staging) this.pool.release(staging);
      const oom = await this.device.popErrorScope();
      const invalid = await this.device.popErrorScope();
      const err = invalid ?? oom;
      if (err) {
        const names = [...new Set(kernels.map((k) => k.label))].join(', ');
        throw new Error(`GPU error in a batch of ${u} commands (kernels: ${names}): ${err.message}`);
      }
      if (timing) await this.finishTiming(batch, timing, d);
    } catch (e) {
      this.failure ??= this.lostError ?? (e as Error);
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

  private packUniforms(batch: Command[], kernels: Kernel[]): { buffer: GPUBuffer | null; offsets: number[] } {
    const offsets: number[] = [];
    let total = 0;
    for (const k of kernels) {
      offsets.push(total);
      if (k.uniform) total += align(k.uniform.size, UNIFORM_ALIGN);
    }
    if (!total) return { buffer: null, offsets };
    const bytes = new ArrayBuffer(total);
    const view = new DataView(bytes);
    let d = 0;
    for (const cmd of batch) {
      if (cmd.kind !== 'dispatch') continue;
      const k = kernels[d]!;
      if (k.uniform) writeUniforms(view, offsets[d]!, k, cmd.uniforms);
      d++;
    }
    const buffer = this.pool.acquire(total, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'uniforms');
    this.device.queue.writeBuffer(buffer, 0, bytes);
    return { buffer, offsets };
  }

  private packWrites(batch: Command[]): GPUBuffer | null {
    let total = 0;
    for (const cmd of batch) if (cmd.kind === 'write') total += align(cmd.data.byteLength, 16);
    if (!total) return null;
    const bytes = new Uint8Array(total);
    let s = 0;
    for (const cmd of batch) {
      if (cmd.kind !== 'write') continue;
      bytes.set(cmd.data, s);
      s += align(cmd.data.byteLength, 16);
    }
    const buffer = this.pool.acquire(total, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, 'staging');
    this.device.queue.writeBuffer(buffer, 0, bytes);
    return buffer;
  }

  // Bind groups are cached: a training step binds the same pooled buffers to the same kernels every time,
  // and creating a bind group cost ~17 us a dispatch in Dawn, a sixth of a small model's step. The key is
  // the kernel and every bound range (the uniform's offset is dynamic, so it is not part of it); a buffer
  // the pool destroys takes its bind groups with it.
  private groups = new Map<string, GPUBindGroup>();
  private groupsOf = new Map<GPUBuffer, string[]>();
  private ids = new WeakMap<object, number>();
  private nextId = 0;
  private static readonly MAX_GROUPS = 16384;

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  private forgetBindGroups(buf: GPUBuffer): void {
    for (const key of this.groupsOf.get(buf) ?? []) this.groups.delete(key);
    this.groupsOf.delete(buf);
  }

  private bindGroup(k: Kernel, cmd: Extract<Command, { kind: 'dispatch' }>, uniform: GPUBuffer | null): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [];
    const used: GPUBuffer[] = [];
    let key = String(this.idOf(k));
    for (const b of k.bindings) {
      if (b.kind === 'uniform') {
        entries.push({ binding: b.binding, resource: { buffer: uniform!, offset: 0, size: k.uniform!.size } });
        used.push(uniform!);
        key += `|u${this.idOf(uniform!)}`;
        continue;
      }
      const ref = cmd.buffers[b.name];
      if (!ref) {
        const given = Object.keys(cmd.buffers).join(', ');
        throw new Error(
          `${k.label}: no buffer given for binding '${b.name}' (given: ${given}). If the entry point does not ` +
            `use '${b.name}', a function parameter of that name is making wgsl_reflect think it does: rename it.`,
        );
      }
      entries.push({ binding: b.binding, resource: { buffer: ref.buffer, offset: ref.offset, size: ref.size } });
      used.push(ref.buffer);
      key += `|${this.idOf(ref.buffer)}:${ref.offset}:${ref.size}`;
    }
    let group = this.groups.get(key);
    if (group) return group;
    if (this.groups.size >= Gpu.MAX_GROUPS) {
      this.groups.clear();
      this.groupsOf.clear();
    }
    group = this.device.createBindGroup({ layout: k.layout, entries });
    this.groups.set(key, group);
    for (const buf of used) {
      const keys = this.groupsOf.get(buf);
      if (keys) keys.push(key);
      else this.groupsOf.set(buf, [key]);
    }
    return group;
  }

  // ---- profiling ------------------------------------------------------------------------------------

  private startTiming(batch: Command[]) {
    const n = batch.filter((c) => c.kind === 'dispatch').length;
    const set = this.device.createQuerySet({ type: 'timestamp', count: Math.max(2, 2 * n) });
    const bytes = Math.max(16, 16 * n);
    const resolve = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    return { set, resolve, read };
  }

  private async finishTiming(batch: Command[], t: ReturnType<Gpu['startTiming']>, n: number): Promise<void> {
    await this.wait(() => t.read.mapAsync(GPUMapMode.READ));
    const ts = new BigInt64Array(t.read.getMappedRange().slice(0));
    t.read.unmap();
    let d = 0;
    for (const cmd of batch) {
      if (cmd.kind !== 'dispatch') continue;
      if (d < n) this.profiler.record(cmd.name, Number(ts[2 * d + 1]! - ts[2 * d]!));
      d++;
    }
    t.set.destroy();
    t.resolve.destroy();
    t.read.destroy();
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

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function writeUniforms(view: DataView, base: number, k: Kernel, values: UniformValues): void {
  const fields = k.uniform!.fields;
  for (const name of Object.keys(values)) {
    if (!fields.has(name)) throw new Error(`${k.label}: the WGSL uniform struct has no field '${name}'`);
  }
  for (const [name, f] of fields) {
    const v = values[name];
    if (v === undefined) throw new Error(`${k.label}: uniform field '${name}' was not given a value`);
    const arr = typeof v === 'number' ? [v] : v;
    if (arr.length > f.count)
      throw new Error(`${k.label}: uniform '${name}' holds ${f.count} values, got ${arr.length}`);
    for (let i = 0; i < arr.length; i++) {
      const at = base + f.offset + 4 * i;
      const x = arr[i]!;
      const [lo, hi] = f.type === 'u32' ? [0, 2 ** 32] : [-(2 ** 31), 2 ** 31]; // hi excluded
      if (f.type !== 'f32' && (!Number.isInteger(x) || x < lo || x >= hi)) {
        throw new Error(`${k.label}: uniform '${name}' is ${f.type} but was given ${x}`);
      }
      if (f.type === 'f32') view.setFloat32(at, x, true);
      else if (f.type === 'u32') view.setUint32(at, x, true);
      else view.setInt32(at, x, true);
    }
  }
}
