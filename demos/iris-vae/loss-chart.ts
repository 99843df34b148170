// The live loss curve: every stage's mean training loss per epoch, one line a stage, drawn with lineSpec
// (src/analysis/figures.ts, the spec the command line renders) through vega-embed. Points arrive every
// epoch; the chart is redrawn at most every `every` ms (and once more when asked to flush), so that drawing
// never slows the training it shows. Not here: the training (pipeline.ts).

import { lineSpec } from '../../src/analysis/figures.js';
import { chart, showError } from '../common/page.js';

export class LossChart {
  private readonly series = new Map<string, { x: number[]; y: number[] }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last = 0;
  private drawn: Promise<void> = Promise.resolve();
  /** Points drawn so far (the page shows it; the tests read it). */
  points = 0;

  constructor(
    private readonly id: string,
    private readonly every = 600,
  ) {}

  reset(): void {
    this.series.clear();
    this.points = 0;
  }

  add(name: string, x: number, y: number): void {
    let s = this.series.get(name);
    if (!s) this.series.set(name, (s = { x: [], y: [] }));
    s.x.push(x);
    s.y.push(y);
    if (this.timer === null) {
      this.timer = setTimeout(() => this.draw(), Math.max(0, this.last + this.every - performance.now()));
    }
  }

  /** Draws what has arrived now and resolves when it is on the page. */
  flush(): Promise<void> {
    this.draw();
    return this.drawn;
  }

  private draw(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.last = performance.now();
    if (this.series.size === 0) return;
    const series = [...this.series].map(([name, s]) => ({ name, x: [...s.x], y: [...s.y] }));
    const positive = series.every((s) => s.y.every((v) => v > 0));
    const spec = lineSpec({
      series,
      xTitle: 'epoch',
      yTitle: positive ? 'mean training loss (log scale)' : 'mean training loss',
      logY: positive,
      width: 280,
      height: 240,
    });
    const n = series.reduce((s, x) => s + x.x.length, 0);
    this.drawn = this.drawn
      .then(() => chart(this.id, spec))
      .then(() => {
        this.points = n;
        document.getElementById(this.id)?.setAttribute('data-points', String(n));
      })
      .catch(showError);
  }
}
