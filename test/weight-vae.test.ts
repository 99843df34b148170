import { beforeAll, describe, expect, it } from 'vitest';
import { irisSplit } from '../src/data/iris.js';
import type { Checkpointer, TrainState } from '../src/models/checkpoint.js';
import { ENHANCED_PRESETS, trainEnhancedVae } from '../src/models/enhanced-vae-train.js';
import { sampleVae, trainWeightVae } from '../src/models/vae-train.js';
import { MinMaxScaler, Standardizer } from '../src/models/weight-vae.js';
import { trainZoo, vectorAccuracy, ZOO_SETS } from '../src/models/zoo.js';
import { expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const split = irisSplit();

function memoryCheckpointer(every: number): Checkpointer & { saved: TrainState | null } {
  const c = {
    every,
    saved: null as TrainState | null,
    load: () => c.saved,
    save: (s: TrainState) => {
      c.saved = s;
    },
  };
  return c;
}

describe('weight VAEs on small zoos', () => {
  it('the M1 VAE loss decreases and its samples beat chance', async () => {
    const zoo = await trainZoo(ZOO_SETS[0]!, split, { models: 32, epochs: 60 });
    const t = await trainWeightVae(zoo.vectors, { lr: 3e-3, batchSize: 8, epochs: 30, shuffle: true }, { seed: 1 });
    expect(t.losses.at(-1)!).toBeLessThan(t.losses[0]!);
    const g = await sampleVae(t, 64, 2);
    t.vae.dispose();
    expect(g.length).toBe(64 * 15);
    // samples are in weight space (un-scaled): inside the zoo's range, give or take
    const range = MinMaxScaler.fit(zoo.vectors);
    expect(Math.min(...g)).toBeGreaterThanOrEqual(range.min - 1e-3);
    expect(Math.max(...g)).toBeLessThanOrEqual(range.max + 1e-3);
    const acc = await vectorAccuracy('M1', g, split);
    const mean = acc.reduce((s, a) => s + a, 0) / acc.length;
    expect(mean).toBeGreaterThan(0.5); // chance is 1/3
  });

  it('the enhanced VAE loss decreases and its samples beat chance, more so with the function-space term', async () => {
    const zoo = await trainZoo(ZOO_SETS[2]!, split, { models: 64, epochs: 60 });
    const preset = {
      lr: 0.01,
      weightDecay: 0,
      batchSize: 16,
      epochs: 30,
      patience: 10,
      scaling: 'columns' as const,
      canonical: false,
      beta: 1,
    };
    const generated = async (functional: number) => {
      const t = await trainEnhancedVae(zoo.vectors, { ...preset, functional }, { seed: 1, inputs: split.xTrain });
      expect(t.losses.at(-1)!).toBeLessThan(t.losses[0]!);
      const g = await sampleVae(t, 64, 2);
      t.vae.dispose();
      const acc = await vectorAccuracy('M2', g, split);
      return acc.reduce((s, a) => s + a, 0) / acc.length;
    };
    const weightsOnly = await generated(0);
    const withFunction = await generated(30);
    expect(weightsOnly).toBeGreaterThan(0.4); // chance is 1/3
    expect(withFunction).toBeGreaterThan(0.75);
    expect(withFunction).toBeGreaterThan(weightsOnly + 0.1); // measured: 0.58 and 0.84
  });

  it('the function-space term without inputs is an error that says what to pass', async () => {
    const v = Float32Array.from({ length: 8 * 43 }, (_, i) => Math.sin(i));
    const p = { ...ENHANCED_PRESETS.default, epochs: 1 };
    await expect(trainEnhancedVae(v, p, { seed: 0 })).rejects.toThrow(/options\.inputs/);
  });

  it('training resumed from a checkpoint equals training straight through', async () => {
    const v = Float32Array.from({ length: 40 * 15 }, (_, i) => Math.sin(i * 0.37));
    const preset = { lr: 1e-3, batchSize: 8, epochs: 4, shuffle: true };
    const straight = await trainWeightVae(v, preset, { seed: 5 });
    const ckpt = memoryCheckpointer(2);
    const first = await trainWeightVae(v, { ...preset, epochs: 2 }, { seed: 5, ckpt });
    first.vae.dispose();
    expect(ckpt.saved?.epoch).toBe(2);
    const resumed = await trainWeightVae(v, preset, { seed: 5, ckpt });
    expectClose(resumed.losses, straight.losses, 1e-6, 0, 'losses');
    const a = await straight.vae.stateDict();
    const b = await resumed.vae.stateDict();
    for (const k of Object.keys(a)) expectClose(b[k]!.data, a[k]!.data, 1e-6, 1e-7, k);
    straight.vae.dispose();
    resumed.vae.dispose();
  });

  it('scalers map back exactly', () => {
    const v = [3, -1, 2.5, 7];
    expectClose(MinMaxScaler.fit(v).unscale(MinMaxScaler.fit(v).scale(v)), v, 1e-6, 1e-6);
    const s = Standardizer.fit(v);
    expectClose(s.unscale(s.scale(v)), v, 1e-6, 1e-6);
    expect(s.std).toBeCloseTo(Math.sqrt(((3 - 2.875) ** 2 + 3.875 ** 2 + 0.375 ** 2 + 4.125 ** 2) / 3), 6);
  });
});
