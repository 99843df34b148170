// Compute pipelines, built from the WGSL in shaders/ and described by the WGSL itself.
//
// wgsl_reflect reads each entry point's bindings (to build its bind-group layout) and the layout of its
// uniform struct (so shapes are written by field name, at the offsets the WGSL compiler will use). Pipelines
// are cached by (shader, entry point, override constants), and two requests for the same one while it
// compiles share one compile. A compile or validation error names the shader file, line and column: a
// module of shaders/ is shaders/prelude.wgsl followed by the file (esbuild.config.mjs), and each line is
// reported in the file it came from. Nothing here records or submits work: see runtime.ts.

import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { PRELUDE_LINES, SHADERS, type ShaderName } from './shaders.gen.js';

export interface KernelSpec {
  shader: ShaderName | (string & {}); // a file of shaders/, or a name given to register()
  entry: string;
  constants?: Record<string, number>; // WGSL `override` values (e.g. which elementwise op)
}

export type BindingKind = 'uniform' | 'read' | 'read_write';

export interface UniformField {
  offset: number; // bytes
  type: 'u32' | 'i32' | 'f32';
  count: number; // scalars in the field (1, a vector's width, or array length x 4)
}

export interface Kernel {
  label: string; // shader:entry(constants), for errors and the profiler
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  bindings: { name: string; binding: number; kind: BindingKind }[];
  uniform: { binding: number; size: number; fields: Map<string, UniformField> } | null;
}

interface ParsedShader {
  module: GPUShaderModule;
  reflect: WgslReflect;
  // Asked once per module: in Chrome a second getCompilationInfo() on the same module may never resolve.
  info: Promise<GPUCompilationInfo>;
}

/**
 * The file and line that line `line` (1-based) of the module `shader` comes from: shaders/prelude.wgsl for the
 * prelude's lines of a module of shaders/, else the shader's own file (or its registered name).
 */
export function sourceLine(shader: string, line: number): { file: string; line: number } {
  if (!(shader in SHADERS)) return { file: shader, line };
  if (line <= PRELUDE_LINES) return { file: 'shaders/prelude.wgsl', line };
  return { file: `shaders/${shader}.wgsl`, line: line - PRELUDE_LINES };
}

function kernelLabel(spec: KernelSpec): string {
  const c = spec.constants;
  const args =
    c && Object.keys(c).length
      ? `(${Object.entries(c)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')})`
      : '';
  return `${spec.shader}:${spec.entry}${args}`;
}

/** The scalar type and width of a WGSL vector or scalar type: vec4u, vec4<f32>, vec2i, u32, ... */
function scalarOf(t: any): { scalar: string; width: number } {
  const m = /^vec([234])([uif]?)$/.exec(t.name);
  if (!m) return { scalar: t.name, width: 1 };
  const suffix = { u: 'u32', i: 'i32', f: 'f32' }[m[2] as 'u' | 'i' | 'f'];
  return { scalar: suffix ?? t.format?.name, width: Number(m[1]) };
}

function uniformFields(type: any): Map<string, UniformField> {
  const fields = new Map<string, UniformField>();
  for (const m of type.members ?? []) {
    const t = m.type;
    let scalar: string;
    let count: number;
    if (t.isArray) {
      // Uniform arrays need a 16-byte stride: only array<vec4<T>, N> is used for shapes and strides.
      const el = scalarOf(t.format);
      if (el.width !== 4) throw new Error(`uniform array '${m.name}' must hold vec4s (a 16-byte stride)`);
      scalar = el.scalar;
      count = t.count * 4;
    } else {
      const el = scalarOf(t);
      scalar = el.scalar;
      count = el.width;
    }
    if (scalar !== 'u32' && scalar !== 'i32' && scalar !== 'f32') {
      throw new Error(`uniform field '${m.name}' has type ${t.name}: only u32, i32, f32 and their vectors`);
    }
    fields.set(m.name, { offset: m.offset, type: scalar, count });
  }
  return fields;
}

export class KernelCache {
  private shaders = new Map<string, ParsedShader>();
  private extra = new Map<string, string>();
  private ready = new Map<string, Kernel>();
  private compiling = new Map<string, Promise<Kernel>>();

  constructor(private device: GPUDevice) {}

  /** Adds a shader that is not in shaders/ (kernel variants in bench/, tests). */
  register(name: string, code: string): void {
    if (name in SHADERS) throw new Error(`shader '${name}' exists in shaders/; pick another name`);
    if (this.extra.get(name) !== code) {
      this.extra.set(name, code);
      this.shaders.delete(name);
      for (const key of [...this.ready.keys()]) if (key.startsWith(`${name}:`)) this.ready.delete(key);
    }
  }

  private source(name: string): { code: string; file: string } {
    const code = (SHADERS as Record<string, string>)[name] ?? this.extra.get(name);
    if (code === undefined) {
      const why = name === 'prelude' ? ' (shaders/prelude.wgsl is not a module: it heads every module)' : '';
      throw new Error(`no shader '${name}': expected shaders/${name}.wgsl${why}`);
    }
    return { code, file: name in SHADERS ? `shaders/${name}.wgsl` : name };
  }

  /** The kernel if it is compiled already, else undefined (use `get`). */
  peek(spec: KernelSpec): Kernel | undefined {
    return this.ready.get(kernelLabel(spec));
  }

  /** Compiles once; concurrent requests for the same kernel share the compile. */
  get(spec: KernelSpec): Promise<Kernel> {
    const key = kernelLabel(spec);
    const done = this.ready.get(key);
    if (done) return Promise.resolve(done);
    let p = this.compiling.get(key);
    if (!p) {
      p = this.compile(spec, key).then(
        (k) => {
          this.ready.set(key, k);
          this.compiling.delete(key);
          return k;
        },
        (e) => {
          this.compiling.delete(key);
          throw e;
        },
      );
      this.compiling.set(key, p);
    }
    return p;
  }

  /** Parses and reflects a shader's WGSL (cached). */
  parse(name: string): ParsedShader {
    let s = this.shaders.get(name);
    if (!s) {
      const { code, file } = this.source(name);
      const module = this.device.createShaderModule({ code, label: file });
      let reflect: WgslReflect;
      try {
        reflect = new WgslReflect(code);
      } catch (e) {
        const lines = name in SHADERS ? ` (its lines count the ${PRELUDE_LINES} of shaders/prelude.wgsl first)` : '';
        throw new Error(`${file} could not be parsed${lines}: ${(e as Error).message}`);
      }
      s = { module, reflect, info: module.getCompilationInfo() };
      this.shaders.set(name, s);
    }
    return s;
  }

  private async compile(spec: KernelSpec, label: string): Promise<Kernel> {
    const { module, reflect, info: compiled } = this.parse(spec.shader);
    const entry = reflect.entry.compute.find((e) => e.name === spec.entry);
    if (!entry) {
      const names = reflect.entry.compute.map((e) => e.name).join(', ');
      throw new Error(`${this.source(spec.shader).file} has no compute entry point '${spec.entry}' (it has: ${names})`);
    }
    const bindings: Kernel['bindings'] = [];
    let uniform: Kernel['uniform'] = null;
    const entries: GPUBindGroupLayoutEntry[] = [];
    for (const r of entry.resources) {
      if (r.group !== 0) throw new Error(`${label}: binding '${r.name}' is in group ${r.group}; use group 0`);
      let kind: BindingKind;
      if (r.resourceType === 0) {
        kind = 'uniform';
        uniform = { binding: r.binding, size: r.type.size, fields: uniformFields(r.type) };
      } else if (r.resourceType === 1) {
        kind = r.access === 'read' ? 'read' : 'read_write';
      } else {
        throw new Error(`${label}: binding '${r.name}' is not a buffer; compute kernels here use buffers only`);
      }
      bindings.push({ name: r.name, binding: r.binding, kind });
      const type: GPUBufferBindingType =
        kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage';
      // the uniform's offset is dynamic, so that a bind group can be reused across batches (runtime.ts)
      const buffer = { type, hasDynamicOffset: kind === 'uniform' };
      entries.push({ binding: r.binding, visibility: GPUShaderStage.COMPUTE, buffer });
    }
    const layout = this.device.createBindGroupLayout({ entries, label });
    // Shader errors first, with their line and column. (No error scopes here: compiles run concurrently
    // and error scopes are one stack per device.)
    const info = await compiled;
    if (info.messages.some((m) => m.type === 'error')) throw new Error(this.describeFailure(spec, info));
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await this.device.createComputePipelineAsync({
        label,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: spec.entry, constants: spec.constants },
      });
    } catch (e) {
      throw new Error(`kernel ${label} failed to build: ${(e as Error).message}`);
    }
    return { label, pipeline, layout, bindings, uniform };
  }

  private describeFailure(spec: KernelSpec, info: GPUCompilationInfo): string {
    const { code, file } = this.source(spec.shader);
    const lines = code.split('\n');
    const msgs = info.messages
      .filter((m) => m.type === 'error')
      .map((m) => {
        const at = sourceLine(spec.shader, m.lineNum);
        const where = at.file === file ? '' : ` (in the module of ${file})`;
        return `${at.file}:${at.line}:${m.linePos}: ${m.message}${where}\n    ${(lines[m.lineNum - 1] ?? '').trim()}`;
      });
    return `kernel ${kernelLabel(spec)} failed to build:\n${msgs.join('\n')}`;
  }
}
