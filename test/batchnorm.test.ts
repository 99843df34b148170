// Batch normalisation: the op against its float64 reference (forward, finite-difference backward through
// the batch statistics, running-statistics updates in both conventions), and the modules against PyTorch
// 1.13 (test/fixtures/make_batchnorm.py).
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, BatchNorm1d, BatchNorm2d } from '../src/nn/batchnorm.js';
import { Sequential } from '../src/nn/layers.js';
import { batchNorm, cpuBatchNorm } from '../src/ops/batchnorm.js';
import { cpuPermute } from '../src/ops/shape.js';
import { backward, requireGrad, scope, type Tensor, tensor } from '../src/tensor/index.js';
import fx from './fixtures/batchnorm_torch.json';
import { checkOp, randomData } from './gradcheck.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

const featShape = (shape: number[], axes: number[]) => shape.filter((_, i) => !axes.includes(i));
const numel = (s: number[]) => s.reduce((p, d) => p * d, 1);

// Forward within rtol 1e-4 / atol 1e-5 of float64; backward against central differences (rtol 1e-3,
// atol 1e-4). Shapes cover a (B, F) batch, the hypernetwork's (B, filters, F), NHWC, a kept axis between
// reduced ones, and a long reduction (the workgroup-per-feature kernels).
const cases: [number[], number[]][] = [
  [[6, 5], [0]],
  [
    [3, 4, 5],
    [0, 1],
  ],
  [
    [2, 3, 2, 4],
    [0, 1, 2],
  ],
  [
    [4, 3, 5],
    [0, 2],
  ],
  [[300, 3], [0]], // long enough for a workgroup per feature
  [[272, 16], [0]], // the same with features enough for a thread each on a CPU adapter (reduce.ts)
];

describe('batchNorm op', () => {
  it('training: forward and backward through the batch statistics', async () => {
    for (const [k, [shape, axes]] of cases.entries()) {
      const fs = featShape(shape, axes);
      await checkOp({
        name: `batchNorm train ${shape} over [${axes}]`,
        inputs: [randomData(10 + k, shape, -2, 2), randomData(20 + k, fs, 0.5, 1.5), randomData(30 + k, fs)],
        gpu: (x, s, o) => batchNorm(x, { axes, scale: s, offset: o, training: true, eps: 1e-5 }),
        cpu: (x, s, o) => cpuBatchNorm(x, shape, { axes, scale: s, offset: o, training: true, eps: 1e-5 }).y,
        rtol: 1e-4,
        atol: 1e-5,
      });
    }
  });

  it('training without scale and offset', async () => {
    const shape = [7, 3];
    await checkOp({
      name: 'batchNorm train, no affine',
      inputs: [randomData(3, shape)],
      gpu: (x) => batchNorm(x, { axes: [0], training: true, eps: 1e-3 }),
      cpu: (x) => cpuBatchNorm(x, shape, { axes: [0], training: true, eps: 1e-3 }).y,
      rtol: 1e-4,
      atol: 1e-5,
    });
  });

  it('evaluation: running statistics, which are constants for the gradient', async () => {
    for (const [shape, axes] of [cases[1]!, cases[4]!]) {
      const fs = featShape(shape, axes);
      const rm = cpuRng(5).uniform(numel(fs), -0.5, 0.5);
      const rv = cpuRng(6).uniform(numel(fs), 0.5, 2);
      await checkOp({
        name: `batchNorm eval ${shape} over [${axes}]`,
        inputs: [randomData(7, shape, -2, 2), randomData(8, fs, 0.5, 1.5), randomData(9, fs)],
        gpu: (x, s, o) =>
          batchNorm(x, {
            axes,
            scale: s,
            offset: o,
            training: false,
            eps: 1e-5,
            running: { mean: tensor(rm, fs), var: tensor(rv, fs) },
          }),
        cpu: (x, s, o) =>
          cpuBatchNorm(x, shape, {
            axes,
            scale: s,
            offset: o,
            training: false,
            eps: 1e-5,
            running: { mean: rm, var: rv },
          }).y,
        rtol: 1e-4,
        atol: 1e-5,
      });
    }
  });

  it('running statistics: torch (unbiased variance) and tf (biased, momentum = decay)', async () => {
    const shape = [5, 2, 3];
    const axes = [0, 1];
    const x = randomData(11, shape, -1, 3).data;
    const rm = cpuRng(12).uniform(3, -1, 1);
    const rv = cpuRng(13).uniform(3, 0.5, 2);
    for (const [convention, momentum] of [
      ['torch', 0.1],
      ['tf', 0.98],
    ] as const) {
      const mean = tensor(rm, [3]);
      const vari = tensor(rv, [3]);
      // two steps: the second starts from the first's update
      const ref1 = cpuBatchNorm(x, shape, {
        axes,
        training: true,
        running: { mean: rm, var: rv },
        momentum,
        convention,
      });
      const ref2 = cpuBatchNorm(x, shape, {
        axes,
        training: true,
        running: { mean: ref1.runningMean!, var: ref1.runningVar! },
        momentum,
        convention,
      });
      scope(() => {
        for (let s = 0; s < 2; s++) {
          batchNorm(tensor(x, shape), { axes, training: true, running: { mean, var: vari }, momentum, convention });
        }
      });
      expectClose(await mean.data(), ref2.runningMean!, 1e-5, 1e-6, `${convention} running mean`);
      expectClose(await vari.data(), ref2.runningVar!, 1e-5, 1e-6, `${convention} running var`);
      mean.dispose();
      vari.dispose();
    }
  });

  it('rejects bad arguments', () => {
    scope(() => {
      const x = tensor(new Float32Array(12), [4, 3]);
      expect(() =>
        batchNorm(x, { axes: [0], scale: tensor([1, 1], [2]), offset: tensor([0, 0], [2]), training: true }),
      ).toThrow(/scale is f32 \(2\).*must be f32 \(3\)/);
      expect(() => batchNorm(x, { axes: [0], training: false })).toThrow(/pass `running`/);
      expect(() => batchNorm(tensor([1, 2, 3], [1, 3]), { axes: [0], training: true })).toThrow(/more than 1 value/);
    });
  });
});

// ---- PyTorch parity ---------------------------------------------------------------------------------

interface Step {
  x: number[];
  y: number[];
  running_mean?: number[];
  running_var?: number[];
  dx: number[];
  dweight: number[];
  dbias: number[];
}

/** Runs fixture steps through a module: inputs and outputs pass through `toOurs` (a layout change). */
async function replay(
  bn: BatchNorm,
  f: { dy: number[]; steps: Step[]; eval: Step },
  shape: number[],
  toOurs: (d: ArrayLike<number>) => ArrayLike<number>,
  what: string,
) {
  const dy = tensor(toOurs(f.dy), shape);
  const all = [...f.steps.map((s) => [s, true] as const), [f.eval, false] as const];
  for (const [k, [step, training]] of all.entries()) {
    bn.train(training);
    for (const p of bn.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
    const got = scope(() => {
      const x = requireGrad(tensor(toOurs(step.x), shape));
      const y = bn.forward(x);
      backward(y, dy);
      return { y, dx: x.grad!.keep() };
    });
    const name = `${what} ${training ? `step ${k + 1}` : 'eval'}`;
    expectClose(await got.y.data(), toOurs(step.y), 1e-4, 2e-5, `${name} y`);
    expectClose(await got.dx.data(), toOurs(step.dx), 1e-4, 2e-5, `${name} dx`);
    expectClose(await bn.weight!.grad!.data(), step.dweight, 1e-4, 2e-5, `${name} dweight`);
    expectClose(await bn.bias!.grad!.data(), step.dbias, 1e-4, 2e-5, `${name} dbias`);
    if (step.running_mean) {
      expectClose(await bn.runningMean.data(), step.running_mean, 1e-5, 1e-6, `${name} running_mean`);
      expectClose(await bn.runningVar.data(), step.running_var!, 1e-5, 1e-6, `${name} running_var`);
    }
    got.y.dispose();
    got.dx.dispose();
  }
  dy.dispose();
}

describe('batch-norm modules against PyTorch', () => {
  it('BatchNorm1d(5): three training steps, then evaluation', async () => {
    const f = fx.bn1d;
    const bn = new BatchNorm1d(f.features, { eps: f.eps, momentum: f.momentum });
    bn.loadStateDict({
      weight: { data: f.weight },
      bias: { data: f.bias },
      running_mean: { data: [0, 0, 0, 0, 0] },
      running_var: { data: [1, 1, 1, 1, 1] },
    });
    expect(bn.namedBuffers().map(([n]) => n)).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    await replay(bn, f, f.shape, (d) => d, 'BatchNorm1d');
    bn.dispose();
  });

  it('BatchNorm2d(3) on NHWC: two training steps, then evaluation', async () => {
    const f = fx.bn2d;
    const [n, c, h, w] = f.shape_nchw as [number, number, number, number];
    const bn = new BatchNorm2d(f.channels, { eps: f.eps, momentum: f.momentum });
    bn.loadStateDict({
      weight: { data: f.weight },
      bias: { data: f.bias },
      running_mean: { data: [0, 0, 0] },
      running_var: { data: [1, 1, 1] },
    });
    const toNhwc = (d: ArrayLike<number>) => cpuPermute(d, f.shape_nchw, [0, 2, 3, 1]);
    await replay(bn, f, [n, h, w, c], toNhwc, 'BatchNorm2d');
    bn.dispose();
  });

  it('BatchNorm over (B, filters, F) with the tf convention; shape errors', async () => {
    const bn = new BatchNorm([4], { eps: 1e-7, momentum: 0.98, convention: 'tf' });
    const shape = [3, 2, 4];
    const x = randomData(21, shape).data;
    const ref = cpuBatchNorm(x, shape, {
      axes: [0, 1],
      scale: [1, 1, 1, 1],
      offset: [0, 0, 0, 0],
      eps: 1e-7,
      training: true,
      running: { mean: [0, 0, 0, 0], var: [1, 1, 1, 1] },
      momentum: 0.98,
      convention: 'tf',
    });
    const y = scope(() => bn.forward(tensor(x, shape)));
    expectClose(await y.data(), ref.y, 1e-4, 1e-5, 'BatchNorm tf y');
    expectClose(await bn.runningVar.data(), ref.runningVar!, 1e-5, 1e-6, 'BatchNorm tf running_var');
    y.dispose();
    const bad: Tensor = tensor(new Float32Array(12), [3, 4]);
    const bn1 = new BatchNorm1d(5);
    const bn2 = new BatchNorm2d(4);
    expect(() => bn1.forward(bad)).toThrow(/expects \(B, 5\), got \(3, 4\)/);
    expect(() => bn2.forward(bad)).toThrow(/expects NHWC/);
    for (const t of [bad, bn, bn1, bn2]) t.dispose();
  });
});

describe('BatchNorm.recalibrate', () => {
  it('sets the running statistics to one batch statistics (biased var for tf, unbiased for torch), and restores the mode', async () => {
    const r = cpuRng(21);
    const x = r.uniform(6 * 3, -2, 3);
    for (const convention of ['tf', 'torch'] as const) {
      const bn = new BatchNorm([3], { convention, momentum: convention === 'tf' ? 0.98 : 0.1 });
      const seq = new Sequential(bn);
      seq.eval();
      BatchNorm.recalibrate(seq, () => scope(() => void seq.forward(tensor(x, [6, 3]))));
      expect(seq.training).toBe(false);
      const mean = [0, 1, 2].map((f) => [0, 1, 2, 3, 4, 5].reduce((s, i) => s + x[i * 3 + f]!, 0) / 6);
      const ss = [0, 1, 2].map((f) => [0, 1, 2, 3, 4, 5].reduce((s, i) => s + (x[i * 3 + f]! - mean[f]!) ** 2, 0));
      expectClose(await bn.runningMean.data(), mean, 1e-5, 1e-6, `${convention} mean`);
      expectClose(
        await bn.runningVar.data(),
        ss.map((v) => v / (convention === 'tf' ? 6 : 5)),
        1e-5,
        1e-6,
        `${convention} var`,
      );
      expect((await bn.numBatchesTracked.data())[0]).toBe(0);
      seq.dispose();
    }
  });
});
