// Tensor: a shape, a dtype and a range of a GPU buffer, plus what autodiff needs (see tape.ts).
//
// Tensors are contiguous, row-major f32 (or i32 for labels and indices). Their memory is owned explicitly:
// `dispose()`, or `scope(fn)`, which disposes every tensor made inside fn that fn does not return or
// `keep()`. Nothing relies on the garbage collector. Storage is reference-counted so that a reshape or a
// detach shares memory with its source and each can be disposed on its own. This file knows nothing of
// any op: storage, scopes and readback only (creation is create.ts, random tensors rng.ts).

import { type BufferRef, gpu, STORAGE_USAGE } from '../gpu/index.js';

export type DType = 'f32' | 'i32';
export type Shape = readonly number[];

/**
 * A buffer range shared by tensors; returned to the pool when its last user lets go. A view is a range
 * inside another Storage (e.g. a parameter inside an optimizer's flat arena) and keeps that one alive.
 */
export class Storage {
  private refs = 1;
  private constructor(
    readonly buffer: GPUBuffer,
    readonly offset: number, // bytes
    readonly bytes: number,
    private readonly parent: Storage | null,
  ) {}

  static allocate(bytes: number, label: string): Storage {
    const buffer = gpu().pool.acquire(Math.max(bytes, 4), STORAGE_USAGE, label);
    return new Storage(buffer, 0, bytes, null);
  }

  /** A range of this storage; offset must be a multiple of 256 to be bound to a shader. */
  view(offset: number, bytes: number): Storage {
    if (offset + bytes > this.bytes)
      throw new Error(`storage view [${offset}, ${offset + bytes}) past ${this.bytes} bytes`);
    return new Storage(this.buffer, this.offset + offset, bytes, this.retain());
  }

  get shared(): boolean {
    return this.refs > 1;
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs > 0) return;
    if (this.parent) this.parent.release();
    else gpu().pool.release(this.buffer);
  }
}

/** What autodiff records for a tensor made by an op. */
export interface GradNode {
  op: string;
  parents: Tensor[];
  /** Given dy, the gradient of each parent (null where a parent needs none). */
  backward: (dy: Tensor) => (Tensor | null)[];
}

let nextId = 0;

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  requiresGrad = false;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  private disposed = false;
  private kept = false;

  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    private store: Storage,
  ) {
    this.size = numel(shape);
    track(this);
  }

  /** An uninitialised tensor. */
  static empty(shape: Shape, dtype: DType = 'f32'): Tensor {
    checkShape(shape);
    return new Tensor([...shape], dtype, Storage.allocate(4 * numel(shape), dtype));
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  get storage(): Storage {
    if (this.disposed) throw new Error(`tensor #${this.id} ${fmtShape(this.shape)} was used after dispose()`);
    return this.store;
  }

  /** The buffer range to bind in a shader. */
  get ref(): BufferRef {
    const s = this.storage;
    return { buffer: s.buffer, offset: s.offset, size: Math.max(4, 4 * this.size) };
  }

  /** A new tensor sharing this one's memory, with another shape of the same size (no autodiff). */
  view(shape: Shape): Tensor {
    checkShape(shape);
    if (numel(shape) !== this.size) {
      throw new Error(`cannot view ${fmtShape(this.shape)} (${this.size} values) as ${fmtShape(shape)}`);
    }
    return new Tensor([...shape], this.dtype, this.storage.retain());
  }

  /** Moves this tensor onto other memory of the same size (the old memory is released). No copy. */
  rebind(storage: Storage): void {
    if (storage.bytes < 4 * this.size) throw new Error(`rebind: ${storage.bytes} bytes for ${this.size} values`);
    const old = this.storage;
    this.store = storage;
    old.release();
  }

  /** The same values, cut from the autodiff graph. */
  detach(): Tensor {
    return this.view(this.shape);
  }

  /** Survive the enclosing scope(s); the caller now owns this tensor. */
  keep(): this {
    this.kept = true;
    untrack(this);
    return this;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.store.release();
    this.node = null;
    untrack(this);
  }

  /** Reads the values back (flushes pending GPU work). */
  async data(): Promise<Float32Array | Int32Array> {
    const bytes = await gpu().read({ ...this.ref, size: 4 * this.size });
    return this.dtype === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes);
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs a tensor of one value, got ${fmtShape(this.shape)}`);
    return (await this.data())[0]!;
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', grad' : ''})`;
  }

  /** @internal for scope(): whether keep() was called. */
  get isKept(): boolean {
    return this.kept;
  }
}

// ---- shapes -----------------------------------------------------------------------------------------

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function fmtShape(shape: Shape): string {
  return `(${shape.join(', ')})`;
}

export function checkShape(shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad shape ${fmtShape(shape)}: sizes must be integers >= 0`);
  }
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

// ---- scopes -----------------------------------------------------------------------------------------

const scopes: Set<Tensor>[] = [];

function track(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

function untrack(t: Tensor): void {
  for (const s of scopes) s.delete(t);
}

function collect(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, out);
  else if (value && typeof value === 'object' && !(value instanceof Promise)) {
    for (const v of Object.values(value)) collect(v, out);
  }
}

function closeScope(made: Set<Tensor>, result: unknown): void {
  const returned = new Set<Tensor>();
  collect(result, returned);
  for (const t of made) if (!returned.has(t) && !t.isKept) t.dispose();
  for (const t of returned) if (made.has(t)) scopes[scopes.length - 1]?.add(t);
}

/**
 * Runs fn and disposes every tensor it created, except those it returns (in an array or object too) and
 * those it keep()s. Returned tensors belong to the enclosing scope. Like tf.tidy.
 */
export function scope<T>(fn: () => T): T {
  if ((fn as any)[Symbol.toStringTag] === 'AsyncFunction') throw new Error('scope(fn): fn is async; use scopeAsync');
  const made = new Set<Tensor>();
  scopes.push(made);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  closeScope(made, result);
  return result;
}

/** scope() for an async fn. Do not run two at once: tensors are tracked by the innermost open scope. */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const made = new Set<Tensor>();
  scopes.push(made);
  let result: T;
  try {
    result = await fn();
  } finally {
    scopes.splice(scopes.lastIndexOf(made), 1);
  }
  closeScope(made, result);
  return result;
}

/** Disposes every tensor in a (nested) array or object. */
export function disposeAll(value: unknown): void {
  const ts = new Set<Tensor>();
  collect(value, ts);
  for (const t of ts) t.dispose();
}
