// The index arithmetic of strided kernels, rank by rank. Broadcasts, copies, reductions and batch norm
// merge what dims they can (collapseDims, reductionPlan), then run straight-line index code compiled for
// the rank that is left (1 to 4: pipeline constants) or, past 4 dims, a loop. These cases pick shapes that
// leave each rank, 0 to 8, so that every compiled variant is checked against its float64 reference.
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, cpuBatchNorm } from '../src/ops/batchnorm.js';
import { add, cpuBroadcast, mul } from '../src/ops/elementwise.js';
import { cpuReduce, max, sum } from '../src/ops/reduce.js';
import { cpuPermute, permute, slice } from '../src/ops/shape.js';
import { collapseDims, normAxes } from '../src/tensor/index.js';
import { checkOp, randomData } from './gradcheck.js';
import { setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('collapseDims', () => {
  it('drops dims of size 1 and merges dims every operand steps across alike', () => {
    // the gauge fixing's (8, 16, 800) / (8, 16, 1): a (128, 800) walk, b one value a row
    expect(
      collapseDims(
        [8, 16, 800],
        [
          [12800, 800, 1],
          [16, 1, 0],
        ],
      ),
    ).toEqual({
      shape: [128, 800],
      strides: [
        [800, 1],
        [1, 0],
      ],
    });
    // a slice of the last dim: rows of 801 read, rows of 800 written
    expect(
      collapseDims(
        [8, 16, 800],
        [
          [12816, 801, 1],
          [12800, 800, 1],
        ],
      ),
    ).toEqual({
      shape: [128, 800],
      strides: [
        [801, 1],
        [800, 1],
      ],
    });
    // a transpose merges nothing; size-1 dims go wherever they are
    expect(
      collapseDims(
        [3, 1, 5],
        [
          [1, 0, 3],
          [5, 5, 1],
        ],
      ),
    ).toEqual({
      shape: [3, 5],
      strides: [
        [1, 3],
        [5, 1],
      ],
    });
    expect(collapseDims([1, 1], [[0, 0]])).toEqual({ shape: [], strides: [[]] });
    // an empty space stays empty
    expect(collapseDims([4, 0, 2], [[0, 2, 1]]).shape.reduce((p, d) => p * d, 1)).toBe(0);
  });
});

// Values 2/n apart in a random order: no near-ties for max's finite differences to straddle.
function distinct(seed: number, shape: number[]) {
  const d = randomData(seed, shape);
  const n = d.data.length;
  const order = [...Array(n).keys()].sort((i, j) => d.data[i]! - d.data[j]!);
  const data = new Float64Array(n);
  order.forEach((i, r) => {
    data[i] = -1 + (2 * r) / n;
  });
  return { data, shape };
}

// Pairs whose broadcast leaves rank r after merging: dims alternate between "a repeats" and "b repeats".
function alternating(r: number): [number[], number[]] {
  const a: number[] = [];
  const b: number[] = [];
  for (let d = 0; d < r; d++) {
    a.push(d % 2 === 0 ? 2 + (d % 3) : 1);
    b.push(d % 2 === 0 ? 1 : 2 + (d % 2));
  }
  return [a, b];
}

describe('strided kernels at every rank', () => {
  it('broadcast binary ops: ranks 1 to 8 after merging', async () => {
    for (let r = 1; r <= 8; r++) {
      const [sa, sb] = r === 1 ? [[5], [1]] : alternating(r);
      for (const [name, op, f] of [
        ['add', add, (x: number, y: number) => x + y],
        ['mul', mul, (x: number, y: number) => x * y],
      ] as const) {
        await checkOp({
          name: `${name} ${sa} and ${sb}`,
          inputs: [randomData(r, sa), randomData(r + 10, sb)],
          gpu: (a, b) => op(a, b),
          cpu: (a, b) => cpuBroadcast(f, a, sa, b, sb).data,
        });
      }
    }
  });

  it('copies (permute, slice): ranks 1 to 6 after merging', async () => {
    const perms: [number[], number[]][] = [
      [
        [4, 6],
        [1, 0],
      ],
      [
        [2, 3, 4],
        [2, 0, 1],
      ],
      [
        [2, 3, 2, 3],
        [3, 1, 0, 2],
      ],
      [
        [2, 3, 2, 3, 2],
        [4, 2, 0, 3, 1],
      ],
      [
        [2, 2, 3, 2, 2, 3],
        [5, 3, 1, 4, 2, 0],
      ],
    ];
    for (const [shape, perm] of perms) {
      await checkOp({
        name: `permute ${shape} by ${perm}`,
        inputs: [randomData(3, shape)],
        gpu: (x) => permute(x, perm),
        cpu: (d) => cpuPermute(d, shape, perm),
      });
    }
    // a slice of every dim of a rank-5 tensor: nothing merges
    const shape = [3, 4, 3, 4, 3];
    const begin = [1, 0, 1, 2, 0];
    const size = [2, 3, 2, 2, 2];
    await checkOp({
      name: 'slice of a rank-5 tensor',
      inputs: [randomData(4, shape)],
      gpu: (x) => slice(x, begin, size),
      cpu: (d) => {
        const out: number[] = [];
        const at = (k: number[]) => k.reduce((o, v, i) => o * shape[i]! + v + begin[i]!, 0);
        const walk = (k: number[]) => {
          if (k.length === shape.length) return void out.push(d[at(k)]!);
          for (let v = 0; v < size[k.length]!; v++) walk([...k, v]);
        };
        walk([]);
        return out;
      },
    });
  });

  it('reductions: kept and reduced ranks 0 to 4', async () => {
    // (2, 3, 2, 3, 2, 3, 2, 3) over alternate axes: 4 kept dims and 4 reduced ones that cannot merge
    const shape = [2, 3, 2, 3, 2, 3, 2, 3];
    for (const axes of [[1, 3, 5, 7], [0, 2, 4, 6], [1, 3, 5], [0, 2], [1], [0, 1, 2, 3, 4, 5, 6, 7]]) {
      for (const [kind, f] of [
        ['sum', sum],
        ['max', max],
      ] as const) {
        await checkOp({
          name: `${kind} of ${shape} over ${axes}`,
          inputs: [distinct(5, shape)],
          gpu: (x) => f(x, axes),
          cpu: (d) => cpuReduce(d, shape, normAxes(shape.length, axes), kind).data,
          rtol: 1e-4,
        });
      }
    }
  });

  it('batch norm: features spread over 1 to 4 kept dims', async () => {
    for (const [shape, axes] of [
      [[6, 5], [0]],
      [
        [3, 4, 5, 2],
        [0, 2],
      ],
      [
        [2, 3, 2, 2, 3, 2],
        [0, 2, 4],
      ],
      [
        [2, 2, 3, 2, 2, 2, 3, 2],
        [0, 2, 4, 6],
      ],
    ] as [number[], number[]][]) {
      await checkOp({
        name: `batchNorm of ${shape} over ${axes}`,
        inputs: [randomData(6, shape)],
        gpu: (x) => batchNorm(x, { axes, training: true, eps: 1e-5 }),
        cpu: (d) => cpuBatchNorm(d, shape, { axes, training: true, eps: 1e-5 }).y,
        rtol: 1e-4,
      });
    }
  });
});
