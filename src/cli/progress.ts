// Terminal progress bars and small text plots. Writes to stderr when it is a terminal, else prints a line
// now and then, so logs of long runs stay readable.

export class Progress {
  private start = Date.now();
  private lastLine = 0;
  private tty: boolean;

  constructor(
    private label: string,
    private total: number,
  ) {
    this.tty = Boolean(process.stderr.isTTY);
  }

  update(done: number, note = ''): void {
    const now = Date.now();
    const finished = done >= this.total;
    if (!this.tty && !finished && now - this.lastLine < 5000) return;
    this.lastLine = now;
    const frac = this.total ? done / this.total : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const secs = (now - this.start) / 1000;
    const eta = frac > 0 && !finished ? ` eta ${((secs / frac) * (1 - frac)).toFixed(0)}s` : '';
    const line = `${this.label} [${bar}] ${done}/${this.total} ${secs.toFixed(1)}s${eta} ${note}`;
    if (this.tty) process.stderr.write(`\r${line.padEnd(100)}${finished ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  }
}

/** A small text plot of a series (e.g. a loss curve): `height` rows, one column per point (resampled). */
export function textPlot(values: number[], height = 8, width = 60): string {
  if (!values.length) return '';
  const cols = Array.from({ length: Math.min(width, values.length) }, (_, i) => {
    const j = Math.floor((i * values.length) / Math.min(width, values.length));
    return values[j]!;
  });
  const lo = Math.min(...cols);
  const hi = Math.max(...cols);
  const span = hi - lo || 1;
  const rows: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    const level = lo + (span * (r + 0.5)) / height;
    const label = r === height - 1 ? hi.toFixed(3) : r === 0 ? lo.toFixed(3) : '';
    rows.push(`${label.padStart(8)} |${cols.map((v) => (v >= level ? '*' : ' ')).join('')}`);
  }
  rows.push(`${''.padStart(8)} +${'-'.repeat(cols.length)}`);
  return rows.join('\n');
}
