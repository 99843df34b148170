// PyTorch parity: the Iris MLP (4 -> 16 -> 3) from PyTorch's initial weights, 20 full-batch steps of Adam
// (and of SGD with momentum), must give PyTorch 1.13's losses to 1e-5 relative. The fixture is made by
// test/fixtures/make_mlp_iris.py.
import { beforeAll, describe, expect, it } from 'vitest';
import { irisSplit } from '../src/data/iris.js';
import { gpu } from '../src/gpu/index.js';
import { Linear, ReLU, Sequential } from '../src/nn/index.js';
import { crossEntropy, gatherRows, sum } from '../src/ops/index.js';
import { Adam, type Optimizer, SGD } from '../src/optim/index.js';
import { backward, isGradZeroed, scope, tensor } from '../src/tensor/index.js';
import fixture from './fixtures/mlp_iris_adam.json';
import { expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

type Dict = Record<string, number[] | number[][]>;

function stateOf(d: Dict) {
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, { data: (v as number[]).flat() as number[] }]));
}

async function run(makeOpt: (params: ReturnType<Sequential['parameters']>) => Optimizer, steps: number) {
  const split = irisSplit();
  const x = tensor(split.xTrain, [100, 4]);
  const y = tensor(split.yTrain, [100], 'i32');
  const model = new Sequential(new Linear(4, 16), new ReLU(), new Linear(16, 3));
  model.loadStateDict(stateOf(fixture.initial as Dict));
  const opt = makeOpt(model.parameters());
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = scope(() => {
      opt.zeroGrad();
      const l = crossEntropy(model.forward(x), y);
      backward(l);
      opt.step();
      return l;
    });
    losses.push(await loss.item());
    loss.dispose();
  }
  const state = await model.stateDict();
  opt.dispose();
  model.dispose();
  x.dispose();
  y.dispose();
  return { losses, state };
}

describe('PyTorch 1.13 parity on Iris', () => {
  it('Adam (lr 0.01, weight decay 1e-3): 20 losses to 1e-5 relative', async () => {
    const a = fixture;
    const { losses, state } = await run(
      (p) => new Adam(p, { lr: a.lr, betas: a.betas as [number, number], eps: a.eps, weightDecay: a.weight_decay }),
      a.steps,
    );
    expectClose(losses, a.losses, 1e-5, 0, 'Adam losses');
    for (const [k, v] of Object.entries(a.final as Dict))
      expectClose(state[k]!.data, (v as number[]).flat() as number[], 1e-4, 1e-5, `Adam final ${k}`);
  });

  it('SGD with momentum: 20 losses to 1e-5 relative', async () => {
    const s = fixture.sgd;
    const { losses, state } = await run(
      (p) => new SGD(p, { lr: s.lr, momentum: s.momentum, weightDecay: s.weight_decay }),
      s.losses.length,
    );
    expectClose(losses, s.losses, 1e-5, 0, 'SGD losses');
    for (const [k, v] of Object.entries(s.final as Dict))
      expectClose(state[k]!.data, (v as number[]).flat() as number[], 1e-4, 1e-5, `SGD final ${k}`);
  });
});

describe('memory', () => {
  it('1,000 training steps leave the pool live bytes flat', async () => {
    const split = irisSplit();
    const x = tensor(split.xTrain, [100, 4]);
    const y = tensor(split.yTrain, [100], 'i32');
    const model = new Sequential(new Linear(4, 16), new ReLU(), new Linear(16, 3));
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    const step = (s: number) =>
      scope(() => {
        const rows = tensor(
          Int32Array.from({ length: 16 }, (_, i) => (s * 16 + i) % 100),
          [16],
          'i32',
        );
        opt.zeroGrad();
        const loss = crossEntropy(model.forward(gatherRows(x, rows)), gatherRows(y, rows));
        backward(loss);
        opt.step();
      });
    for (let s = 0; s < 10; s++) step(s);
    await gpu().sync();
    const before = gpu().pool.getStats();
    for (let s = 10; s < 1010; s++) step(s);
    await gpu().sync();
    const after = gpu().pool.getStats();
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.created - before.created).toBeLessThan(5); // the pool reuses buffers
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('after zeroGrad the first gradient is copied in, the next ones added', async () => {
    const lin = new Linear(3, 2);
    const opt = new Adam(lin.parameters(), { lr: 0.1 });
    const x = tensor(Float32Array.from([1, 2, 3, -1, 0.5, 2]), [2, 3]);
    const once = async () => {
      scope(() => backward(sum(lin.forward(x))));
      return Array.from(await lin.weight.grad!.data());
    };
    opt.zeroGrad();
    expect(isGradZeroed(lin.weight)).toBe(true);
    const g1 = await once();
    expect(isGradZeroed(lin.weight)).toBe(false);
    expect(g1).toEqual([0, 2.5, 5, 0, 2.5, 5]); // d sum / dW[o, i] = the sum of column i of x
    const g2 = await once();
    expectClose(
      g2,
      g1.map((v) => 2 * v),
      0,
      0,
      'second backward adds',
    );
    opt.zeroGrad();
    expect(await once()).toEqual(g1);
    opt.dispose();
    lin.dispose();
    x.dispose();
  });
});
