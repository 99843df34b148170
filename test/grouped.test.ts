import { beforeAll, describe, expect, it } from 'vitest';
import { GroupedLinear } from '../src/nn/index.js';
import { add, matmul, mul, slice, square, sum } from '../src/ops/index.js';
import { backward, requireGrad, Rng, scope, tensor } from '../src/tensor/index.js';
import { cpuRng, setupGpu } from './helpers.js';

beforeAll(setupGpu);

// A population of G linear layers must compute exactly what G separate layers compute, values and gradients.
describe('grouped linear layers', () => {
  it('equal G separate layers, forward and backward', async () => {
    const [G, B, I, O] = [5, 7, 6, 3];
    const layer = new GroupedLinear(
      G,
      I,
      O,
      Array.from({ length: G }, (_, g) => new Rng(100 + g)),
    );
    const x = requireGrad(tensor(cpuRng(3).uniform(G * B * I), [G, B, I]));
    const y = scope(() => {
      const out = layer.forward(x);
      backward(sum(square(out)));
      return out;
    });
    const yAll = await y.data();
    const gW = await layer.weight.grad!.data();
    const gX = await x.grad!.data();
    for (let g = 0; g < G; g++) {
      // the same group alone: its own slices of x, W and b, as plain tensors
      const xs = requireGrad(tensor(Array.from(await x.data()).slice(g * B * I, (g + 1) * B * I), [B, I]));
      const w = requireGrad(slice(layer.weight, [g, 0, 0], [1, O, I]).detach().view([O, I]));
      const b = slice(layer.bias, [g, 0, 0], [1, 1, O]).detach().view([O]);
      const yg = scope(() => {
        const out = add(matmul(xs, w, false, true), b);
        backward(sum(mul(out, out)));
        return out;
      });
      expect(Array.from(await yg.data())).toEqual(Array.from(yAll.slice(g * B * O, (g + 1) * B * O)));
      expect(Array.from(await w.grad!.data())).toEqual(Array.from(gW.slice(g * O * I, (g + 1) * O * I)));
      expect(Array.from(await xs.grad!.data())).toEqual(Array.from(gX.slice(g * B * I, (g + 1) * B * I)));
    }
    layer.dispose();
  });

  it('group g is initialised by its own generator, as a lone layer would be', async () => {
    const a = new GroupedLinear(3, 4, 2, [new Rng(1), new Rng(2), new Rng(3)]);
    const b = new GroupedLinear(1, 4, 2, [new Rng(2)]);
    expect(Array.from(await b.weight.data())).toEqual(Array.from(await a.weight.data()).slice(8, 16));
    expect(Array.from(await b.bias.data())).toEqual(Array.from(await a.bias.data()).slice(2, 4));
    // PyTorch's default bound 1/sqrt(fan_in)
    expect(Math.max(...Array.from(await a.weight.data(), Math.abs))).toBeLessThanOrEqual(0.5);
    expect(() => a.forward(tensor(new Float32Array(2 * 5), [2, 5]))).toThrow(/expected \(3, B, 4\) or \(B, 4\)/);
    a.dispose();
    b.dispose();
  });
});
