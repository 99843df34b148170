// readCsv (src/io/csv-file.ts) on files written to a temporary folder: a good file, each CSV error as a file
// gives it (naming the path, line and column), and what only files have: a missing path, a folder, gzip,
// bytes that are not UTF-8.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsv } from '../src/io/csv-file.js';

const dir = mkdtempSync(join(tmpdir(), 'weightgen-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes text (or bytes) to a file in the temporary folder and returns its path. */
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function errorOf(path: string, label = 'species'): string {
  try {
    readCsv(path, { label });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`expected readCsv to throw on ${path}`);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('readCsv', () => {
  it('reads a CRLF file with quoted names and the label in the middle', () => {
    const path = file('good.csv', '"width","species",height\r\n1.5,"a, b",2\r\n2.5,c,3\r\n3.5,"a, b",4\r\n4.5,c,5\r\n');
    const data = readCsv(path, { label: 'species' });
    expect(data.source).toBe(path);
    expect(data.features).toEqual(['width', 'height']);
    expect(data.classes).toEqual(['a, b', 'c']);
    expect(Array.from(data.x)).toEqual([1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]);
    expect(Array.from(data.y)).toEqual([0, 1, 0, 1]);
  });

  it('gives each CSV error with the path, the line and the column', () => {
    const cases: [string, string, RegExp][] = [
      ['empty.csv', '', /: the file is empty/],
      ['header-only.csv', 'a,species\r\n', /: the file has a header \(line 1\) but no rows/],
      [
        'no-label.csv',
        'a,b\n1,2\n',
        /:1: no column named "species" \(--label\) in the header; the columns are "a", "b"/,
      ],
      ['text.csv', 'a,species\n1,x\n2,y\n3,x\n"four",y\n', /:5: column 1 \("a"\): the cell "four" is not a number/],
      ['ragged.csv', 'a,b,species\n1,2,x\n3,y\n', /:3: expected 3 cells, as the header on line 1 names, found 2/],
      ['one-row-class.csv', 'a,species\n1,x\n2,x\n3,y\n', /:4: column 2 \("species"\): the class "y" has 1 row only/],
      ['one-class.csv', 'a,species\n1,x\n2,x\n', /: column 2 \("species"\) holds one class only, "x" \(all 2 rows\)/],
      ['empty-cell.csv', 'a,b,species\n1,2,x\n1,,y\n', /:3: column 2 \("b"\): the cell is empty/],
    ];
    for (const [name, text, want] of cases) {
      const path = file(name, text);
      const msg = errorOf(path);
      expect(msg, name).toMatch(new RegExp(`^${esc(path)}`));
      expect(msg, name).toMatch(want);
    }
  });

  it('says what is wrong with a path that is not a readable UTF-8 CSV', () => {
    expect(errorOf(join(dir, 'missing.csv'))).toMatch(/missing\.csv: no such file: check the path given to --csv/);
    const sub = join(dir, 'folder.csv');
    mkdirSync(sub);
    expect(errorOf(sub)).toMatch(/folder\.csv: is a folder, not a CSV file/);
    expect(errorOf(file('zipped.csv', gzipSync('a,species\n1,x\n')))).toMatch(/: the file is gzip-compressed: gunzip/);
    expect(errorOf(file('latin1.csv', Uint8Array.from([0x61, 0x2c, 0xe9, 0x0a])))).toMatch(/: not UTF-8 text/);
  });
});

describe('the committed example, test/fixtures/wine.csv (make_wine_csv.py)', () => {
  it("reads as scikit-learn's load_wine: 178 rows, 13 features, cultivars of 59, 71 and 48", () => {
    const d = readCsv(fileURLToPath(new URL('fixtures/wine.csv', import.meta.url)), { label: 'cultivar' });
    expect(d.features.length).toBe(13);
    expect(d.features[0]).toBe('alcohol');
    expect(d.classes).toEqual(['class_0', 'class_1', 'class_2']);
    const counts = [0, 0, 0];
    for (const y of d.y) counts[y]!++;
    expect(counts).toEqual([59, 71, 48]);
    expect(d.x.length).toBe(178 * 13);
    expect([d.x[0], d.x[12]]).toEqual([Math.fround(14.23), 1065]); // the first wine's alcohol and proline
  });
});
