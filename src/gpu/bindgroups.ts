// The bind groups of dispatches, cached. A training step binds the same pooled buffers to the same kernels
// every time, and creating a bind group cost ~17 us a dispatch in Dawn, a sixth of a small model's step.
// The key is the kernel and every bound range (the uniform's offset is dynamic, so it is not part of it); a
// buffer the pool destroys takes its bind groups with it (`forget`). Not here: which buffers a dispatch
// binds (the op names them; runtime.ts records them).

import type { Kernel } from './kernels.js';

/** A range of a buffer, as bound to a shader. Offsets are multiples of 256 when bound. */
export interface BufferRef {
  buffer: GPUBuffer;
  offset: number; // bytes
  size: number; // bytes
}

export class BindGroupCache {
  private static readonly MAX_GROUPS = 16384;
  private groups = new Map<string, GPUBindGroup>();
  private groupsOf = new Map<GPUBuffer, string[]>();
  private ids = new WeakMap<object, number>();
  private nextId = 0;

  constructor(private readonly device: GPUDevice) {}

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  /** Drops the bind groups that hold `buf` (the pool is destroying it). */
  forget(buf: GPUBuffer): void {
    for (const key of this.groupsOf.get(buf) ?? []) this.groups.delete(key);
    this.groupsOf.delete(buf);
  }

  /** The bind group of kernel `k` with `buffers` bound by name and `uniform` (if it has one) at offset 0. */
  get(k: Kernel, buffers: Record<string, BufferRef>, uniform: GPUBuffer | null): GPUBindGroup {
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
      const ref = buffers[b.name];
      if (!ref) {
        const given = Object.keys(buffers).join(', ');
        throw new Error(
          `${k.label}: no buffer given for binding '${b.name}' (given: ${given}). If the entry point does not ` +
            `use '${b.name}', a function parameter of that name is making wgsl_reflect think it does: rename it.`,
        );
      }
      entries.push({ binding: b.binding, resource: { buffer: ref.buffer, offset: ref.offset, size: ref.size } });
      used.push(ref.buffer);
      key += `|${this.idOf(ref.buffer)}:${ref.offset}:${ref.size}`;
    }
    return this.groups.get(key) ?? this.create(k, key, entries, used);
  }

  private create(k: Kernel, key: string, entries: GPUBindGroupEntry[], used: GPUBuffer[]): GPUBindGroup {
    if (this.groups.size >= BindGroupCache.MAX_GROUPS) {
      this.groups.clear();
      this.groupsOf.clear();
    }
    const group = this.device.createBindGroup({ layout: k.layout, entries });
    this.groups.set(key, group);
    for (const buf of used) {
      const keys = this.groupsOf.get(buf);
      if (keys) keys.push(key);
      else this.groupsOf.set(buf, [key]);
    }
    return group;
  }
}
