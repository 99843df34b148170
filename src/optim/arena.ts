// The flat arena behind every optimizer: all parameters packed into one buffer, all their gradients into
// another, so that an update is one dispatch over everything. Each parameter tensor is moved onto its
// slot (aligned to 256 bytes, as bindings require); its `.grad` becomes a view of the gradient arena, and
// backward() adds into it in place. Parameters stay ordinary tensors to every op.

import { gpu } from '../gpu/index.js';
import { fillInPlace, markGradZeroed, Tensor } from '../tensor/index.js';

const ALIGN_FLOATS = 64; // 256 bytes

export class ParamArena {
  readonly size: number; // floats, padding included
  /** Where each parameter of `list` starts in the arena (and in the optimizer's state), in floats. */
  readonly offsets: readonly number[];
  readonly params: Tensor;
  readonly grads: Tensor;
  private disposed = false;

  constructor(readonly list: readonly Tensor[]) {
    if (!list.length) throw new Error('an optimizer needs at least one parameter');
    const seen = new Set<Tensor>();
    const offsets: number[] = [];
    let total = 0;
    for (const p of list) {
      if (seen.has(p)) throw new Error(`parameter ${p} is listed twice`);
      seen.add(p);
      if (!p.requiresGrad || p.node) throw new Error(`optimizer parameters must be leaves that require grad; got ${p}`);
      offsets.push(total);
      total += Math.ceil(p.size / ALIGN_FLOATS) * ALIGN_FLOATS;
    }
    this.size = total;
    this.offsets = offsets;
    this.params = Tensor.empty([total]).keep();
    this.grads = Tensor.empty([total]).keep();
    fillInPlace(this.params, 0);
    fillInPlace(this.grads, 0);
    list.forEach((p, i) => {
      const bytes = 4 * p.size;
      const slot = this.params.storage.view(4 * offsets[i]!, bytes);
      gpu().copy({ ...p.ref, size: bytes }, { buffer: slot.buffer, offset: slot.offset, size: bytes });
      p.rebind(slot);
      const g = new Tensor(p.shape, 'f32', this.grads.storage.view(4 * offsets[i]!, bytes)).keep();
      if (p.grad) {
        gpu().copy({ ...p.grad.ref, size: bytes }, g.ref);
        p.grad.dispose();
      }
      p.grad = g;
    });
  }

  /** Sets every gradient to zero (one dispatch); the first gradient into each is then a copy (tape.ts). */
  zeroGrad(): void {
    this.check();
    fillInPlace(this.grads, 0);
    for (const p of this.list) markGradZeroed(p);
  }

  /** A zero-filled buffer the size of the arena, for optimizer state. */
  state(): Tensor {
    const t = Tensor.empty([this.size]).keep();
    fillInPlace(t, 0);
    return t;
  }

  check(): void {
    if (this.disposed) throw new Error('this optimizer was disposed');
    for (const p of this.list) {
      if (p.isDisposed) throw new Error(`a parameter of this optimizer was disposed: ${p}`);
      if (p.grad?.storage.buffer !== this.grads.storage.buffer) {
        throw new Error(`the .grad of ${p} was replaced; call zeroGrad() on the optimizer instead`);
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    this.params.dispose();
    this.grads.dispose();
  }
}
