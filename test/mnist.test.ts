// MNIST's browser-safe parts on synthetic bytes: the IDX parser and its errors, the 55k/5k split, gathering
// a batch, and the per-network batcher (one pass = every row once, determinism, resume, pass boundaries).
// The real files and folders are tested in mnist.node.test.ts.

import { describe, expect, it } from 'vitest';
import {
  gatherImages,
  gatherLabels,
  type IdxArray,
  MNIST_VAL_ROWS,
  mnistSplit,
  NetworkBatcher,
  networkPermutation,
  parseIdx,
} from '../src/data/mnist.js';
import { Rng } from '../src/tensor/rng.js';

/** An IDX file of unsigned bytes, written by hand: 0 0 8 ndims, big-endian dims, values. */
function idxBytes(dims: number[], values: (i: number) => number, type = 0x08): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  out.set([0, 0, type, dims.length]);
  dims.forEach((d, i) => {
    out.set([(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255], 4 + 4 * i);
  });
  for (let i = 0; i < count; i++) out[4 + 4 * dims.length + i] = values(i);
  return out;
}

const pixel = (i: number) => (i * 7 + 3) % 256; // a pattern with every byte value, 0 and 255 included
const label = (i: number) => (i * 3) % 10;

function synthetic(train: number, test: number) {
  const p = 28 * 28;
  return {
    trainImages: parseIdx(idxBytes([train, 28, 28], pixel), 'train-images-idx3-ubyte'),
    trainLabels: parseIdx(idxBytes([train], label), 'train-labels-idx1-ubyte'),
    testImages: parseIdx(
      idxBytes([test, 28, 28], (i) => pixel(i + p)),
      't10k-images-idx3-ubyte',
    ),
    testLabels: parseIdx(
      idxBytes([test], (i) => label(i + 1)),
      't10k-labels-idx1-ubyte',
    ),
  };
}

describe('parseIdx', () => {
  it('reads dims and values', () => {
    const a = parseIdx(idxBytes([3, 2, 5], pixel), 'x');
    expect(a.dims).toEqual([3, 2, 5]);
    expect(Array.from(a.data)).toEqual(Array.from({ length: 30 }, (_, i) => pixel(i)));
    const big = parseIdx(idxBytes([70000], label), 'y'); // a dim over 65535: all four header bytes matter
    expect(big.dims).toEqual([70000]);
  });

  it('names the file and the problem', () => {
    const good = idxBytes([10, 28, 28], pixel);
    expect(() => parseIdx(good.subarray(0, 16 + 1000), 'imgs')).toThrow(
      /^imgs: truncated: the header says 10 x 28 x 28 = 7840 pixels, the file holds 1000 bytes after the header/,
    );
    const long = new Uint8Array(good.length + 5);
    long.set(good);
    expect(() => parseIdx(long, 'imgs')).toThrow(/^imgs: too long: .* 7845 bytes after the header \(5 extra\)/);
    expect(() => parseIdx(good.subarray(0, 10), 'imgs')).toThrow(/^imgs: truncated header: 3 dimensions need 16/);
    expect(() => parseIdx(good.subarray(0, 2), 'imgs')).toThrow(/^imgs: not an IDX file: 2 bytes/);
    const magic = good.slice();
    magic[1] = 1;
    expect(() => parseIdx(magic, 'imgs')).toThrow(/^imgs: not an IDX file: .*found 0x00 0x01/);
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0]), 'l.gz')).toThrow(/gunzip it first/);
    expect(() => parseIdx(idxBytes([4], label, 0x0d), 'f')).toThrow(/^f: IDX type 0x0d \(float.*only 0x08/);
    expect(() => parseIdx(idxBytes([4], label, 0x42), 'f')).toThrow(/^f: IDX type 0x42 \(an unknown type\)/);
  });
});

describe('mnistSplit', () => {
  it('train = first N - 5000 rows, val = last 5000, pixels byte / 255', () => {
    const s = synthetic(5003, 4);
    const split = mnistSplit(s.trainImages, s.trainLabels, s.testImages, s.testLabels);
    expect([split.height, split.width, split.classes]).toEqual([28, 28, 10]);
    expect([split.train.y.length, split.val.y.length, split.test.y.length]).toEqual([3, MNIST_VAL_ROWS, 4]);
    expect([split.train.x.length, split.val.x.length, split.test.x.length]).toEqual([3 * 784, 5000 * 784, 4 * 784]);
    const expectRow = (x: Float32Array, row: number, first: number) => {
      const want = Float32Array.from({ length: 784 }, (_, p) => pixel(first + p) / 255);
      expect(Array.from(x.subarray(row * 784, (row + 1) * 784))).toEqual(Array.from(want));
    };
    expectRow(split.train.x, 2, 2 * 784);
    expectRow(split.val.x, 0, 3 * 784); // training file row 3
    expectRow(split.val.x, 4999, 5002 * 784);
    expectRow(split.test.x, 3, 4 * 784);
    expect(Array.from(split.train.y)).toEqual([0, 1, 2].map(label));
    expect(split.val.y[0]).toBe(label(3));
    expect(split.test.y[0]).toBe(label(1));
    const first = split.val.x.subarray(0, 784 * 10); // every byte value occurs in the first rows
    expect([first.reduce((a, b) => Math.min(a, b)), first.reduce((a, b) => Math.max(a, b))]).toEqual([0, 1]);
  });

  it('rejects wrong shapes, counts, labels and too few rows, naming the file', () => {
    const s = synthetic(5001, 2);
    const ok = () => mnistSplit(s.trainImages, s.trainLabels, s.testImages, s.testLabels);
    expect(ok).not.toThrow();
    const with_ = (k: keyof typeof s, a: IdxArray) => () => {
      const t = { ...s, [k]: a };
      return mnistSplit(t.trainImages, t.trainLabels, t.testImages, t.testLabels);
    };
    const src = 't10k-images-idx3-ubyte';
    expect(with_('testImages', { dims: [2, 28, 27], data: new Uint8Array(2 * 28 * 27), source: src })).toThrow(
      /^t10k-images-idx3-ubyte: images are 28 x 27; the target network takes 28 x 28/,
    );
    expect(with_('testImages', { dims: [2, 784], data: new Uint8Array(2 * 784), source: src })).toThrow(
      /images should be 3-D \(N, H, W\) = \(N, 28, 28\), found 2-D \(2, 784\)/,
    );
    expect(with_('testLabels', parseIdx(idxBytes([3], label), 'L'))).toThrow(
      /^L: 3 labels for 2 images in t10k-images-idx3-ubyte/,
    );
    expect(
      with_(
        'testLabels',
        parseIdx(
          idxBytes([2], (i) => 9 + i),
          'L',
        ),
      ),
    ).toThrow(/^L: label 1 is 10, outside/);
    const few = synthetic(5000, 2);
    expect(() => mnistSplit(few.trainImages, few.trainLabels, few.testImages, few.testLabels)).toThrow(
      /^train-images-idx3-ubyte: 5000 training images; .*at least 5001/,
    );
  });
});

describe('gatherImages / gatherLabels', () => {
  it('copies the rows asked for, in order', () => {
    const s = synthetic(5002, 3);
    const { train } = mnistSplit(s.trainImages, s.trainLabels, s.testImages, s.testLabels);
    const x = gatherImages(train, [1, 0, 1]);
    expect(x.length).toBe(3 * 784);
    expect(Array.from(x.subarray(0, 784))).toEqual(Array.from(train.x.subarray(784, 1568)));
    expect(Array.from(x.subarray(784, 1568))).toEqual(Array.from(train.x.subarray(0, 784)));
    expect(Array.from(gatherLabels(train, new Int32Array([1, 0, 1])))).toEqual([label(1), label(0), label(1)]);
    expect(() => gatherImages(train, [0, 2])).toThrow(/index 2 at position 1 is not a row of this part \(0\.\.1\)/);
    expect(() => gatherLabels(train, [-1])).toThrow(/gatherLabels: index -1/);
  });
});

/** Network g's rows over `steps` steps, as one sequence. */
function stream(b: NetworkBatcher, steps: number, g: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < steps; s++) out.push(...b.next().subarray(g * b.perNetwork, (g + 1) * b.perNetwork));
  return out;
}

describe('NetworkBatcher', () => {
  it('each pass of each network is a permutation, a new one every pass, different across networks', () => {
    const rows = 50;
    const b = new NetworkBatcher(rows, 3, 10, 7); // 5 steps per pass
    const seqs = [[], [], []] as number[][];
    for (let s = 0; s < 15; s++) {
      const batch = b.next();
      expect(batch.length).toBe(30);
      for (let g = 0; g < 3; g++) seqs[g]!.push(...batch.subarray(g * 10, (g + 1) * 10));
    }
    const sorted = Array.from({ length: rows }, (_, i) => i);
    for (const seq of seqs) {
      for (let pass = 0; pass < 3; pass++) {
        expect([...seq.slice(pass * rows, (pass + 1) * rows)].sort((a, c) => a - c)).toEqual(sorted);
      }
      expect(seq.slice(0, rows)).not.toEqual(seq.slice(rows, 2 * rows));
    }
    expect(seqs[0]!.slice(0, rows)).not.toEqual(seqs[1]!.slice(0, rows));
    expect(seqs[1]!.slice(0, rows)).not.toEqual(seqs[2]!.slice(0, rows));
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = stream(new NetworkBatcher(40, 2, 6, 8734), 9, 1);
    expect(stream(new NetworkBatcher(40, 2, 6, 8734), 9, 1)).toEqual(a);
    expect(stream(new NetworkBatcher(40, 2, 6, 8735), 9, 1)).not.toEqual(a);
  });

  it("a network's rows depend only on (seed, network, pass): not on G, n, or the other networks", () => {
    const rows = 30;
    // Reference: the Philox generator keyed by seed * 2^20 + g, one stream per pass, as documented.
    const ref = (g: number, pass: number) => {
      const r = new Rng(5 * 2 ** 20 + g);
      r.position = pass;
      return Array.from(r.permutation(rows));
    };
    const want = [...ref(2, 0), ...ref(2, 1), ...ref(2, 2)];
    expect(stream(new NetworkBatcher(rows, 3, 9, 5), 10, 2)).toEqual(want); // 90 rows = 3 passes
    expect(stream(new NetworkBatcher(rows, 8, 45, 5), 2, 2)).toEqual(want);
    expect(Array.from(networkPermutation(rows, 5, 2, 1))).toEqual(ref(2, 1));
  });

  it('a batch crossing the end of a pass takes the rest from the next pass; n may exceed the rows', () => {
    const rows = 10;
    const b = new NetworkBatcher(rows, 2, 4, 3);
    const p0 = Array.from(networkPermutation(rows, 3, 1, 0));
    const p1 = Array.from(networkPermutation(rows, 3, 1, 1));
    b.next();
    b.next(); // rows 0..7 of pass 0
    expect(Array.from(b.next().subarray(4, 8))).toEqual([...p0.slice(8), ...p1.slice(0, 2)]);
    const big = new NetworkBatcher(rows, 1, 25, 3); // 2.5 passes per batch
    const q = [0, 1, 2].map((pass) => Array.from(networkPermutation(rows, 3, 0, pass)));
    expect(Array.from(big.next())).toEqual([...q[0]!, ...q[1]!, ...q[2]!.slice(0, 5)]);
  });

  it('state/load resumes with exactly the same batches', () => {
    const make = () => new NetworkBatcher(23, 4, 5, 11);
    const straight = make();
    const first = make();
    for (let s = 0; s < 7; s++) expect(Array.from(first.next())).toEqual(Array.from(straight.next()));
    const saved = JSON.parse(JSON.stringify(first.state())) as Record<string, number>;
    expect(saved.batcherStep).toBe(7);
    const resumed = make();
    resumed.load({ ...saved, otherKey: 3 });
    for (let s = 0; s < 12; s++) expect(Array.from(resumed.next())).toEqual(Array.from(straight.next()));
    resumed.load(saved); // going back works too
    const again = make();
    again.load(saved);
    expect(Array.from(resumed.next())).toEqual(Array.from(again.next()));
  });

  it('rejects bad settings and malformed or foreign states', () => {
    expect(() => new NetworkBatcher(0, 2, 2, 1)).toThrow(/integers > 0, got 0, 2, 2/);
    expect(() => new NetworkBatcher(10, 2, 2, -1)).toThrow(/seed must be an integer in \[0, 2\^33\), got -1/);
    const b = new NetworkBatcher(10, 2, 3, 1);
    const good = b.state();
    expect(() => b.load({ ...good, batcherStep: 1.5 })).toThrow(/batcherStep should be an integer >= 0, got 1.5/);
    const { batcherStep: _, ...noStep } = good;
    expect(() => b.load(noStep)).toThrow(/batcherStep should be an integer >= 0, got undefined/);
    expect(() => b.load(null as unknown as Record<string, number>)).toThrow(/expected an object from state\(\)/);
    expect(() => b.load({ ...good, batcherNetworks: 4, batcherSeed: 2 })).toThrow(
      /saved state is for batcherNetworks 4, batcherSeed 2, this batcher has batcherNetworks 2, batcherSeed 1/,
    );
  });
});
