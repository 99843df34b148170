// Compute pipelines, built from the WGSL in shaders/ and described by the WGSL itself.
//
// wgsl_reflect reads each entry point's bindings (to build its bind-group layout) and the layout of its
// uniform struct (so shapes are written by field name, at the offsets the WGSL compiler will use). Pipelines
// are cached by (shader, entry point, override constants), and two requests for the same one while it
// compiles share one compile. A compile or validation error names the shader file, line and column.
// Nothing here records or submits work: see runtime.ts.

import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { SHADERS, type ShaderName } from './shaders.gen.js';

export interface KernelSpec {
  shader: ShaderName;
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
  workgroupSize: [number, number, number];
}

interface ParsedShader {
  module: GPUShaderModule;
  reflect: WgslReflect;
}

function kernelLabel(spec: KernelSpec): string {
  const c = spec.constants;
  const args = c && Object.keys(c).length ? `(${Object.entries(c).map(([k, v]) => `${k}=${v}`).join(',')})` : '';
  return `${spec.shader}:${spec.entry}${args}`;
}

function uniformFields(type: any): Map<string, UniformField> {
  const fields = new Map<string, UniformField>();
  for (const m of type.members ?? []) {
    const t = m.type;
    let scalar: string;
    let count: number;
    if (t.isArray) {
      // Uniform arrays need a 16-byte stride: only array<vec4<T>, N> is used for shapes and strides.
      scalar = t.format?.format?.name ?? t.format?.name;
      if (!/^vec4/.test(t.format?.name ?? '')) throw new Error(`uniform array '${m.name}' must hold vec4s`);
      count = t.count * 4;
    } else if (/^vec[234]/.test(t.name)) {
      scalar = t.format?.name ?? (t.name.endsWith('u') ? 'u32' : t.name.endsWith('i') ? 'i32' : 'f32');
      count = Number(t.name[3]);
    } else {
      scalar = t.name;
      count = 1;
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
  private ready = new Map<string, Kernel>();
  private compiling = new Map<string, Promise<Kernel>>();

  constructor(private device: GPUDevice) {}

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
  parse(name: ShaderName): ParsedShader {
    let s = this.shaders.get(name);
    if (!s) {
      const code = SHADERS[name];
      if (code === undefined) throw new Error(`no shader '${name}': expected shaders/${name}.wgsl`);
      const module = this.device.createShaderModule({ code, label: `shaders/${name}.wgsl` });
      let reflect: WgslReflect;
      try {
        reflect = new WgslReflect(code);
      } catch (e) {
        throw new Error(`shaders/${name}.wgsl could not be parsed: ${(e as Error).message}`);
      }
      s = { module, reflect };
      this.shaders.set(name, s);
    }
    return s;
  }

  private async compile(spec: KernelSpec, label: string): Promise<Kernel> {
    const { module, reflect } = this.parse(spec.shader);
    const entry = reflect.entry.compute.find((e) => e.name === spec.entry);
    if (!entry) {
      const names = reflect.entry.compute.map((e) => e.name).join(', ');
      throw new Error(`shaders/${spec.shader}.wgsl has no compute entry point '${spec.entry}' (it has: ${names})`);
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
      entries.push({ binding: r.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
    }
    const layout = this.device.createBindGroupLayout({ entries, label });
    this.device.pushErrorScope('validation');
    let pipeline: GPUComputePipeline | null = null;
    let failure = '';
    try {
      pipeline = await this.device.createComputePipelineAsync({
        label,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: spec.entry, constants: spec.constants },
      });
    } catch (e) {
      failure = (e as Error).message;
    }
    const scoped = await this.device.popErrorScope();
    if (scoped) failure ||= scoped.message;
    if (!pipeline || failure) throw new Error(await this.describeFailure(spec, module, failure));
    const ws = entry.workgroupSize as unknown as number[] | undefined;
    return {
      label,
      pipeline,
      layout,
      bindings,
      uniform,
      workgroupSize: [ws?.[0] ?? 1, ws?.[1] ?? 1, ws?.[2] ?? 1],
    };
  }

  private async describeFailure(spec: KernelSpec, module: GPUShaderModule, failure: string): Promise<string> {
    const lines = SHADERS[spec.shader].split('\n');
    const info = await module.getCompilationInfo();
    const msgs = info.messages
      .filter((m) => m.type === 'error')
      .map((m) => {
        const src = lines[m.lineNum - 1] ?? '';
        return `shaders/${spec.shader}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}\n    ${src.trim()}`;
      });
    const head = `kernel ${kernelLabel(spec)} failed to build`;
    return msgs.length ? `${head}:\n${msgs.join('\n')}` : `${head}: ${failure}`;
  }
}
