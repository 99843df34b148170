// parseCsv (src/data/csv.ts) on CSV text: what it accepts (CRLF, quoting, spaces, blank lines, a BOM), the
// arrays it builds, the order of classes, and every error with the file, line and column it names.
// Files on disk are test/csv-file.node.test.ts's.

import { describe, expect, it } from 'vitest';
import { parseCsv } from '../src/data/csv.js';
import { loadIris } from '../src/data/iris.js';

const parse = (text: string, label = 'class') => parseCsv(text, { file: 'data.csv', label });

/** The message parseCsv throws on text, or a failure when it does not throw. */
function errorOf(text: string, label = 'class'): string {
  try {
    parse(text, label);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`expected parseCsv to throw on ${JSON.stringify(text)}`);
}

describe('parseCsv: what it reads', () => {
  it('reads features in file order around the label column, and class indices', () => {
    const data = parse('a,class,b\n1,x,2\n3,y,4\n5,x,6\n7,y,8\n');
    expect(data.features).toEqual(['a', 'b']);
    expect(data.classes).toEqual(['x', 'y']);
    expect(Array.from(data.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(data.y)).toEqual([0, 1, 0, 1]);
    expect(data.source).toBe('data.csv');
  });

  it('stores float32 of each decimal cell, in every accepted spelling', () => {
    const cells = ['5.1', '-2', '+3.25', '.5', '7.', '1e-3', '-4.5E+2', '0.1', '123456789.123'];
    const header = cells.map((_, j) => `f${j}`).join(',');
    const row = cells.join(',');
    const data = parse(`${header},class\n${row},a\n${row},b\n${row},a\n${row},b\n`);
    const want = Float32Array.from(cells, Number);
    expect(Array.from(data.x.subarray(0, cells.length))).toEqual(Array.from(want));
  });

  it('accepts CRLF, quoted names and cells, spaces, blank lines, a BOM and no trailing newline', () => {
    const text =
      '\ufeff "sepal length" , "class"\r\n' +
      '\r\n' +
      ' 1.5 , "iris ""setosa"", wild"\r\n' +
      '  "2.5",plain  \r\n' +
      '   \r\n' +
      '3.5,"iris ""setosa"", wild"\r\n' +
      '4.5 ,plain';
    const data = parse(text);
    expect(data.features).toEqual(['sepal length']);
    expect(data.classes).toEqual(['iris "setosa", wild', 'plain'].sort());
    expect(Array.from(data.x)).toEqual([1.5, 2.5, 3.5, 4.5]);
    const setosa = data.classes.indexOf('iris "setosa", wild');
    expect(Array.from(data.y)).toEqual([setosa, 1 - setosa, setosa, 1 - setosa]);
  });

  it('reads a quoted label that spans lines', () => {
    const data = parse('v,class\n1,"two\nlines"\n2,one\n3,"two\nlines"\n4,one\n');
    expect(data.classes).toEqual(['one', 'two\nlines']);
    expect(Array.from(data.y)).toEqual([1, 0, 1, 0]);
  });

  it('sorts numeric labels by value and text labels as strings', () => {
    const numeric = parse('v,class\n1,10\n2,2\n3,-1\n4,2.5\n5,10\n6,2\n7,-1\n8,2.5\n');
    expect(numeric.classes).toEqual(['-1', '2', '2.5', '10']);
    expect(Array.from(numeric.y)).toEqual([3, 1, 0, 2, 3, 1, 0, 2]);
    const text = parse('v,class\n1,10\n2,2\n3,b\n4,B\n5,10\n6,2\n7,b\n8,B\n');
    expect(text.classes).toEqual(['10', '2', 'B', 'b']);
  });

  it('reads Iris written as CSV to the same values and labels as loadIris', () => {
    const iris = loadIris();
    const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
    const lines = [[...names, 'species'].join(',')];
    for (let i = 0; i < iris.y.length; i++) {
      const row = Array.from(iris.x.subarray(i * 4, i * 4 + 4), (v) => String(Number(v.toPrecision(6))));
      lines.push([...row, iris.classes[iris.y[i]!]].join(','));
    }
    const data = parseCsv(lines.join('\r\n'), { file: 'iris.csv', label: 'species' });
    expect(data.features).toEqual(names);
    expect(data.classes).toEqual(iris.classes);
    expect(Array.from(data.y)).toEqual(Array.from(iris.y));
    expect(Array.from(data.x)).toEqual(Array.from(iris.x));
  });
});

describe('parseCsv: errors name the file, line and column, and say what to do', () => {
  it('an empty file', () => {
    expect(errorOf('')).toMatch(/^data\.csv: the file is empty: a CSV needs a header line/);
    expect(errorOf('\n \r\n\n')).toMatch(/^data\.csv: the file is empty/);
  });

  it('a header and no rows', () => {
    expect(errorOf('\na,class\n\n')).toMatch(/^data\.csv: the file has a header \(line 2\) but no rows: add one line/);
  });

  it('a missing label column, listing the columns there are', () => {
    const msg = errorOf('a,b,species\n1,2,x\n', 'label');
    expect(msg).toMatch(/^data\.csv:1: no column named "label" \(--label\) in the header/);
    expect(msg).toContain('the columns are "a", "b", "species"');
    expect(errorOf('a,Species\n1,x\n', 'species')).toContain('did you mean "Species"?');
  });

  it('a non-numeric feature cell, quoted, with line and column', () => {
    const msg = errorOf('a,b,class\n1,2,x\n\n3,abc,y\n');
    expect(msg).toMatch(/^data\.csv:4: column 2 \("b"\): the cell "abc" is not a number/);
    expect(msg).toContain('encode a categorical column as numbers, or remove it');
    expect(errorOf('a,class\n1,x\nNaN,y\n')).toMatch(/^data\.csv:3: column 1 \("a"\): the cell "NaN" is not a number/);
    expect(errorOf('a,class\n0x10,x\n1,y\n')).toMatch(/the cell "0x10" is not a number/);
    expect(errorOf('a,class\n1,x\n2,y\n-4e38,x\n3,y\n')).toMatch(
      /^data\.csv:4: column 1 \("a"\): the cell -4e38 is too large for a float32/,
    );
  });

  it('ragged rows: expected k cells, found m', () => {
    expect(errorOf('a,b,class\n1,2,x\n1,2\n')).toMatch(
      /^data\.csv:3: expected 3 cells, as the header on line 1 names, found 2: each row needs one cell per header column/,
    );
    expect(errorOf('a,b,class\r\n1,2,x\r\n1,2,y,4\r\n')).toMatch(/^data\.csv:3: expected 3 cells.*found 4/);
    expect(errorOf('a,class\n1,x\n2,y,\n')).toMatch(/found 3 \(the row ends with a comma: remove it\)/);
  });

  it('counts lines as an editor does, across CRLF, blank lines and quoted line breaks', () => {
    const text = 'a,class\r\n1,"two\r\nlines"\r\n\r\n2,x\r\n3,"y\ny"\n4,oops,1\n';
    expect(errorOf(text)).toMatch(/^data\.csv:8: expected 2 cells/);
  });

  it('a class with fewer than 2 rows, named with its count', () => {
    const msg = errorOf('a,class\n1,x\n2,y\n3,x\n4,y\n5,lonely\n');
    expect(msg).toMatch(/^data\.csv:6: column 2 \("class"\): the class "lonely" has 1 row only/);
    expect(msg).toContain('each class needs at least 2');
  });

  it('a single class', () => {
    expect(errorOf('a,class\n1,x\n2,x\n3,x\n')).toMatch(
      /^data\.csv: column 2 \("class"\) holds one class only, "x" \(all 3 rows\): a classifier needs at least two/,
    );
  });

  it('an empty cell, feature or label, quoted or not', () => {
    expect(errorOf('a,b,class\n1,2,x\n3,,y\n')).toMatch(
      /^data\.csv:3: column 2 \("b"\): the cell is empty: fill it in/,
    );
    expect(errorOf('a,class\n1,x\n2, \n')).toMatch(/^data\.csv:3: column 2 \("class"\): the cell is empty/);
    expect(errorOf('a,class\n1,x\n"",y\n')).toMatch(/^data\.csv:3: column 1 \("a"\): the cell is empty/);
  });

  it('broken quoting and odd headers', () => {
    expect(errorOf('a,class\n1,"x\n2,y\n')).toMatch(/^data\.csv:2: cell 2 opens a quote \("\) that is never closed/);
    expect(errorOf('a,class\n1,"x"y\n')).toMatch(/^data\.csv:2: cell 2 has text after its closing quote \("y"\)/);
    expect(errorOf(',a,class\n0,1,x\n')).toMatch(/^data\.csv:1: column 1 of the header has no name/);
    expect(errorOf('class,a,class\nx,1,x\n')).toMatch(
      /^data\.csv:1: the label column "class" appears twice \(columns 1 and 3\)/,
    );
    expect(errorOf('class\nx\ny\n')).toMatch(/^data\.csv:1: the header has only the label column "class"/);
  });
});
