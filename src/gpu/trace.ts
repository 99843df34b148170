// The dispatch trace: what `Gpu.trace` (runtime.ts) records of each compute dispatch while it is on, as
// plain data a page or a test can print: the kernel's name, the shader module and entry point it comes
// from, the workgroup counts, the buffers bound (by their WGSL names, with the bytes of each bound range)
// and the uniform values, copied at the time of the call. Not here: when tracing is on (runtime.ts), or
// timing (profiler.ts: a trace says what ran, not how long it took).

import type { BufferRef } from './bindgroups.js';
import type { KernelSpec } from './kernels.js';

export interface DispatchTrace {
  /** The dispatch's name, as the profiler's table names it (e.g. matmul_regs, relu). */
  kernel: string;
  /** The shader module: shaders/<module>.wgsl (or a name given to KernelCache.register). */
  module: string;
  /** The entry point in that module. */
  entry: string;
  /** WGSL `override` values the pipeline was built with ({} when none). */
  constants: Record<string, number>;
  /** Workgroups dispatched in x, y, z. */
  workgroups: [number, number, number];
  /** Each storage buffer bound, by its WGSL name, in the order the op gave them; bytes of the bound range. */
  bindings: { name: string; bytes: number }[];
  /** The uniform struct's fields by name (numbers, or arrays of them for vec4 arrays). */
  uniforms: Record<string, number | number[]>;
}

/** One dispatch as a trace entry; copies everything, so later changes by the caller do not show. */
export function traceEntry(
  spec: KernelSpec,
  name: string,
  buffers: Record<string, BufferRef>,
  uniforms: Record<string, number | ArrayLike<number>>,
  groups: [number, number, number],
): DispatchTrace {
  return {
    kernel: name,
    module: spec.shader,
    entry: spec.entry,
    constants: { ...spec.constants },
    workgroups: [groups[0], groups[1], groups[2]],
    bindings: Object.entries(buffers).map(([n, b]) => ({ name: n, bytes: b.size })),
    uniforms: Object.fromEntries(
      Object.entries(uniforms).map(([n, v]) => [n, typeof v === 'number' ? v : Array.from(v)]),
    ),
  };
}
