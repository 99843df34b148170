// `weightgen toy-mixture`: the toy problem of the hypernetwork paper (src/models/toy-mixture.ts) in one run
// folder, trained, then drawn as the paper's Fig. 2a.
//
//   toy.ckpt.safetensors   the training checkpoint (resumed where it stopped; finished = the trained generator)
//   train-log.jsonl        one line per round of TOY.every steps: step, loss, f, H, |y|^2, lr
//   curve.json             the mixture, the curve G(z) over 400 z with f along it and the spacing of its points
//                          (the paper's Fig. 2b and 2c), and which peaks the curve reaches, before and after
//   curve.svg/png          f as a heat map, the curve and the means (reached or missed)
//   training.svg/png       the loss and its terms per round
//   manifest.json          the settings each file was made with: a run refuses files made with others
//
// Node only (files).

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineSpec } from '../analysis/figures.js';
import { toyCurveRows, toyCurveSpec, toyPeakRows } from '../analysis/figures-toy.js';
import { fileCheckpointer } from '../io/checkpoint.js';
import { writeJson } from '../io/files.js';
import { RunManifest, type Settings } from '../io/manifest.js';
import { writeFigure } from '../io/render.js';
import { type PeakReach, peaksReached, TOY, type ToyProgress, ToyRun, zGrid } from '../models/toy-mixture.js';
import { Progress } from './progress.js';

export interface ToyOptions {
  run: string;
  seed: number;
  steps: number;
}

export interface ToyResult {
  seed: number;
  steps: number;
  /** Seconds this invocation trained (0 when the checkpoint had finished already). */
  trainSeconds: number;
  reach: { radiusSigmas: number; grid: number; untrained: PeakReach; trained: PeakReach };
  last: ToyProgress | null;
}

const CKPT = 'toy.ckpt.safetensors';
const LOG = 'train-log.jsonl';
const CURVE = 'curve.json';
/** The grid of f drawn under the curve: cells of 0.2 over [-9, 9] (8,100 rects: a 2.5 MB SVG). */
const HEAT_CELLS = 90;

/** Rounds of TOY.every steps; fewer steps than that are one round. */
function roundLength(steps: number): number {
  if (steps <= TOY.every) return steps;
  if (steps % TOY.every !== 0) {
    throw new Error(
      `--steps ${steps}: above ${TOY.every}, steps must be a multiple of ${TOY.every} (a round of training)`,
    );
  }
  return TOY.every;
}

function settingsOf(o: ToyOptions): Settings {
  const { curvePoints, reachGrid, reachRadius, box, every, steps, ...problem } = TOY;
  return { seed: o.seed, steps: o.steps, round: roundLength(o.steps), ...problem };
}

/** Trains (or resumes, or finds the training done), then writes curve.json and the figures. */
export async function toyMixture(o: ToyOptions): Promise<ToyResult> {
  const every = roundLength(o.steps);
  mkdirSync(o.run, { recursive: true });
  const manifest = RunManifest.open(o.run);
  const settings = settingsOf(o);
  const redo = `rm -r ${o.run}`;
  for (const f of [CKPT, CURVE]) manifest.check(f, settings, redo);
  const untrained = await untrainedReach(o.seed);
  const run = new ToyRun(o.seed);
  try {
    const trainSeconds = await trainRun(run, o, every, manifest, settings);
    const result = await writeResults(run, o, untrained, trainSeconds);
    manifest.record(CURVE, settings);
    return result;
  } finally {
    run.dispose();
  }
}

/** Which peaks the generator reaches as initialised, before any step. */
async function untrainedReach(seed: number): Promise<PeakReach> {
  const fresh = new ToyRun(seed);
  try {
    return peaksReached(await fresh.curve(TOY.reachGrid), fresh.mixture);
  } finally {
    fresh.dispose();
  }
}

async function trainRun(run: ToyRun, o: ToyOptions, every: number, manifest: RunManifest, s: Settings) {
  const inner = fileCheckpointer(join(o.run, CKPT), 1);
  const ckpt = {
    ...inner,
    save: (state: Parameters<typeof inner.save>[0]) => {
      inner.save(state);
      manifest.record(CKPT, s);
    },
  };
  const saved = inner.load();
  if (saved && saved.epoch * every >= o.steps) {
    run.gen.loadStateDict(saved.model, join(o.run, CKPT));
    console.log(`${CKPT}: training finished (${o.steps} steps), skipped`);
    return 0;
  }
  console.log(
    `toy mixture (seed ${o.seed}): ${o.steps} steps of ${TOY.batch} z, lr ${TOY.lr} x ${TOY.lrDecay}/step, ` +
      `lambda ${TOY.lambda}, gamma ${TOY.gamma}` +
      (saved ? `; resuming at step ${saved.epoch * every}` : ''),
  );
  const bar = new Progress('training', o.steps);
  const t0 = Date.now();
  await run.train({
    until: o.steps,
    every,
    ckpt,
    onRound: async (p) => {
      appendFileSync(join(o.run, LOG), `${JSON.stringify(p)}\n`);
      const reach = peaksReached(await run.curve(TOY.reachGrid), run.mixture);
      bar.update(
        p.step,
        `loss ${p.loss.toFixed(3)} f ${p.f.toFixed(3)} H ${p.entropy.toFixed(3)} peaks ${reach.count}/${TOY.components}`,
      );
    },
  });
  return (Date.now() - t0) / 1000;
}

/** The log's lines, the last one for each step (a resumed run may repeat a round). */
function readLog(path: string): ToyProgress[] {
  if (!existsSync(path)) return [];
  const byStep = new Map<number, ToyProgress>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim()) byStep.set((JSON.parse(line) as ToyProgress).step, JSON.parse(line));
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** Each point's distance to its nearer neighbour along the curve (the code's Fig. 2c). */
function spacing(c: ArrayLike<number>): number[] {
  const n = c.length / 2;
  const gap = (j: number) => Math.hypot(c[2 * j + 2]! - c[2 * j]!, c[2 * j + 3]! - c[2 * j + 1]!);
  return Array.from({ length: n }, (_, j) => Math.min(j > 0 ? gap(j - 1) : Infinity, j < n - 1 ? gap(j) : Infinity));
}

async function writeResults(run: ToyRun, o: ToyOptions, untrained: PeakReach, trainSeconds: number) {
  const trained = peaksReached(await run.curve(TOY.reachGrid), run.mixture);
  const z = zGrid(TOY.curvePoints);
  const points = await run.curve(TOY.curvePoints);
  const f = await run.density.grid(HEAT_CELLS);
  const fCurve = await run.density.at(points);
  const log = readLog(join(o.run, LOG));
  const m = run.mixture;
  const result: ToyResult = {
    seed: o.seed,
    steps: o.steps,
    trainSeconds,
    reach: { radiusSigmas: TOY.reachRadius, grid: TOY.reachGrid, untrained, trained },
    last: log.at(-1) ?? null,
  };
  const { trainSeconds: _, ...record } = result; // (0 when a finished training is found: not the run's figure)
  writeJson(join(o.run, CURVE), {
    ...record,
    mixture: { mu: pairs(m.mu), sigma: [...m.sigma], p: [...m.p] },
    curve: { z: [...z], y: pairs(points), f: [...fCurve], spacing: spacing(points) },
  });
  const title = `toy problem, seed ${o.seed}, ${o.steps} steps: the curve reaches ${trained.count} of ${TOY.components} peaks`;
  const spec = toyCurveSpec({
    title,
    values: f.values,
    x: f.coords,
    y: f.coords,
    curve: toyCurveRows(points, z),
    peaks: toyPeakRows(m.mu, trained.reached),
    radius: TOY.reachRadius,
    width: 420,
    height: 420,
  });
  await writeFigure(join(o.run, 'curve'), spec);
  if (log.length > 0) await writeFigure(join(o.run, 'training'), trainingSpec(log));
  return result;
}

/** (n, 2) row-major as n pairs. */
function pairs(v: ArrayLike<number>): [number, number][] {
  return Array.from({ length: v.length / 2 }, (_, i) => [v[2 * i]!, v[2 * i + 1]!]);
}

function trainingSpec(log: ToyProgress[]) {
  const x = log.map((q) => q.step);
  return lineSpec({
    title: 'toy problem: the loss and its terms, mean of each round',
    xTitle: 'step',
    yTitle: 'value',
    series: [
      { name: 'loss', x, y: log.map((q) => q.loss) },
      { name: 'mean f(y)', x, y: log.map((q) => q.f) },
      { name: 'entropy H', x, y: log.map((q) => q.entropy) },
    ],
  });
}
