// A CSV of numeric features and one label column, parsed from text into the arrays a tabular classifier
// trains on: features (n, d) in file order with the label column removed, and a class index per row.
//
// Accepted: a header line naming the columns, then one row per line; commas between cells; LF or CRLF
// line ends; a trailing newline, blank lines and a UTF-8 byte-order mark are skipped; spaces around a
// cell are dropped; cells and header names may be quoted as RFC 4180 has it ("a,b", "say ""hi""", even
// across lines). Feature cells are decimal numbers (5.1, -2, .5, 1e-3); the label cells are any text.
// Classes are the distinct label values, sorted numerically when every one is a number, else as strings.
// Every problem is an Error naming the file, the line (1-based, as an editor counts, where the row or the
// cell starts) and the column (number and name) where it applies, and saying what to do.
//
// What it is not: no file access (src/io/csv-file.ts reads a file in Node; a page hands its text to
// parseCsv), no other delimiter, no missing values (an empty cell is an error), no categorical features
// (encode them as numbers first), no type inference beyond "number or not", no train/test split or
// scaling (src/data/split.ts).

export interface TabularData {
  /** (n, d) row-major: the numeric feature columns in file order, the label column removed. */
  x: Float32Array;
  /** (n) class index of each row, into `classes`. */
  y: Int32Array;
  /** The distinct label values, sorted (numerically when every label parses as a number, else as strings). */
  classes: string[];
  /** (d) feature column names, from the header. */
  features: string[];
  /** The file name, for messages. */
  source: string;
}

/** One cell as written: text without its quotes or surrounding spaces, where it starts, whether quoted. */
interface Cell {
  text: string;
  line: number;
  quoted: boolean;
}

/** One record: its cells and the line it starts on. */
interface Row {
  cells: Cell[];
  line: number;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const isSpace = (c: string) => c === ' ' || c === '\t';
const ENDS_CELL = new Set([',', '\n', '\r']);

/** `file:line` and, when a column is given, its 1-based number and name. */
function at(file: string, line: number, col?: number, name?: string): string {
  return col === undefined ? `${file}:${line}` : `${file}:${line}: column ${col + 1} (${JSON.stringify(name)})`;
}

/** Where the tokenizer is: the index into the text and the line it is on. */
interface Cursor {
  i: number;
  line: number;
}

/**
 * Reads a quoted cell from the opening quote at cur.i: "" stands for ", line breaks are kept; then skips
 * spaces up to the comma or line end. Throws on a quote never closed or text after the closing quote.
 */
function readQuoted(text: string, file: string, cur: Cursor, cellNo: number): string {
  const open = cur.line;
  let value = '';
  for (cur.i++; ; cur.i++) {
    if (cur.i >= text.length) {
      throw new Error(
        `${at(file, open)}: cell ${cellNo} opens a quote (") that is never closed: ` +
          'close it, or write a quote inside a quoted cell as two ("")',
      );
    }
    const c = text[cur.i]!;
    if (c === '"' && text[cur.i + 1] !== '"') break;
    if (c === '"') cur.i++; // "" -> "
    if (c === '\n' || (c === '\r' && text[cur.i + 1] !== '\n')) cur.line++;
    value += c;
  }
  cur.i++;
  while (cur.i < text.length && isSpace(text[cur.i]!)) cur.i++;
  if (cur.i < text.length && !ENDS_CELL.has(text[cur.i]!)) {
    const after = text.slice(cur.i, cur.i + 20).split(/[\r\n]/)[0];
    throw new Error(
      `${at(file, cur.line)}: cell ${cellNo} has text after its closing quote (${JSON.stringify(after)}): ` +
        'put the whole cell inside the quotes, writing a quote there as ""',
    );
  }
  return value;
}

/** Reads one record from cur: cells up to a line break (LF, CRLF or CR) or the end of the text. */
function readRow(text: string, file: string, cur: Cursor): Row {
  const row: Row = { cells: [], line: cur.line };
  for (;;) {
    while (cur.i < text.length && isSpace(text[cur.i]!)) cur.i++;
    const cell: Cell = { text: '', line: cur.line, quoted: text[cur.i] === '"' };
    if (cell.quoted) {
      cell.text = readQuoted(text, file, cur, row.cells.length + 1);
    } else {
      const start = cur.i;
      while (cur.i < text.length && !ENDS_CELL.has(text[cur.i]!)) cur.i++;
      cell.text = text.slice(start, cur.i).trim();
    }
    row.cells.push(cell);
    if (text[cur.i] !== ',') break;
    cur.i++;
  }
  if (text[cur.i] === '\r') cur.i++;
  if (text[cur.i] === '\n') cur.i++;
  cur.line++;
  return row;
}

/** Splits CSV text into records of cells (RFC 4180 quoting), skipping blank lines. */
function tokenize(text: string, file: string): Row[] {
  const rows: Row[] = [];
  const cur: Cursor = { i: 0, line: 1 };
  while (cur.i < text.length) {
    const row = readRow(text, file, cur);
    const blank = row.cells.length === 1 && !row.cells[0]!.quoted && row.cells[0]!.text === '';
    if (!blank) rows.push(row);
  }
  return rows;
}

/** Numbers by value (then as written: "1" before "1.0"), text by UTF-16 code unit, as every engine sorts it. */
function compareLabels(numeric: boolean) {
  return (a: string, b: string) => {
    if (numeric) {
      const d = Number(a) - Number(b);
      if (d !== 0) return d;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  };
}

/** The header's column names and where the label column is; throws on a nameless, missing or doubled one. */
function readHeader(header: Row, file: string, label: string): { names: string[]; labelAt: number } {
  const names = header.cells.map((c) => c.text);
  const where = at(file, header.line);
  names.forEach((name, j) => {
    if (name === '') {
      throw new Error(
        `${where}: column ${j + 1} of the header has no name: name it, or remove the column ` +
          '(an unnamed first column is often a row number written by a spreadsheet or pandas)',
      );
    }
  });
  const labelAt = names.indexOf(label);
  if (labelAt < 0) {
    const near = names.find((nm) => nm.toLowerCase() === label.toLowerCase());
    throw new Error(
      `${where}: no column named ${JSON.stringify(label)} (--label) in the header; ` +
        `the columns are ${names.map((nm) => JSON.stringify(nm)).join(', ')}` +
        (near ? `: did you mean ${JSON.stringify(near)}? (names are case-sensitive)` : ': pass one of them as --label'),
    );
  }
  const again = names.indexOf(label, labelAt + 1);
  if (again >= 0) {
    throw new Error(
      `${where}: the label column ${JSON.stringify(label)} appears twice (columns ${labelAt + 1} and ${again + 1}): ` +
        'rename one of them',
    );
  }
  if (names.length < 2) {
    throw new Error(
      `${where}: the header has only the label column ${JSON.stringify(label)}: ` +
        'a classifier needs at least one feature column besides it',
    );
  }
  return { names, labelAt };
}

/** What each data row is read against: the header's names and line, the label's column, the file. */
interface Layout {
  file: string;
  headerLine: number;
  names: string[];
  labelAt: number;
}

/** One row's feature values into x from index `offset` (d of them), and its label cell; throws on a bad cell. */
function readCells(row: Row, layout: Layout, x: Float32Array, offset: number): Cell {
  const { file, names, labelAt } = layout;
  const k = names.length;
  if (row.cells.length !== k) {
    const hint =
      row.cells.length === k + 1 && row.cells[k]!.text === '' && !row.cells[k]!.quoted
        ? ' (the row ends with a comma: remove it)'
        : ': each row needs one cell per header column; quote a cell that holds a comma ("a,b")';
    throw new Error(
      `${at(file, row.line)}: expected ${k} cells, as the header on line ${layout.headerLine} names, ` +
        `found ${row.cells.length}${hint}`,
    );
  }
  let f = offset;
  row.cells.forEach((cell, j) => {
    if (cell.text === '') {
      throw new Error(
        `${at(file, cell.line, j, names[j])}: the cell is empty: fill it in, or remove the row ` +
          '(missing values are not supported)',
      );
    }
    if (j === labelAt) return;
    if (!NUMBER.test(cell.text)) {
      throw new Error(
        `${at(file, cell.line, j, names[j])}: the cell ${JSON.stringify(cell.text)} is not a number: every ` +
          `column but the label ${JSON.stringify(names[labelAt])} must hold decimal numbers (e.g. 5.1, -2, ` +
          '1e-3); encode a categorical column as numbers, or remove it',
      );
    }
    const v = Math.fround(Number.parseFloat(cell.text));
    if (!Number.isFinite(v)) {
      throw new Error(
        `${at(file, cell.line, j, names[j])}: the cell ${cell.text} is too large for a float32 (|x| < 3.4e38): ` +
          'rescale the column',
      );
    }
    x[f++] = v;
  });
  return row.cells[labelAt]!;
}

/** Classes from the label cells, sorted, and each row's index; throws on a single class or one of 1 row. */
function readClasses(
  cells: Cell[],
  file: string,
  label: string,
  labelAt: number,
): { classes: string[]; y: Int32Array } {
  const labels = cells.map((c) => c.text);
  const numeric = labels.every((s) => NUMBER.test(s));
  const classes = [...new Set(labels)].sort(compareLabels(numeric));
  const index = new Map(classes.map((c, i) => [c, i]));
  const y = Int32Array.from(labels, (s) => index.get(s)!);
  if (classes.length === 1) {
    throw new Error(
      `${file}: column ${labelAt + 1} (${JSON.stringify(label)}) holds one class only, ` +
        `${JSON.stringify(classes[0])} (all ${labels.length} rows): a classifier needs at least two classes; ` +
        'check that --label names the class column',
    );
  }
  const counts = new Array<number>(classes.length).fill(0);
  for (const c of y) counts[c]++;
  counts.forEach((count, c) => {
    if (count < 2) {
      throw new Error(
        `${at(file, cells[y.indexOf(c)]!.line, labelAt, label)}: the class ${JSON.stringify(classes[c])} has ` +
          `${count} row only: each class needs at least 2 (one for training, one for testing); add rows of it, ` +
          'or remove this one',
      );
    }
  });
  return { classes, y };
}

/**
 * Parses CSV text with a header line into features and class indices. `file` names the text in messages;
 * `label` is the header name of the class column (every other column is a numeric feature).
 */
export function parseCsv(text: string, opts: { file: string; label: string }): TabularData {
  const { file } = opts;
  const label = opts.label.trim();
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows = tokenize(text, file);
  if (rows.length === 0) {
    throw new Error(
      `${file}: the file is empty: a CSV needs a header line naming the columns (e.g. ` +
        `"sepal_length,sepal_width,species"), then one line per row`,
    );
  }
  const header = rows[0]!;
  const { names, labelAt } = readHeader(header, file, label);
  if (rows.length === 1) {
    throw new Error(
      `${file}: the file has a header (line ${header.line}) but no rows: add one line of ${names.length} cells ` +
        'per example',
    );
  }
  const n = rows.length - 1;
  const d = names.length - 1;
  const x = new Float32Array(n * d); // (n, d)
  const layout: Layout = { file, headerLine: header.line, names, labelAt };
  const labelCells = rows.slice(1).map((row, r) => readCells(row, layout, x, r * d));
  const { classes, y } = readClasses(labelCells, file, label, labelAt);
  return { x, y, classes, features: names.filter((_, j) => j !== labelAt), source: file };
}
