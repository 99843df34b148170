// Modules: named parameters, child modules, a PyTorch-style state dict ("0.weight", "enc.1.bias"), and a
// train/eval flag that children follow. A module owns its parameters: dispose() frees them. Not here:
// any layer (layers.ts) or optimizer (src/optim).

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
  private children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a parameter: it requires grad and survives scopes. */
  protected param(name: string, t: Tensor): Tensor {
    if (this.ownParams.has(name) || this.children.has(name)) throw new Error(`'${name}' is registered twice`);
    this.ownParams.set(name, requireGrad(t).keep());
    return t;
  }

  /** Registers state that is not trained but saved (e.g. batch norm's running statistics). */
  protected buffer(name: string, t: Tensor): Tensor {
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.children.has(name)) {
      throw new Error(`'${name}' is registered twice`);
    }
    this.ownBuffers.set(name, t.keep());
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

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
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

  /** Loads values by name; every parameter and buffer must be present with its exact shape (strict, as PyTorch). */
  loadStateDict(state: Record<string, { shape?: readonly number[]; data: ArrayLike<number> }>): void {
    const named = this.namedState();
    const names = new Set(named.map(([n]) => n));
    const missing = named.filter(([n]) => !(n in state)).map(([n]) => n);
    const unexpected = Object.keys(state).filter((n) => !names.has(n));
    if (missing.length || unexpected.length) {
      throw new Error(`loadStateDict: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
    }
    for (const [n, p] of named) {
      const e = state[n]!;
      if ((e.shape && e.shape.join() !== p.shape.join()) || e.data.length !== p.size) {
        throw new Error(
          `loadStateDict: '${n}' is ${fmtShape(p.shape)} here, ${e.shape ? fmtShape(e.shape) : `${e.data.length} values`} in the state`,
        );
      }
      assign(p, e.data);
    }
  }

  dispose(): void {
    for (const p of this.ownParams.values()) p.dispose();
    for (const b of this.ownBuffers.values()) b.dispose();
    for (const c of this.children.values()) c.dispose();
  }
}
