// MNIST for the hypernetwork paper: the IDX file format parsed from bytes, the fixed 55,000 / 5,000 /
// 10,000 split with pixels in [0, 1], and a batcher that gives each of G generated networks its own
// shuffled stream of training images (docs/models.md (paper 2): 32 z, each with its own 32 images).
//
// What it is not: no file access (src/io/mnist-files.ts reads the four files in Node; a page can fetch
// the bytes and call parseIdx itself), no gzip (the Node loader gunzips first), no augmentation or
// normalisation beyond byte / 255, and no GPU upload (gatherImages / gatherLabels build the arrays a
// caller uploads).

import { Rng } from '../tensor/rng.js';

export const MNIST_HEIGHT = 28;
export const MNIST_WIDTH = 28;
export const MNIST_CLASSES = 10;
/** Validation rows: the LAST 5,000 rows of the training file. */
export const MNIST_VAL_ROWS = 5000;

/** An IDX array of unsigned bytes: dims as in the header, data row-major. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
  /** Where it came from (a file name or path), for error messages. */
  source?: string;
}

/** One part of the split. */
export interface MnistPart {
  /** (N, H * W) row-major, pixels byte / 255 in [0, 1]. */
  x: Float32Array;
  /** (N) labels in [0, 10). */
  y: Int32Array;
}

export interface MnistSplit {
  height: number;
  width: number;
  classes: 10;
  /** The first N - 5,000 rows of the training file (55,000 for MNIST). */
  train: MnistPart;
  /** The last 5,000 rows of the training file. */
  val: MnistPart;
  /** The whole test file (10,000 for MNIST). */
  test: MnistPart;
}

// ---- IDX ----

const IDX_TYPES: Record<number, string> = {
  8: 'unsigned byte',
  9: 'signed byte',
  11: 'short (2 bytes)',
  12: 'int (4 bytes)',
  13: 'float (4 bytes)',
  14: 'double (8 bytes)',
};

const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;

/** What the values of an IDX array are, for messages: MNIST's labels are 1-D, its images 3-D. */
const noun = (ndims: number) => (ndims === 1 ? 'labels' : ndims === 3 ? 'pixels' : 'values');

/**
 * Parses an IDX file (magic 0x00 0x00 type ndims, then ndims big-endian u32 dims, then the values).
 * Only type 0x08 (unsigned byte, MNIST's) is supported. Throws an Error naming `source` and what is wrong.
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) {
    throw new Error(`${source}: not an IDX file: ${bytes.length} bytes, less than the 4-byte magic number`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (it is gzip-compressed: gunzip it first)' : '';
    throw new Error(
      `${source}: not an IDX file: the magic number should start 0x00 0x00, found ${hex(bytes[0]!)} ${hex(bytes[1]!)}${gz}`,
    );
  }
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  if (type !== 0x08) {
    const name = IDX_TYPES[type] ? `${IDX_TYPES[type]} values` : 'an unknown type';
    throw new Error(`${source}: IDX type ${hex(type)} (${name}) is not supported: only 0x08 (unsigned byte, MNIST's)`);
  }
  if (ndims === 0) throw new Error(`${source}: the IDX header says 0 dimensions; MNIST's files have 1 or 3`);
  const header = 4 + 4 * ndims;
  if (bytes.length < header) {
    throw new Error(
      `${source}: truncated header: ${ndims} dimensions need ${header} header bytes, the file holds ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const held = bytes.length - header;
  const says = `the header says ${dims.join(' x ')} = ${count} ${noun(ndims)}`;
  if (held < count) throw new Error(`${source}: truncated: ${says}, the file holds ${held} bytes after the header`);
  if (held > count) {
    throw new Error(
      `${source}: too long: ${says}, the file holds ${held} bytes after the header (${held - count} extra)`,
    );
  }
  return { dims, data: bytes.subarray(header), source };
}

// ---- the split ----

const nameOf = (a: IdxArray, what: string) => a.source ?? what;

/** Checks images are (N, 28, 28): the target network's input. Returns N. */
function checkImages(images: IdxArray, what: string): number {
  const src = nameOf(images, what);
  if (images.dims.length !== 3) {
    throw new Error(
      `${src}: images should be 3-D (N, H, W) = (N, 28, 28), found ${images.dims.length}-D (${images.dims.join(', ')})`,
    );
  }
  const [n, h, w] = images.dims as [number, number, number];
  if (h !== MNIST_HEIGHT || w !== MNIST_WIDTH) {
    throw new Error(
      `${src}: images are ${h} x ${w}; the target network takes ${MNIST_HEIGHT} x ${MNIST_WIDTH} images (MNIST's layout)`,
    );
  }
  return n;
}

/** Checks labels are (N) with the images' N and values in [0, 10). */
function checkLabels(labels: IdxArray, rows: number, what: string, imagesWhat: string): void {
  const src = nameOf(labels, what);
  if (labels.dims.length !== 1) {
    throw new Error(`${src}: labels should be 1-D (N), found ${labels.dims.length}-D (${labels.dims.join(', ')})`);
  }
  if (labels.dims[0] !== rows) {
    throw new Error(`${src}: ${labels.dims[0]} labels for ${rows} images in ${imagesWhat}: the counts must match`);
  }
  const bad = labels.data.findIndex((v) => v >= MNIST_CLASSES);
  if (bad >= 0) {
    throw new Error(`${src}: label ${bad} is ${labels.data[bad]}, outside [0, ${MNIST_CLASSES})`);
  }
}

const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** Rows [start, end) of images and labels, pixels byte / 255. */
function part(images: IdxArray, labels: IdxArray, start: number, end: number): MnistPart {
  const pixels = MNIST_HEIGHT * MNIST_WIDTH;
  const src = images.data.subarray(start * pixels, end * pixels);
  const x = new Float32Array(src.length); // (end - start, 784)
  for (let i = 0; i < src.length; i++) x[i] = BYTE_TO_UNIT[src[i]!]!;
  return { x, y: Int32Array.from(labels.data.subarray(start, end)) };
}

/**
 * The paper's split: train = the first N - 5,000 training rows, val = the last 5,000, test = the test file.
 * Validates every array first; errors name the file (IdxArray.source) and what is wrong.
 */
export function mnistSplit(
  trainImages: IdxArray,
  trainLabels: IdxArray,
  testImages: IdxArray,
  testLabels: IdxArray,
): MnistSplit {
  const nTrain = checkImages(trainImages, 'training images');
  checkLabels(trainLabels, nTrain, 'training labels', nameOf(trainImages, 'training images'));
  const nTest = checkImages(testImages, 'test images');
  checkLabels(testLabels, nTest, 'test labels', nameOf(testImages, 'test images'));
  if (nTrain <= MNIST_VAL_ROWS) {
    throw new Error(
      `${nameOf(trainImages, 'training images')}: ${nTrain} training images; validation takes the last ` +
        `${MNIST_VAL_ROWS} rows, so the training file needs at least ${MNIST_VAL_ROWS + 1} (MNIST has 60000)`,
    );
  }
  const cut = nTrain - MNIST_VAL_ROWS;
  return {
    height: MNIST_HEIGHT,
    width: MNIST_WIDTH,
    classes: MNIST_CLASSES,
    train: part(trainImages, trainLabels, 0, cut),
    val: part(trainImages, trainLabels, cut, nTrain),
    test: part(testImages, testLabels, 0, nTest),
  };
}

// ---- gathering a batch ----

function checkIndices(indices: ArrayLike<number>, rows: number, fn: string): void {
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= rows) {
      throw new Error(`${fn}: index ${i} at position ${k} is not a row of this part (0..${rows - 1})`);
    }
  }
}

/** (indices.length, H * W): the images of the given rows, in order. */
export function gatherImages(p: MnistPart, indices: ArrayLike<number>): Float32Array {
  const rows = p.y.length;
  checkIndices(indices, rows, 'gatherImages');
  const pixels = rows > 0 ? p.x.length / rows : MNIST_HEIGHT * MNIST_WIDTH;
  const out = new Float32Array(indices.length * pixels);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    out.set(p.x.subarray(i * pixels, (i + 1) * pixels), k * pixels);
  }
  return out;
}

/** (indices.length): the labels of the given rows, in order. */
export function gatherLabels(p: MnistPart, indices: ArrayLike<number>): Int32Array {
  checkIndices(indices, p.y.length, 'gatherLabels');
  return Int32Array.from(indices as ArrayLike<number>, (i) => p.y[i]!);
}

// ---- the batcher ----

/** Network g's permutation of 0..rows-1 in pass `pass`: a function of (seed, g, pass) only. */
export function networkPermutation(rows: number, seed: number, network: number, pass: number): Int32Array {
  const rng = new Rng(seed * 2 ** 20 + network); // Philox key: (seed, network); stream: pass
  rng.position = pass;
  return rng.permutation(rows);
}

const STATE_KEYS = ['batcherStep', 'batcherRows', 'batcherNetworks', 'batcherPerNetwork', 'batcherSeed'] as const;

/**
 * Row indices for G networks, n rows each per step. Network g walks its own permutation of all rows, a new
 * one every pass (networkPermutation(rows, seed, g, pass)); a batch crossing the end of a pass takes the rest
 * from the next. Every network advances n rows a step, so the position is the step count alone.
 * Holds one permutation per network (G x rows Int32), drawn when a network enters a pass.
 */
export class NetworkBatcher {
  private step = 0;
  private readonly perms: (Int32Array | null)[];
  private readonly passes: number[];

  constructor(
    readonly rows: number,
    readonly networks: number,
    readonly perNetwork: number,
    readonly seed: number,
  ) {
    const positive = (v: number) => Number.isSafeInteger(v) && v > 0;
    if (!positive(rows) || !positive(networks) || !positive(perNetwork)) {
      throw new Error(
        `NetworkBatcher: rows, networks and perNetwork must be integers > 0, got ${rows}, ${networks}, ${perNetwork}`,
      );
    }
    if (networks > 2 ** 20) throw new Error(`NetworkBatcher: at most 2^20 networks, got ${networks}`);
    if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 33) {
      throw new Error(`NetworkBatcher: seed must be an integer in [0, 2^33), got ${seed}`);
    }
    this.perms = new Array(networks).fill(null);
    this.passes = new Array(networks).fill(-1);
  }

  /** (G * n) row indices, network-major: network g's rows at [g * n, (g + 1) * n). */
  next(): Int32Array {
    const { networks: G, perNetwork: n, rows } = this;
    const out = new Int32Array(G * n);
    const start = this.step * n; // position in each network's endless sequence of passes
    for (let g = 0; g < G; g++) {
      for (let k = 0; k < n; k++) {
        const pos = start + k;
        out[g * n + k] = this.permutation(g, Math.floor(pos / rows))[pos % rows]!;
      }
    }
    this.step++;
    return out;
  }

  /** Network g's permutation for a pass, drawn on entering the pass (the previous one is dropped). */
  private permutation(g: number, pass: number): Int32Array {
    if (this.passes[g] !== pass) {
      this.perms[g] = networkPermutation(this.rows, this.seed, g, pass);
      this.passes[g] = pass;
    }
    return this.perms[g]!;
  }

  /** The position to save with a checkpoint, with the settings it is valid for. */
  state(): Record<string, number> {
    return {
      batcherStep: this.step,
      batcherRows: this.rows,
      batcherNetworks: this.networks,
      batcherPerNetwork: this.perNetwork,
      batcherSeed: this.seed,
    };
  }

  /** Restores a position saved by state() (other keys are ignored), so the next batches are the same. */
  load(state: Record<string, number>): void {
    if (typeof state !== 'object' || state === null) {
      throw new Error(`NetworkBatcher.load: expected an object from state(), got ${String(state)}`);
    }
    for (const key of STATE_KEYS) {
      const v = state[key];
      if (!Number.isSafeInteger(v) || v! < 0) {
        throw new Error(`NetworkBatcher.load: ${key} should be an integer >= 0, got ${JSON.stringify(v)}`);
      }
    }
    const mine = this.state();
    const differs = STATE_KEYS.slice(1).filter((k) => state[k] !== mine[k]);
    if (differs.length > 0) {
      const show = (s: Record<string, number>) => differs.map((k) => `${k} ${s[k]}`).join(', ');
      throw new Error(
        `NetworkBatcher.load: the saved state is for ${show(state)}, this batcher has ${show(mine)}; ` +
          'resume with the same data and settings, or start a new run',
      );
    }
    this.step = state.batcherStep!;
  }
}
