// Per-kernel GPU time from timestamp queries, summed over calls and printed as a table.
// The runtime writes two timestamps around each dispatch when profiling is on; this file only keeps score.

export interface ProfileRow {
  kernel: string;
  calls: number;
  totalMs: number;
  share: number; // of all profiled GPU time, 0..1
}

export class Profiler {
  private rows = new Map<string, { calls: number; ns: number }>();

  record(kernel: string, ns: number): void {
    const r = this.rows.get(kernel) ?? { calls: 0, ns: 0 };
    r.calls++;
    r.ns += Math.max(0, ns);
    this.rows.set(kernel, r);
  }

  reset(): void {
    this.rows.clear();
  }

  summary(): ProfileRow[] {
    const total = [...this.rows.values()].reduce((s, r) => s + r.ns, 0) || 1;
    return [...this.rows.entries()]
      .map(([kernel, r]) => ({ kernel, calls: r.calls, totalMs: r.ns / 1e6, share: r.ns / total }))
      .sort((a, b) => b.totalMs - a.totalMs);
  }

  /** The summary as an aligned text table. */
  table(): string {
    const rows = this.summary();
    const w = Math.max(6, ...rows.map((r) => r.kernel.length));
    const head = `${'kernel'.padEnd(w)}  ${'calls'.padStart(7)}  ${'total ms'.padStart(10)}  ${'share'.padStart(6)}`;
    const lines = rows.map(
      (r) =>
        `${r.kernel.padEnd(w)}  ${String(r.calls).padStart(7)}  ${r.totalMs.toFixed(3).padStart(10)}  ` +
        `${(100 * r.share).toFixed(1).padStart(5)}%`,
    );
    const total = rows.reduce((s, r) => s + r.totalMs, 0);
    return [head, ...lines, `${'total'.padEnd(w)}  ${''.padStart(7)}  ${total.toFixed(3).padStart(10)}`].join('\n');
  }
}
