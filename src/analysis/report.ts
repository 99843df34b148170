// One self-contained HTML page for a run folder: a section per analysis with its figures inline (as data: URLs,
// each SVG its own document so that ids and styles of two figures never meet), its numbers in tables, the
// settings it was made with, and for what is missing or out of date the command that makes it. Pure text from
// data: no files, no scripts in the page, every value escaped. Browser-safe.
// Not here: reading the run folder (src/cli/hypernet-report.ts).

export type SectionStatus = 'made' | 'missing' | 'stale';

export interface ReportFigure {
  alt: string;
  mime: 'image/svg+xml' | 'image/png';
  base64: string;
}

export interface ReportTable {
  caption?: string;
  head: string[];
  rows: (string | number)[][];
}

export interface ReportSection {
  id: string; // the anchor, and data-section in the page
  title: string;
  status: SectionStatus;
  /** What made it (made, stale) or makes it (missing). */
  command?: string;
  /** Why a stale section is stale, or other remarks, one line each. */
  notes?: string[];
  figures?: ReportFigure[];
  tables?: ReportTable[];
  /** The settings recorded in the run folder's manifest. */
  settings?: unknown;
}

export interface ReportOptions {
  title: string;
  /** Lines under the title (the run folder, the trained model, when the page was made). */
  intro: string[];
  sections: ReportSection[];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin: 0 0 8px; }
.intro { color: #555; margin: 0 0 16px; } nav { margin-bottom: 8px; } nav span { margin-right: 14px; }
section { border-top: 1px solid #ddd; padding: 16px 0; }
.status { font-size: 12px; padding: 1px 8px; border-radius: 9px; margin-left: 8px; vertical-align: middle; }
.made { background: #e3f4e1; color: #1d5e17; } .missing { background: #f6e0e0; color: #8a1c1c; }
.stale { background: #fbefd5; color: #7a5200; }
code, pre { font: 12px/1.4 ui-monospace, monospace; background: #f5f5f5; padding: 1px 4px; }
pre { padding: 8px; overflow-x: auto; max-height: 220px; }
table { border-collapse: collapse; margin: 4px 0 12px; } .caption { font-weight: 600; margin: 8px 0 0; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } th { background: #f5f5f5; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 8px 0; } figure img { max-width: 100%; height: auto; }
details summary { cursor: pointer; color: #555; }
`;

function table(t: ReportTable): string {
  const cell = (tag: string, v: string | number) => `<${tag}>${escapeHtml(String(v))}</${tag}>`;
  // the caption above the table, not in it: a caption is as wide as its table, and these are long
  const caption = t.caption ? `<p class="caption">${escapeHtml(t.caption)}</p>\n` : '';
  const head = `<tr>${t.head.map((h) => cell('th', h)).join('')}</tr>`;
  const rows = t.rows.map((r) => `<tr>${r.map((v) => cell('td', v)).join('')}</tr>`).join('\n');
  return `${caption}<table>\n<thead>${head}</thead>\n<tbody>${rows}</tbody></table>`;
}

function figure(f: ReportFigure): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(f.base64)) throw new Error(`reportHtml: figure '${f.alt}' is not base64 data`);
  return `<figure><img alt="${escapeHtml(f.alt)}" src="data:${f.mime};base64,${f.base64}"></figure>`;
}

function section(s: ReportSection): string {
  const parts = [
    `<section id="${escapeHtml(s.id)}" data-section="${escapeHtml(s.id)}" data-status="${s.status}">`,
    `<h2>${escapeHtml(s.title)}<span class="status ${s.status}">${s.status}</span></h2>`,
  ];
  if (s.command) {
    const what = s.status === 'made' ? 'made by' : 'make it with';
    parts.push(`<p>${what}: <code>${escapeHtml(s.command)}</code></p>`);
  }
  for (const n of s.notes ?? []) parts.push(`<p>${escapeHtml(n)}</p>`);
  for (const f of s.figures ?? []) parts.push(figure(f));
  for (const t of s.tables ?? []) parts.push(table(t));
  if (s.settings !== undefined) {
    const json = escapeHtml(JSON.stringify(s.settings, null, 2));
    parts.push(`<details><summary>settings (manifest.json)</summary><pre>${json}</pre></details>`);
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** The page: title, intro lines, a table of contents with each section's status, then the sections. */
export function reportHtml(o: ReportOptions): string {
  const ids = new Set<string>();
  for (const s of o.sections) {
    if (ids.has(s.id)) throw new Error(`reportHtml: two sections have the id '${s.id}'; ids must be unique`);
    ids.add(s.id);
  }
  const nav = o.sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.id)}</a> (${s.status})`);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(o.title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(o.title)}</h1>`,
    ...o.intro.map((l) => `<p class="intro">${escapeHtml(l)}</p>`),
    `<nav>${nav.map((n) => `<span>${n}</span>`).join('\n')}</nav>`,
    ...o.sections.map(section),
    '</body></html>',
    '',
  ].join('\n');
}
