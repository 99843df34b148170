// One batch of recorded commands as one command buffer: the uniforms of every dispatch packed into one
// uniform buffer (each at a 256-byte-aligned offset, bound dynamically), the data of every write into one
// staging buffer, the dispatches in compute passes, and, when profiling, two timestamps around each dispatch.
// Uniform values are written by field name at the offsets reflected from the WGSL (kernels.ts), after a
// check of their names, counts and integer ranges. A batch may end with the replay of a captured step
// (capture.ts), which encodes itself into the same command encoder. Not here: recording, the order of
// batches, GPU errors and readback (runtime.ts), or the cache of bind groups (bindgroups.ts).

import type { BindGroupCache, BufferRef } from './bindgroups.js';
import type { Waiter } from './device.js';
import type { Kernel, KernelSpec } from './kernels.js';
import type { BufferPool } from './pool.js';

export type UniformValues = Record<string, number | ArrayLike<number>>;

export type Command =
  | {
      kind: 'dispatch';
      spec: KernelSpec;
      name: string;
      buffers: Record<string, BufferRef>;
      uniforms: UniformValues;
      groups: [number, number, number];
    }
  | { kind: 'write'; dst: BufferRef; data: Uint8Array }
  | { kind: 'copy'; src: BufferRef; dst: BufferRef }
  | { kind: 'replay'; replay: Replayed };

/** One replay of a captured step, as a batch submits it (capture.ts makes them). */
export interface Replayed {
  /** Its dispatches' names, in order (the profiler's rows, errors). */
  readonly names: readonly string[];
  /** Builds the step's pipelines, bind groups and uniform buffer the first time; writes this replay's uniforms. */
  prepare(): Promise<void>;
  /** Encodes the step's commands; its dispatch i takes timestamps `first + i` when timed. */
  encode(enc: GPUCommandEncoder, timing: Timing | null, first: number): void;
  /** After the submit: gives back what prepare() took. */
  done(): void;
}

const UNIFORM_ALIGN = 256;
const WRITE_ALIGN = 16;

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The pooled buffers a batch reads from: its uniforms (offsets[d] for dispatch d) and its writes' data. */
export interface Packed {
  uniforms: GPUBuffer | null;
  offsets: number[];
  staging: GPUBuffer | null;
}

/** Packs the batch's uniforms and writes into pooled buffers (give them back with `releasePacked`). */
export function pack(device: GPUDevice, pool: BufferPool, batch: Command[], kernels: Kernel[]): Packed {
  return { ...packUniforms(device, pool, batch, kernels), staging: packWrites(device, pool, batch) };
}

export function releasePacked(pool: BufferPool, p: Packed): void {
  if (p.uniforms) pool.release(p.uniforms);
  if (p.staging) pool.release(p.staging);
}

function packUniforms(device: GPUDevice, pool: BufferPool, batch: Command[], kernels: Kernel[]) {
  const offsets: number[] = [];
  let total = 0;
  for (const k of kernels) {
    offsets.push(total);
    if (k.uniform) total += align(k.uniform.size, UNIFORM_ALIGN);
  }
  if (!total) return { uniforms: null, offsets };
  const view = new DataView(new ArrayBuffer(total));
  let d = 0;
  for (const cmd of batch) {
    if (cmd.kind !== 'dispatch') continue;
    const k = kernels[d]!;
    if (k.uniform) writeUniforms(view, offsets[d]!, k, cmd.uniforms);
    d++;
  }
  const uniforms = pool.acquire(total, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'uniforms');
  device.queue.writeBuffer(uniforms, 0, view.buffer);
  return { uniforms, offsets };
}

function packWrites(device: GPUDevice, pool: BufferPool, batch: Command[]): GPUBuffer | null {
  let total = 0;
  for (const cmd of batch) if (cmd.kind === 'write') total += align(cmd.data.byteLength, WRITE_ALIGN);
  if (!total) return null;
  const bytes = new Uint8Array(total);
  let s = 0;
  for (const cmd of batch) {
    if (cmd.kind !== 'write') continue;
    bytes.set(cmd.data, s);
    s += align(cmd.data.byteLength, WRITE_ALIGN);
  }
  const buffer = pool.acquire(total, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, 'staging');
  device.queue.writeBuffer(buffer, 0, bytes);
  return buffer;
}

/**
 * Writes a dispatch's uniform values at `base` of `view`, by field name; `partial`: only the fields given
 * (a replay's per-step values), else every field must have one.
 */
export function writeUniforms(view: DataView, base: number, k: Kernel, values: UniformValues, partial = false): void {
  const fields = k.uniform!.fields;
  for (const name of Object.keys(values)) {
    if (!fields.has(name)) throw new Error(`${k.label}: the WGSL uniform struct has no field '${name}'`);
  }
  for (const [name, f] of fields) {
    const v = values[name];
    if (v === undefined && partial) continue;
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

// ---- encoding -------------------------------------------------------------------------------------------

/**
 * Encodes the batch in order: consecutive dispatches share a compute pass (each has its own when timed),
 * writes copy from the staging buffer, copies copy. kernels[d] is the kernel of the batch's dispatch d.
 */
export function encode(
  device: GPUDevice,
  batch: Command[],
  kernels: Kernel[],
  packed: Packed,
  groups: BindGroupCache,
  timing: Timing | null,
): GPUCommandBuffer {
  const enc = device.createCommandEncoder();
  let pass: GPUComputePassEncoder | null = null;
  let s = 0;
  let d = 0; // dispatches of the batch's own
  let t = 0; // timed dispatches, a replay's included
  for (const cmd of batch) {
    if (cmd.kind === 'dispatch') {
      const k = kernels[d]!;
      if (timing) pass?.end();
      pass = timing ? enc.beginComputePass({ timestampWrites: timing.writes(t) }) : (pass ?? enc.beginComputePass());
      pass.setPipeline(k.pipeline);
      const dynamic = k.uniform ? [packed.offsets[d]!] : [];
      pass.setBindGroup(0, groups.get(k, cmd.buffers, packed.uniforms), dynamic);
      pass.dispatchWorkgroups(...cmd.groups);
      d++;
      t++;
      continue;
    }
    pass?.end();
    pass = null;
    if (cmd.kind === 'replay') {
      cmd.replay.encode(enc, timing, t);
      t += cmd.replay.names.length;
    } else if (cmd.kind === 'write') {
      enc.copyBufferToBuffer(packed.staging!, s, cmd.dst.buffer, cmd.dst.offset, cmd.data.byteLength);
      s += align(cmd.data.byteLength, WRITE_ALIGN);
    } else {
      enc.copyBufferToBuffer(cmd.src.buffer, cmd.src.offset, cmd.dst.buffer, cmd.dst.offset, cmd.src.size);
    }
  }
  pass?.end();
  if (timing) timing.resolve(enc);
  return enc.finish();
}

/** The names of the batch's dispatches in the order they are encoded (and timed), a replay's included. */
export function dispatchNames(batch: Command[]): string[] {
  const out: string[] = [];
  for (const cmd of batch) {
    if (cmd.kind === 'dispatch') out.push(cmd.name);
    else if (cmd.kind === 'replay') out.push(...cmd.replay.names);
  }
  return out;
}

// ---- timing ---------------------------------------------------------------------------------------------

/** Timestamp queries around each of n dispatches: a query set, and buffers to resolve and read them. */
export interface Timing {
  writes(d: number): GPUComputePassTimestampWrites;
  resolve(enc: GPUCommandEncoder): void;
  /** Each dispatch's GPU time in ns (once the command buffer is submitted); frees the queries. */
  read(wait: Waiter): Promise<number[]>;
}

export function startTiming(device: GPUDevice, n: number): Timing {
  const set = device.createQuerySet({ type: 'timestamp', count: Math.max(2, 2 * n) });
  const bytes = Math.max(16, 16 * n);
  const resolved = device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  return {
    writes: (d) => ({ querySet: set, beginningOfPassWriteIndex: 2 * d, endOfPassWriteIndex: 2 * d + 1 }),
    resolve(enc) {
      enc.resolveQuerySet(set, 0, 2 * n, resolved, 0);
      enc.copyBufferToBuffer(resolved, 0, read, 0, 16 * n);
    },
    async read(wait) {
      await wait(() => read.mapAsync(GPUMapMode.READ));
      const ts = new BigInt64Array(read.getMappedRange().slice(0));
      read.unmap();
      set.destroy();
      resolved.destroy();
      read.destroy();
      return Array.from({ length: n }, (_, d) => Number(ts[2 * d + 1]! - ts[2 * d]!));
    },
  };
}
