// The iris-vae demo: the weight-VAE paper's Iris pipeline trained live in the page (pipeline.ts), with the
// loss curve (loss-chart.ts), Table 1 filling in row by row (tables.ts), a "sample" button that decodes new
// networks from both VAEs and tests them, and the VAEs' latent space as a scatter drawn by a WebGPU render
// pipeline of its own (latent-panel.ts, scatter.ts, latent-scatter.wgsl), pan and zoom included.
//
// Not here: any model (src/models), the latent projection (latent.ts), the page helpers (../common/page.ts).

import { histogramSpec } from '../../src/analysis/figures.js';
import type { Gpu } from '../../src/gpu/index.js';
import { chart, onClick, setStatus, startDemo } from '../common/page.js';
import { LatentPanel } from './latent-panel.js';
import { LossChart } from './loss-chart.js';
import { type PipelineHooks, runPipeline, SERIES, SIZES, type SizeName, Trained } from './pipeline.js';
import { fillTable1, markRunning, resetTable1, showSamples } from './tables.js';

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function setupSizes(select: HTMLSelectElement): void {
  const words: Record<SizeName, string> = { small: 'small', browser: 'browser', paper: "the paper's" };
  for (const [name, s] of Object.entries(SIZES) as [SizeName, (typeof SIZES)[SizeName]][]) {
    const o = new Option(
      `${words[name]}: ${s.models} networks a zoo, VAEs ${s.vaeEpochs} and ${s.evaeEpochs} epochs`,
      name,
      name === 'browser',
      name === 'browser',
    );
    select.append(o);
  }
}

async function run(g: Gpu): Promise<void> {
  const sizeSel = el<HTMLSelectElement>('size');
  const [trainBtn, sampleBtn] = [el<HTMLButtonElement>('train'), el<HTMLButtonElement>('sample')];
  const table1 = el<HTMLTableElement>('table1');
  setupSizes(sizeSel);
  resetTable1(table1, SIZES[sizeSel.value as SizeName].models);
  sizeSel.addEventListener('change', () => {
    if (!trained) resetTable1(table1, SIZES[sizeSel.value as SizeName].models);
  });
  const loss = new LossChart('loss');
  let trained: Trained | null = null;
  let draws = 0;
  const latent = await LatentPanel.create(g.device);

  const showDraw = async (t: Trained) => {
    draws++;
    const samples = [
      { label: 'the VAE (M1)', g: t.g1! },
      { label: 'the enhanced VAE (M2)', g: t.g2! },
    ];
    showSamples(el<HTMLTableElement>('samples'), samples, draws);
    const series = samples.map((s) => ({ name: s.label, values: Array.from(s.g.accuracy, (a) => 100 * a) }));
    await chart(
      'sample-hist',
      histogramSpec({ series, xTitle: 'test accuracy (%)', bins: 25, range: [0, 100], width: 320, height: 200 }),
    );
  };

  onClick('train', async () => {
    const size = SIZES[sizeSel.value as SizeName];
    const epochs = [size.zooEpochs, size.zooEpochs, size.vaeEpochs, size.zooEpochs, size.evaeEpochs];
    sampleBtn.disabled = sizeSel.disabled = true;
    trained?.dispose();
    trained = null;
    draws = 0;
    loss.reset();
    resetTable1(table1, size.models);
    latent.clear();
    const start = performance.now();
    let first: number | null = null;
    let stage = '';
    const timing = el('timing');
    timing.textContent = '';
    const t = new Trained(size);
    const hooks: PipelineHooks = {
      stage: (text) => setStatus((stage = text)),
      epoch: (series, e, l) => {
        const now = performance.now();
        if (first === null) {
          first = now;
          timing.textContent = `first result (a loss point) ${seconds(now)} after the page loaded, ${seconds(now - start)} after train was pressed`;
        }
        loss.add(series, e, l);
        const total = epochs[SERIES.indexOf(series)];
        setStatus(`${stage} · epoch ${e} of ${total}, loss ${l.toPrecision(4)} · ${seconds(now - start)}`);
      },
      row: (r) => {
        fillTable1(table1, r);
        const next = { R1: 'S1', S1: 'G1', G1: 'R2', R2: 'G2', G2: null } as const;
        markRunning(table1, next[r.set as keyof typeof next] ?? null);
      },
      vae: (which) => latent.update(t, which, true),
    };
    markRunning(table1, 'R1');
    try {
      await runPipeline(t, hooks);
    } catch (e) {
      t.dispose();
      throw e;
    } finally {
      sizeSel.disabled = false;
      await loss.flush();
    }
    trained = t;
    await showDraw(t);
    sampleBtn.disabled = false;
    const done = performance.now() - start;
    timing.textContent += `; Table 1 complete ${seconds(done)} after train was pressed`;
    setStatus(
      `done: ${size.models} networks a zoo, Table 1 complete in ${seconds(done)}; press sample for new networks`,
    );
  });

  onClick('sample', async () => {
    const t = trained;
    if (!t) throw new Error('nothing is trained yet: press train first');
    trainBtn.disabled = true;
    try {
      setStatus('sampling new networks from both VAEs ...');
      t.nextSamples();
      await t.sample('M1');
      await t.sample('M2');
      for (const which of ['M1', 'M2'] as const) await latent.update(t, which, false);
      await showDraw(t);
      setStatus(`sampled ${t.g1!.accuracy.length} new networks from each VAE (draw ${draws})`);
    } finally {
      trainBtn.disabled = false;
    }
  });
  setStatus('ready: press train');
}

startDemo(run);
