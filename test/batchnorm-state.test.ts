// Batch norm's state dict as PyTorch 1.13's (test/fixtures/make_bn_state.py): the same names and shapes,
// num_batches_tracked counting the forward passes in training, so that PyTorch loads ours with
// strict=True; and ours loads state dicts with or without num_batches_tracked (older checkpoints).
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm1d } from '../src/nn/batchnorm.js';
import { Linear, Sequential } from '../src/nn/index.js';
import { Rng, scope } from '../src/tensor/index.js';
import fx from './fixtures/bn_state_torch.json';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('batch norm state dict', () => {
  it("has PyTorch's names and shapes, and counts the training forward passes as PyTorch does", async () => {
    const bn = new BatchNorm1d(5);
    const rng = new Rng(1);
    bn.train();
    for (let i = 0; i < 3; i++) scope(() => bn.forward(rng.normal([4, 5])));
    bn.eval();
    for (let i = 0; i < 2; i++) scope(() => bn.forward(rng.normal([4, 5])));
    const state = await bn.stateDict();
    expect(Object.keys(state)).toEqual(fx.keys);
    for (const k of fx.keys) expect(state[k]!.shape, k).toEqual(fx.shapes[k as keyof typeof fx.shapes]);
    expect(Array.from(state.num_batches_tracked!.data)).toEqual([fx.num_batches_tracked]);
    bn.dispose();
  });

  it('loads a state dict with num_batches_tracked, and one without it (an older checkpoint)', async () => {
    const bn = new BatchNorm1d(3);
    const base = {
      weight: { shape: [3], data: [1, 2, 3] },
      bias: { shape: [3], data: [0, 0, 1] },
      running_mean: { shape: [3], data: [0.5, 0, 0] },
      running_var: { shape: [3], data: [1, 1, 2] },
    };
    bn.loadStateDict({ ...base, num_batches_tracked: { shape: [], data: [7] } });
    expect(Array.from(await bn.numBatchesTracked.data())).toEqual([7]);
    bn.loadStateDict(base); // without: loads, and the count stays
    expect(Array.from(await bn.numBatchesTracked.data())).toEqual([7]);
    expect(Array.from(await bn.runningVar.data())).toEqual([1, 1, 2]);
    expect(() =>
      bn.loadStateDict({ ...base, num_batches_tracked: { shape: [1], data: [7] } }, 'old.safetensors'),
    ).toThrow(/old\.safetensors: tensor 'num_batches_tracked' is \(1\) in the state, but this model's is \(\)/);
    bn.dispose();
  });

  it('in a model: each batch norm has its count; older state dicts of the model load', async () => {
    const rng = new Rng(2);
    const model = new Sequential(new Linear(4, 3, { rng }), new BatchNorm1d(3));
    scope(() => model.forward(rng.normal([8, 4])));
    const state = await model.stateDict();
    expect(Object.keys(state).sort()).toEqual([
      '0.bias',
      '0.weight',
      '1.bias',
      '1.num_batches_tracked',
      '1.running_mean',
      '1.running_var',
      '1.weight',
    ]);
    expect(model.optionalStateNames()).toEqual(['1.num_batches_tracked']);
    const { '1.num_batches_tracked': _, ...old } = state;
    const again = new Sequential(new Linear(4, 3, { rng }), new BatchNorm1d(3));
    again.loadStateDict(old);
    expect(Array.from(await (again.layers[1] as BatchNorm1d).numBatchesTracked.data())).toEqual([0]);
    again.loadStateDict(state);
    expect(Array.from(await (again.layers[1] as BatchNorm1d).numBatchesTracked.data())).toEqual([1]);
    model.dispose();
    again.dispose();
  });
});
