// A CSV file read in Node and parsed by src/data/csv.ts: what `weightgen tabular --csv FILE --label COLUMN`
// loads. The path, as given, names the file in every message.
//
// What it is not: no parsing of its own (parseCsv does it all, and a page calls parseCsv on text it
// fetched), no gzip or other encodings than UTF-8, no download, no cache.

import { readFileSync, statSync } from 'node:fs';
import { parseCsv, type TabularData } from '../data/csv.js';

/** Reads a UTF-8 CSV file and parses it (see parseCsv). Errors name the path and say what to do. */
export function readCsv(path: string, opts: { label: string }): TabularData {
  let bytes: Uint8Array;
  try {
    if (statSync(path).isDirectory()) {
      throw new Error(`${path}: is a folder, not a CSV file: give --csv the path of a .csv file`);
    }
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new Error(`${path}: no such file: check the path given to --csv`);
    if (err.code === 'EACCES') throw new Error(`${path}: permission denied: make the file readable`);
    throw err;
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new Error(`${path}: the file is gzip-compressed: gunzip it first`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path}: not UTF-8 text: save the CSV as UTF-8 (spreadsheets offer "CSV UTF-8")`);
  }
  return parseCsv(text, { file: path, label: opts.label });
}
