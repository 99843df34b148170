// Errors of loading saved state name the source (a file), the tensor, what was expected and what to do:
// Module.loadStateDict, Adam.loadState, Rng.restore. Nothing is changed by a load that fails.
import { beforeAll, describe, expect, it } from 'vitest';
import { Linear, Sequential, type StateDict } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { Rng } from '../src/tensor/index.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

const FILE = 'runs/x/vae-m2.ckpt.safetensors';

describe('load errors', () => {
  it('loadStateDict: a transposed tensor names the file, the tensor, both shapes and what to do', async () => {
    const rng = new Rng(0);
    const model = new Sequential(new Linear(15, 128, { rng }), new Linear(128, 4, { rng }));
    const state = await model.stateDict();
    const before = Array.from(await model.layers[1]!.parameters()[0]!.data());
    const bad: StateDict = { ...state, '0.weight': { shape: [15, 128], data: state['0.weight']!.data } };
    bad['1.weight'] = { shape: [4, 128], data: new Float32Array(4 * 128) };
    expect(() => model.loadStateDict(bad, FILE)).toThrow(
      `${FILE}: tensor '0.weight' is (15, 128) in the state, but this model's is (128, 15) (1920 values); it was ` +
        'saved from a model with another architecture or other sizes: load it into a model built with the ' +
        'settings it was saved with, or delete it to start over',
    );
    // nothing was assigned: 1.weight, which fitted, still holds its values
    expect(Array.from(await model.layers[1]!.parameters()[0]!.data())).toEqual(before);
    expect(() => model.loadStateDict(bad)).toThrow(/^loadStateDict: tensor '0\.weight' is \(15, 128\)/);
    model.dispose();
  });

  it('loadStateDict: missing and unexpected names', async () => {
    const model = new Sequential(new Linear(2, 2, { rng: new Rng(0) }));
    const state = await model.stateDict();
    const { '0.bias': bias, ...noBias } = state;
    expect(() => model.loadStateDict({ ...noBias, '0.b': bias! }, FILE)).toThrow(
      `${FILE}: the state does not fit this Sequential: missing [0.bias] (this model has them, the state does not); ` +
        'unexpected [0.b] (the state has them, this model does not); it was saved from a model with another ' +
        'architecture or other sizes: load it into a model built with the settings it was saved with, or delete ' +
        'it to start over',
    );
    model.dispose();
  });

  it('Adam.loadState: a moment of another length names the file and both sizes', async () => {
    const model = new Linear(3, 2, { rng: new Rng(0) });
    const opt = new Adam(model.parameters());
    const s = await opt.state();
    const short = { ...s, m: s.m.subarray(64), v: s.v.subarray(64) };
    expect(() => opt.loadState(short, FILE)).toThrow(
      `${FILE}: the Adam state has 64 values per moment; these parameters need 128 (2 tensors, padded): it ` +
        'was saved for a model with other sizes: delete it to start over, or use the settings it was saved with',
    );
    expect(() => opt.loadState({ ...s, t: Number.NaN }, FILE)).toThrow(
      `${FILE}: the Adam state's step count (NaN) or learning rate (0.001) is not valid: the file is damaged or ` +
        'from another version; delete it to start over',
    );
    expect(() => opt.loadState(short)).toThrow(/^the Adam state has 64 values per moment/);
    opt.loadState({ ...s, t: 5 }); // what fits loads
    expect(opt.t).toBe(5);
    opt.dispose();
    model.dispose();
  });

  it('Rng.restore: a missing position names the file', () => {
    const rng = new Rng(3);
    expect(() => rng.restore(undefined, FILE)).toThrow(
      `${FILE}: the random generator's position is undefined, expected an integer >= 0: the file is damaged ` +
        'or was written by another version; delete it to start that step over',
    );
    expect(() => rng.restore('4', FILE)).toThrow(/position is '4'/);
    expect(() => {
      rng.position = -1;
    }).toThrow('Rng position must be an integer >= 0, got -1');
    rng.restore(12, FILE);
    expect(rng.position).toBe(12);
  });
});
