// The page's two tables: Table 1 (a row a set, in the paper's order, filled in as each set is trained, beside
// the published values, with the numbers formatted as `weightgen iris table1` prints them), and the
// networks sampled by the "sample" button. Plain DOM; the numbers come from src/models/table1.ts.
//
// Not here: computing any accuracy (pipeline.ts), charts (main.ts).

import { PUBLISHED, type Table1Row } from '../../src/models/table1.js';
import type { Networks } from './pipeline.js';

type SetName = 'R1' | 'S1' | 'G1' | 'R2' | 'G2';

/** The rows this page trains, in Table 1's order, with what each set is. */
const ROWS: [SetName, string][] = [
  ['R1', 'Real zoo (M1)'],
  ['S1', 'Scrambled zoo (M1)'],
  ['G1', 'VAE samples (M1)'],
  ['R2', 'Real-2 zoo (M2)'],
  ['G2', 'enhanced VAE samples (M2)'],
];

function cell(tag: 'td' | 'th', text: string, className?: string): HTMLElement {
  const c = document.createElement(tag);
  c.textContent = text;
  if (className) c.className = className;
  return c;
}

/** mean +- std, two decimals, as the command line prints Table 1. */
const pm = (mean: number, std: number) => `${mean.toFixed(2)} ± ${std.toFixed(2)}`;

/** Empties Table 1 to its five pending rows (published values filled in); n: networks in each set. */
export function resetTable1(table: HTMLTableElement, n: number): void {
  table.replaceChildren();
  table.createCaption().textContent = `${n} networks in each set (the paper's: 500)`;
  const head = table.createTHead().insertRow();
  for (const h of ['set', 'networks', 'ours (%)', 'published (%)', 'difference']) head.append(cell('th', h));
  const body = table.createTBody();
  for (const [set, what] of ROWS) {
    const tr = body.insertRow();
    tr.dataset.set = set;
    tr.dataset.state = 'pending';
    const p = PUBLISHED[set];
    tr.append(
      cell('td', set),
      cell('td', what),
      cell('td', '…', 'ours'),
      cell('td', pm(p.mean, p.std), 'published'),
      cell('td', '', 'difference'),
    );
  }
}

/** Fills one row of Table 1. */
export function fillTable1(table: HTMLTableElement, row: Table1Row): void {
  const tr = table.querySelector<HTMLTableRowElement>(`tr[data-set="${row.set}"]`);
  if (!tr) throw new Error(`Table 1 has no row ${row.set} (rows: ${ROWS.map((r) => r[0]).join(', ')})`);
  const d = row.mean - PUBLISHED[row.set].mean;
  tr.dataset.n = String(row.n);
  tr.title = `${row.n} networks`;
  tr.querySelector('.ours')!.textContent = pm(row.mean, row.std);
  tr.querySelector('.difference')!.textContent = `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)}`;
  tr.dataset.state = 'done';
}

/** Marks the row being computed (the others keep their state). */
export function markRunning(table: HTMLTableElement, set: SetName | null): void {
  table.querySelectorAll<HTMLTableRowElement>('tbody tr').forEach((tr) => {
    if (tr.dataset.state !== 'done') tr.dataset.state = tr.dataset.set === set ? 'running' : 'pending';
  });
}

/** Mean, population std, min and max of accuracies in [0, 1], as percentages. */
export function summary(acc: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  const n = acc.length;
  let [m, lo, hi] = [0, Infinity, -Infinity];
  for (let i = 0; i < n; i++) [m, lo, hi] = [m + acc[i]! / n, Math.min(lo, acc[i]!), Math.max(hi, acc[i]!)];
  let v = 0;
  for (let i = 0; i < n; i++) v += (acc[i]! - m) ** 2 / n;
  return { mean: 100 * m, std: 100 * Math.sqrt(v), min: 100 * lo, max: 100 * hi };
}

/** The sampled-networks table: one row a VAE, with the sample's accuracy. */
export function showSamples(table: HTMLTableElement, samples: { label: string; g: Networks }[], draw: number): void {
  table.replaceChildren();
  const cap = table.createCaption();
  cap.textContent = `draw ${draw}: new networks decoded from z ~ N(0, I), tested on Iris's 50 test rows (chance 33.3%)`;
  const head = table.createTHead().insertRow();
  for (const h of ['from', 'networks', 'test accuracy (%)', 'min', 'max']) head.append(cell('th', h));
  const body = table.createTBody();
  for (const { label, g } of samples) {
    const s = summary(g.accuracy);
    const tr = body.insertRow();
    tr.dataset.arch = g.arch;
    tr.append(
      cell('td', label),
      cell('td', String(g.accuracy.length), 'n'),
      cell('td', pm(s.mean, s.std), 'accuracy'),
      cell('td', s.min.toFixed(0), 'min'),
      cell('td', s.max.toFixed(0), 'max'),
    );
  }
}
