// The `inside` page's tables and WGSL view, drawn from a step's report (step.ts): the GPU time per kernel,
// the dispatch list, the loss per step, and a module of shaders/ with line numbers, the shared prelude's end
// marked and the entry points of the clicked kernel highlighted. Plain DOM, no framework; no GPU work here.

import { sourceLine } from '../../src/gpu/kernels.js';
import type { DispatchTrace } from '../../src/gpu/runtime.js';
import { PRELUDE_LINES, SHADERS } from '../../src/gpu/shaders.gen.js';
import type { ProfiledKernel, StepReport } from './step.js';

/** Where a kernel's code is: a module of shaders/ and the entry points it was dispatched through. */
export interface KernelSource {
  module: string;
  entries: string[];
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function body(id: string): HTMLTableSectionElement {
  const t = document.querySelector<HTMLTableSectionElement>(`#${id} tbody`);
  if (!t) throw new Error(`this page has no table #${id} with a tbody, which the demo needs`);
  return t;
}

function cellWith(child: Node): HTMLTableCellElement {
  const td = el('td');
  td.append(child);
  return td;
}

/** A kernel's name as a button that shows its WGSL. */
function kernelButton(kernel: string, onPick: (kernel: string, row: HTMLTableRowElement) => void): HTMLButtonElement {
  const b = el('button', kernel, 'kernel');
  b.type = 'button';
  b.dataset.kernel = kernel;
  b.addEventListener('click', () => onPick(kernel, b.closest('tr')!));
  return b;
}

const label = (d: DispatchTrace) => {
  const c = Object.entries(d.constants);
  return `${d.module}:${d.entry}${c.length ? `(${c.map(([k, v]) => `${k}=${v}`).join(',')})` : ''}`;
};

/** A uniform value as written: floats to 6 significant digits, arrays in brackets. */
function fmtValue(v: number | number[]): string {
  const one = (x: number) => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))));
  return typeof v === 'number' ? one(v) : `[${v.map(one).join(',')}]`;
}

/** Which module and entry points each kernel name was dispatched through (one name may use two entries). */
export function sourcesOf(dispatches: DispatchTrace[]): Map<string, KernelSource> {
  const out = new Map<string, KernelSource>();
  for (const d of dispatches) {
    const s = out.get(d.kernel) ?? { module: d.module, entries: [] };
    if (!s.entries.includes(d.entry)) s.entries.push(d.entry);
    out.set(d.kernel, s);
  }
  return out;
}

/** The per-kernel table: GPU ms, us a call and share when timed, '-' when the adapter cannot time. */
export function drawKernels(
  rows: ProfiledKernel[],
  dispatches: DispatchTrace[],
  onPick: (kernel: string, row: HTMLTableRowElement) => void,
): void {
  const labels = new Map<string, Set<string>>();
  for (const d of dispatches) labels.set(d.kernel, (labels.get(d.kernel) ?? new Set()).add(label(d)));
  const total = rows.reduce((s, r) => s + (r.ms ?? 0), 0) || 1;
  const tb = body('kernels');
  tb.replaceChildren(
    ...rows.map((r) => {
      const tr = el('tr');
      tr.dataset.kernel = r.kernel;
      const timed = r.ms !== null;
      tr.append(
        cellWith(kernelButton(r.kernel, onPick)),
        el('td', [...(labels.get(r.kernel) ?? [])].join(' ')),
        el('td', String(r.calls)),
        el('td', timed ? r.ms!.toFixed(3) : '-'),
        el('td', timed ? ((1e3 * r.ms!) / r.calls).toFixed(1) : '-'),
        el('td', timed ? `${((100 * r.ms!) / total).toFixed(1)}%` : '-'),
      );
      return tr;
    }),
  );
}

/** The dispatch list, one row a dispatch, in the order recorded. */
export function drawDispatches(
  dispatches: DispatchTrace[],
  onPick: (kernel: string, row: HTMLTableRowElement, entry: string) => void,
): void {
  body('dispatches').replaceChildren(
    ...dispatches.map((d, i) => {
      const tr = el('tr');
      tr.dataset.kernel = d.kernel;
      tr.dataset.module = d.module;
      tr.dataset.entry = d.entry;
      const buffers = d.bindings.map((b) => `${b.name} ${b.bytes}`).join(', ');
      const uniforms = Object.entries(d.uniforms)
        .map(([k, v]) => `${k}=${fmtValue(v)}`)
        .join(' ');
      tr.append(
        el('td', String(i + 1)),
        cellWith(kernelButton(d.kernel, (k, row) => onPick(k, row, d.entry))),
        el('td', label(d)),
        el('td', d.workgroups.join(' x ')),
        el('td', buffers),
        el('td', uniforms),
      );
      return tr;
    }),
  );
}

/** Appends a row to the loss table. */
export function addLossRow(r: StepReport): void {
  const tr = el('tr');
  tr.append(
    el('td', String(r.step)),
    el('td', r.loss.toFixed(4)),
    el('td', String(r.dispatches.length)),
    el('td', (1e3 * r.seconds).toFixed(0)),
  );
  body('losses').append(tr);
}

/**
 * Shows a module of shaders/ (the prelude, then the file) with its line numbers, a line where the prelude
 * ends, and the lines that open `entries` highlighted; scrolls to the first of them.
 */
export function showWgsl(pre: HTMLElement, title: HTMLElement, note: HTMLElement, src: KernelSource): void {
  const code = (SHADERS as Record<string, string>)[src.module];
  if (code === undefined) {
    throw new Error(`no WGSL for module '${src.module}': it is not a file of shaders/ (SHADERS lists them)`);
  }
  const lines = code.split('\n');
  const width = String(lines.length).length;
  const opens = (line: string) => src.entries.some((e) => new RegExp(`^fn ${e}\\(`).test(line));
  const nodes: Node[] = [];
  let first: HTMLElement | null = null;
  const found: string[] = [];
  lines.forEach((text, i) => {
    const n = i + 1;
    const span = el('span', undefined, opens(text) ? 'entry' : undefined);
    span.append(el('span', `${String(n).padStart(width)}  `, 'ln'), `${text}\n`);
    nodes.push(span);
    if (opens(text)) {
      first ??= span;
      const at = sourceLine(src.module, n);
      found.push(`${/^fn (\w+)/.exec(text)![1]} at line ${n} (${at.file}:${at.line})`);
    }
    if (n === PRELUDE_LINES) {
      nodes.push(
        el(
          'span',
          `${''.padStart(width)}  // ---- end of shaders/prelude.wgsl; shaders/${src.module}.wgsl follows ----\n`,
          'end-prelude',
        ),
      );
    }
  });
  pre.replaceChildren(...nodes);
  title.textContent = `WGSL: shaders/${src.module}.wgsl`;
  note.textContent =
    `Lines 1-${PRELUDE_LINES} are shaders/prelude.wgsl, which heads every module (WGSL has no include); ` +
    `line n after it is line n - ${PRELUDE_LINES} of shaders/${src.module}.wgsl. Entry point${found.length > 1 ? 's' : ''}: ` +
    `${found.join('; ') || src.entries.join(', ')}.`;
  const target = first as HTMLElement | null;
  if (target) pre.scrollTop = Math.max(0, target.offsetTop - pre.offsetTop - 40);
}
