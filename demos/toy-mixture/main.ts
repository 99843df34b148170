// The toy-mixture demo: the hypernetwork paper's toy problem (src/models/toy-mixture.ts) trained live in the
// page. A train/pause button, a seed, the step and the loss; the generator's curve moves over the heat map of
// the mixture, redrawn every 20 steps (the paper's code animates its figure the same way).
//
// The figure is the command line's (toyCurveSpec, src/analysis/figures-toy.ts), embedded once with vega-embed;
// each redraw replaces only its named data sets (the curve and the means) through the Vega view, so the heat
// map's cells are not drawn again. That is why this page calls vega-embed itself rather than chart() of
// ../common/page.ts, which embeds a new chart each time. Vega rather than a canvas of our own: one spec for
// the command's SVG and for the page, and the page's figure can be read (the tests read the curve's points).
//
// Not here: the model and its training (src/models), the page helpers (../common/page.ts).

import embed from 'vega-embed';
import { TOY_DATA, toyCurveRows, toyCurveSpec, toyPeakRows } from '../../src/analysis/figures-toy.js';
import { type PeakReach, peaksReached, TOY, type ToyProgress, ToyRun, zGrid } from '../../src/models/toy-mixture.js';
import { nextFrame, setStatus, showError, startDemo } from '../common/page.js';

/** Steps between redraws (the paper's code: 20 a frame of its animation). */
const STEPS_PER_FRAME = 20;
/** Cells of the heat map a side: 0.25 wide over [-9, 9] (the command draws 120). */
const HEAT_CELLS = 72;
/** Of the 2,001 z where peaks are looked for, every 5th is drawn: 401 points, as the paper's 400. */
const DRAW_EVERY = 5;

const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const drawnZ = (() => {
  const z = zGrid(TOY.reachGrid);
  return z.filter((_, j) => j % DRAW_EVERY === 0);
})();

type View = Awaited<ReturnType<typeof embed>>['view'];

class ToyDemo {
  private run: ToyRun | null = null;
  private view: View | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private firstLoss: number | null = null;
  private trainMs = 0;
  private trainedSteps = 0;
  private clickedAt = 0;
  private firstTrainedDraw: number | null = null;
  firstFigure: number | null = null;
  /** Called when training starts or stops (an error stops it too). */
  onState: () => void = () => {};

  /** A new run for `seed`: its mixture's heat map, the untrained curve. */
  async load(seed: number): Promise<void> {
    await this.pause();
    this.run?.dispose();
    this.run = null;
    this.firstLoss = null;
    this.trainMs = this.trainedSteps = 0;
    this.firstTrainedDraw = null;
    setStatus(`seed ${seed}: drawing the mixture ...`);
    const run = new ToyRun(seed);
    this.run = run;
    const heat = await run.density.grid(HEAT_CELLS);
    const { points, reach } = await this.curve();
    const spec = toyCurveSpec({
      values: heat.values,
      x: heat.coords,
      y: heat.coords,
      curve: toyCurveRows(points, drawnZ),
      peaks: toyPeakRows(run.mixture.mu, reach.reached),
      radius: TOY.reachRadius,
      width: 460,
      height: 460,
    });
    const res = await embed(el('field'), spec as never, { actions: false, renderer: 'svg' });
    this.view?.finalize();
    this.view = res.view;
    this.showReach(reach);
    this.showProgress(null);
    this.firstFigure ??= performance.now();
    this.showTiming();
    setStatus(`seed ${seed}: untrained; press train`);
  }

  /** The curve over the 2,001 z of the reach grid: the points drawn, and the peaks it reaches. */
  private async curve(): Promise<{ points: Float32Array; reach: PeakReach }> {
    const run = this.run!;
    const all = await run.curve(TOY.reachGrid);
    const points = new Float32Array(2 * drawnZ.length);
    for (let j = 0; j < drawnZ.length; j++) points.set(all.subarray(2 * j * DRAW_EVERY, 2 * j * DRAW_EVERY + 2), 2 * j);
    return { points, reach: peaksReached(all, run.mixture) };
  }

  /** Moves the curve and recolours the means in the embedded figure. */
  private async redraw(): Promise<void> {
    const { points, reach } = await this.curve();
    this.view!.data(TOY_DATA.curve, toyCurveRows(points, drawnZ));
    this.view!.data(TOY_DATA.peaks, toyPeakRows(this.run!.mixture.mu, reach.reached));
    await this.view!.runAsync();
    this.showReach(reach);
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running || !this.run) return;
    this.running = true;
    this.clickedAt = performance.now();
    this.loop = this.trainLoop().catch((e) => {
      this.running = false;
      showError(e);
      this.onState();
    });
  }

  /** Stops after the round in flight, and resolves then. */
  async pause(): Promise<void> {
    this.running = false;
    await this.loop;
    this.loop = null;
  }

  private async trainLoop(): Promise<void> {
    const run = this.run!;
    while (this.running && run === this.run) {
      const t0 = performance.now();
      await run.train({
        until: run.step + STEPS_PER_FRAME,
        every: STEPS_PER_FRAME,
        onRound: (p) => this.showProgress(p),
      });
      this.trainMs += performance.now() - t0;
      this.trainedSteps += STEPS_PER_FRAME;
      await this.redraw();
      if (this.firstTrainedDraw === null) this.firstTrainedDraw = performance.now() - this.clickedAt;
      this.showTiming();
      setStatus(`training: step ${run.step}`);
      await nextFrame();
    }
    setStatus(`paused at step ${run.step}`);
  }

  private showProgress(p: ToyProgress | null): void {
    el('step').textContent = String(this.run?.step ?? 0);
    if (p && this.firstLoss === null) this.firstLoss = p.loss;
    const fmt = (v: number | undefined | null, d = 4) => (v === undefined || v === null ? '–' : v.toFixed(d));
    el('loss').textContent = fmt(p?.loss);
    el('first-loss').textContent = fmt(this.firstLoss);
    el('mean-f').textContent = fmt(p?.f);
    el('entropy').textContent = fmt(p?.entropy);
    el('lr').textContent = p ? p.lr.toExponential(3) : '–';
  }

  private showReach(r: PeakReach): void {
    const peaks = el('peaks');
    peaks.textContent = `${r.count} of ${r.reached.length}`;
    peaks.dataset.count = String(r.count);
  }

  private showTiming(): void {
    const parts = [`first figure ${seconds(this.firstFigure ?? 0)} after the page began loading`];
    if (this.firstTrainedDraw !== null) {
      parts.push(`first trained curve ${seconds(this.firstTrainedDraw)} after train was pressed`);
    }
    if (this.trainedSteps > 0) {
      parts.push(`${((1000 * this.trainedSteps) / this.trainMs).toFixed(0)} steps/s (training alone)`);
    }
    el('timing').textContent = parts.join('; ');
  }
}

startDemo(async () => {
  const demo = new ToyDemo();
  const button = el<HTMLButtonElement>('train');
  const seedInput = el<HTMLInputElement>('seed');
  const seedOf = () => {
    const s = Number(seedInput.value);
    if (!Number.isSafeInteger(s) || s < 0) throw new Error(`seed ${seedInput.value}: must be a whole number >= 0`);
    return s;
  };
  const label = () => {
    button.textContent = demo.isRunning ? 'pause' : 'train';
  };
  demo.onState = label;
  await demo.load(seedOf());
  button.addEventListener('click', async () => {
    if (demo.isRunning) {
      button.disabled = true;
      await demo.pause();
      button.disabled = false;
    } else {
      demo.start();
    }
    label();
  });
  seedInput.addEventListener('change', async () => {
    button.disabled = seedInput.disabled = true;
    try {
      await demo.load(seedOf());
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = seedInput.disabled = false;
      label();
    }
  });
});
