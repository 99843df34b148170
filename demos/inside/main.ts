// The `inside` demo, for people studying the stack: one training step of the Iris weight-VAE with the GPU
// time of each kernel (the profiler's timestamp queries, where the adapter has them), the step's dispatches in
// order (Gpu.trace), and the WGSL of a clicked kernel; a "step" button runs the next step and updates it all.
// The work is step.ts's, the tables and the WGSL view.ts's; this file wires them to the page.

import { lineSpec } from '../../src/analysis/figures.js';
import type { Gpu } from '../../src/gpu/runtime.js';
import { chart, nextFrame, onClick, setStatus, startDemo } from '../common/page.js';
import { type StepReport, VaeStepper, ZOO_EPOCHS, ZOO_MODELS } from './step.js';
import { addLossRow, drawDispatches, drawKernels, type KernelSource, showWgsl, sourcesOf } from './view.js';

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`this page has no element #${id}, which the demo needs`);
  return e as T;
}

/** What the page says about timing on this adapter (`timed`: whether the steps are timed). */
function profileNote(g: Gpu, timed: boolean): string {
  if (!g.canProfile) {
    return (
      'This adapter has no timestamp-query feature, so GPU time per kernel cannot be measured here: the table ' +
      'counts the calls of each kernel instead. (Chrome offers them where the GPU and its driver support them; ' +
      'an older Chrome needs chrome://flags/#enable-webgpu-developer-features.)'
    );
  }
  if (!timed) {
    return 'Timing is off (the page was opened with ?timing=off): the table counts the calls of each kernel.';
  }
  const cpu = g.adapter.fallback
    ? ' This adapter is a CPU implementation (SwiftShader): its times are those of CPU threads, and move with ' +
      'whatever else the machine is running.'
    : '';
  return (
    'GPU time between two timestamps around each dispatch (each in its own compute pass while profiling), ' +
    'summed per kernel over the step. Chrome rounds timestamps to 100 us unless ' +
    `chrome://flags/#enable-webgpu-developer-features is on, so a small kernel may read 0 there.${cpu}`
  );
}

startDemo(async (g) => {
  const losses: StepReport[] = [];
  let sources = new Map<string, KernelSource>();
  let selected: HTMLTableRowElement | null = null;
  const pick = (kernel: string, row: HTMLTableRowElement, entry?: string) => {
    const s = sources.get(kernel);
    if (!s) throw new Error(`kernel ${kernel} is not in the last step's dispatches`);
    selected?.classList.remove('selected');
    row.classList.add('selected');
    selected = row;
    const title = byId('wgsl-title');
    showWgsl(byId('wgsl'), title, byId('wgsl-note'), entry ? { module: s.module, entries: [entry] } : s);
    const top = title.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 120) title.scrollIntoView({ block: 'start' }); // the code is off screen
  };

  const show = async (r: StepReport) => {
    losses.push(r);
    sources = sourcesOf(r.dispatches);
    addLossRow(r);
    byId('kernels-title').textContent = timed
      ? `GPU time per kernel, step ${r.step}`
      : `Calls per kernel, step ${r.step} (not timed)`;
    byId('dispatches-title').textContent = `Dispatches of step ${r.step}, in order (${r.dispatches.length})`;
    drawKernels(r.kernels, r.dispatches, pick);
    drawDispatches(r.dispatches, pick);
    if (losses.length >= 2) {
      const x = losses.map((l) => l.step);
      const y = losses.map((l) => l.loss);
      await chart(
        'loss-chart',
        lineSpec({ series: [{ name: 'loss', x, y }], xTitle: 'step', yTitle: 'loss per network', points: true }),
      );
    }
  };

  // ?timing=off shows the page as an adapter without timestamp queries shows it
  const timed = g.canProfile && new URLSearchParams(location.search).get('timing') !== 'off';
  byId('profile-note').textContent = profileNote(g, timed);
  const stepper = await VaeStepper.create(g, (epoch) =>
    setStatus(
      `training the zoo: ${ZOO_MODELS} Iris classifiers as one population, epoch ${epoch + 1} of ${ZOO_EPOCHS}`,
    ),
  );
  const z = stepper.zoo;
  byId('zoo').textContent =
    `The VAE's data: a zoo of ${z.models} Iris classifiers (Linear(4, 3), the first ${z.models} of the paper's Real M1 set) ` +
    `trained here as one population for ${z.epochs} epochs in ${z.seconds.toFixed(1)} s, mean test accuracy ` +
    `${(100 * z.meanAccuracy).toFixed(1)}%; their weight vectors (15 values each), min-max scaled to [0, 1], are ` +
    `the ${z.models} rows of one batch.`;
  setStatus('running the first VAE step (compiling its kernels) ...');
  await nextFrame();
  const first = await stepper.step(timed);
  await show(first);
  byId('first').textContent =
    `first step shown ${(performance.now() / 1e3).toFixed(1)} s after the page began loading ` +
    `(zoo ${z.seconds.toFixed(1)} s, first step ${first.seconds.toFixed(1)} s with its pipelines compiled)`;
  setStatus(`step ${first.step} done: loss ${first.loss.toFixed(4)}`);
  const button = byId<HTMLButtonElement>('step');
  onClick('step', async () => {
    setStatus(`running step ${losses.length + 1} ...`);
    await nextFrame();
    const r = await stepper.step(timed);
    await show(r);
    setStatus(`step ${r.step} done: loss ${r.loss.toFixed(4)}`);
  });
  button.disabled = false;
});
