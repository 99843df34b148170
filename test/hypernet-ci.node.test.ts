// The `ci` preset trains the hypernetwork on MNIST above chance: the paper's model, unchanged, for the
// fewest steps that leave chance behind (a sweep with the PyTorch port: 0.26-0.45 mean accuracy after 750-1,000
// steps of 8 z x 4 images, at chance until ~500). Minutes; Node only (it reads MNIST's files).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hypernetEval, hypernetTrain } from '../src/cli/hypernet.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

const run = mkdtempSync(join(tmpdir(), 'weightgen-hypernet-ci-'));
afterAll(() => rmSync(run, { recursive: true, force: true }));

describe('hypernetwork, ci preset', () => {
  it('generated networks classify MNIST test images above chance', { timeout: 30 * 60_000 }, async () => {
    const o = {
      run,
      preset: 'ci' as const,
      seed: 0,
      faithful: false,
      samples: 1,
      evalNetworks: 8,
      evalImages: 500,
      ensemble: 4,
    };
    await hypernetTrain(o);
    const r = await hypernetEval(o);
    expect(r.accuracy.mean).toBeGreaterThan(0.2); // chance: 0.1
    expect(r.accuracy.min).toBeGreaterThan(0.1);
  });
});
