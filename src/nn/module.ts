// Modules: named parameters, child modules, a PyTorch-style state dict ("0.weight", "enc.1.bias"), and a
// train/eval flag that children follow. A module owns its parameters: dispose() frees them. Not here:
// any layer (layers.ts) or optimizer (src/optim).
//
// Loading is strict, as PyTorch's: every parameter and buffer must be there with its shape, and nothing
// else, except buffers registered as optional (state added in a later version, e.g. batch norm's
// num_batches_tracked: older state dicts load without it). Errors name the source (a file), the tensor,
// both shapes, and what to do.

import { assign } from '../tensor/create.js';
import { fmtShape, requireGrad, type Tensor } from '../tensor/index.js';

export interface StateEntry {
  shape: number[];
  data: Float32Array;
}
export type StateDict = Record<string, StateEntry>;

export abstract class Module {
  training = true;
  private ownParams = new Map<string, Tensor>();
  private ownBuffers = new Map<string, Tensor>();
  private optionalBuffers = new Set<string>();
  private children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a parameter: it requires grad and survives scopes. */
  protected param(name: string, t: Tensor): Tensor {
    if (this.ownParams.has(name) || this.children.has(name)) throw new Error(`'${name}' is registered twice`);
    this.ownParams.set(name, requireGrad(t).keep());
    return t;
  }

  /**
   * Registers state that is not trained but saved (e.g. batch norm's running statistics). An `optional`
   * buffer may be absent from a state dict being loaded (it then keeps its value).
   */
  protected buffer(name: string, t: Tensor, o: { optional?: boolean } = {}): Tensor {
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.children.has(name)) {
      throw new Error(`'${name}' is registered twice`);
    }
    this.ownBuffers.set(name, t.keep());
    if (o.optional) this.optionalBuffers.add(name);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    if (this.ownParams.has(name) || this.children.has(name)) throw new Error(`'${name}' is registered twice`);
    this.children.set(name, m);
    return m;
  }

  /** Parameters with their dotted names, depth first, in registration order (as PyTorch). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** Buffers with their dotted names, depth first. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.ownBuffers) out.push([prefix + n, b]);
    for (const [n, c] of this.children) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** Parameters and buffers: what a state dict holds. */
  namedState(): [string, Tensor][] {
    return [...this.namedParameters(), ...this.namedBuffers()];
  }

  /** Dotted names of the optional buffers (those a loaded state dict may lack). */
  optionalStateNames(prefix = ''): string[] {
    const out = [...this.optionalBuffers].map((n) => prefix + n);
    for (const [n, c] of this.children) out.push(...c.optionalStateNames(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** This module and every module under it, depth first. */
  modules(): Module[] {
    return [this, ...[...this.children.values()].flatMap((c) => c.modules())];
  }

  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  async stateDict(): Promise<StateDict> {
    const out: StateDict = {};
    for (const [n, p] of this.namedState()) out[n] = { shape: [...p.shape], data: (await p.data()) as Float32Array };
    return out;
  }

  /**
   * Loads values by name; every parameter and buffer must be present with its exact shape (strict, as
   * PyTorch), optional buffers excepted. `source` names where the state came from (a file) in errors.
   * Nothing is assigned unless everything fits.
   */
  loadStateDict(state: Record<string, { shape?: readonly number[]; data: ArrayLike<number> }>, source?: string): void {
    const where = source ?? 'loadStateDict';
    const remedy = source
      ? 'it was saved from a model with another architecture or other sizes: load it into a model built with ' +
        'the settings it was saved with, or delete it to start over'
      : 'it was saved from a model with another architecture or other sizes: load it into one built alike';
    const named = this.namedState();
    const names = new Set(named.map(([n]) => n));
    const optional = new Set(this.optionalStateNames());
    const missing = named.filter(([n]) => !(n in state) && !optional.has(n)).map(([n]) => n);
    const unexpected = Object.keys(state).filter((n) => !names.has(n));
    if (missing.length || unexpected.length) {
      const parts = [];
      if (missing.length) parts.push(`missing [${missing.join(', ')}] (this model has them, the state does not)`);
      if (unexpected.length)
        parts.push(`unexpected [${unexpected.join(', ')}] (the state has them, this model does not)`);
      throw new Error(`${where}: the state does not fit this ${this.constructor.name}: ${parts.join('; ')}; ${remedy}`);
    }
    for (const [n, p] of named) {
      const e = state[n];
      if (!e) continue; // an optional buffer
      if ((e.shape && e.shape.join() !== p.shape.join()) || e.data.length !== p.size) {
        const theirs = e.shape ? `is ${fmtShape(e.shape)}` : `has ${e.data.length} values`;
        throw new Error(
          `${where}: tensor '${n}' ${theirs} in the state, but this model's is ${fmtShape(p.shape)} ` +
            `(${p.size} values); ${remedy}`,
        );
      }
    }
    for (const [n, p] of named) if (state[n]) assign(p, state[n].data);
  }

  dispose(): void {
    for (const p of this.ownParams.values()) {
      p.grad?.dispose(); // an optimizer's gradient view keeps its arena's buffer alive
      p.dispose();
    }
    for (const b of this.ownBuffers.values()) b.dispose();
    for (const c of this.children.values()) c.dispose();
  }
}
