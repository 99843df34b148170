// The hypernet demo: a trained hypernetwork (hypernet.safetensors, made by `weightgen hypernet export`)
// fetched and loaded on this browser's WebGPU adapter; "sample" draws fresh noise and so fresh networks, whose
// test accuracy (on a slice of MNIST's test set, made at build time by prepare.mjs) is shown as a histogram
// beside their first-layer filters; a digit drawn on the canvas is classified by every sampled network, and
// by the ensemble (majority vote, mean probabilities). Everything the model does is src/models' (the
// hypernetwork, its gauge-fixed target networks, networkProbabilities); this file is the page around it.

import { histogramSpec, imageGrid } from '../../src/analysis/figures.js';
import { type MnistPart, parseIdx } from '../../src/data/mnist.js';
import type { Gpu } from '../../src/gpu/index.js';
import { decodeHypernetFile } from '../../src/io/hypernet-file.js';
import type { Hypernet } from '../../src/models/hypernet.js';
import { accuracies, ensembleAccuracy, mean, networkProbabilities } from '../../src/models/hypernet-train.js';
import { torchStateDict } from '../../src/models/hypernet-export.js';
import { noGrad, Rng, scope, type Tensor } from '../../src/tensor/index.js';
import { chart, nextFrame, onClick, setStatus, startDemo } from '../common/page.js';
import { DrawPad, drawGrey, MNIST_SIZE, mnistDigit } from './digit.js';

const CLASSES = 10;
const FILTER_ROWS = 12; // networks whose filters are drawn
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`fetch ${url}: ${r.status} ${r.statusText} (not found: build the demo again)`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The test slice prepare.mjs wrote: IDX files of the first rows of MNIST's test set. */
async function testSlice(): Promise<MnistPart> {
  const [images, labels] = await Promise.all(
    ['test-images.idx3-ubyte', 'test-labels.idx1-ubyte'].map(async (f) => parseIdx(await fetchBytes(f), f)),
  );
  const n = images!.dims[0]!;
  if (images!.dims.join() !== `${n},${MNIST_SIZE},${MNIST_SIZE}` || labels!.dims.join() !== `${n}`) {
    throw new Error(`test slice: images (${images!.dims}) and labels (${labels!.dims}) do not match`);
  }
  return { x: Float32Array.from(images!.data, (b) => b / 255), y: Int32Array.from(labels!.data) };
}

/** Rows [a, b) of a part. */
function rows(p: MnistPart, a: number, b: number): MnistPart {
  const px = MNIST_SIZE * MNIST_SIZE;
  return { x: p.x.subarray(a * px, b * px), y: p.y.subarray(a, b) };
}

/** Images of all G networks in one dispatch: conv1's output (G * images, 28, 28, 32) must fit a binding. */
function imagesPerDispatch(g: Gpu): number {
  const limit = Math.min(g.device.limits.maxStorageBufferBindingSize, g.device.limits.maxBufferSize);
  return Math.max(32, Math.min(1024, Math.floor(limit / (4 * MNIST_SIZE * MNIST_SIZE * 32) / 2)));
}

class Demo {
  private z: Tensor | null = null; // the noise of the sampled networks (G, noise)
  private draws = 0; // samples drawn so far: the seed of the next
  private queue: Promise<unknown> = Promise.resolve(); // GPU work runs one job at a time
  private readonly pad = new DrawPad(el<HTMLCanvasElement>('pad'));

  constructor(
    private readonly net: Hypernet,
    private readonly test: MnistPart,
    private readonly perDispatch: number,
    private readonly loaded: string, // "loaded 2.1 s after the page opened"
  ) {
    this.pad.onStroke = () => void this.exclusive(() => this.classify());
    onClick('clear', () => {
      this.pad.clear();
      drawGrey(el<HTMLCanvasElement>('seen'), new Float32Array(MNIST_SIZE * MNIST_SIZE), MNIST_SIZE, MNIST_SIZE);
      for (const id of ['ensemble-vote', 'ensemble-mean']) el(id).textContent = '-';
    });
    onClick('sample', () => this.exclusive(() => this.sample()));
  }

  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => {}); // a failed job is shown by its caller; the next one still runs
    return run;
  }

  /** Fresh networks: their accuracy on the test slice, their filters, and the drawn digit classified again. */
  private async sample(): Promise<void> {
    const G = Number(el<HTMLInputElement>('count').value);
    if (!Number.isInteger(G) || G < 1 || G > 50) throw new Error(`networks: ${G}; choose a whole number in 1..50`);
    const N = Math.min(Number(el<HTMLSelectElement>('images').value), this.test.y.length);
    const t0 = performance.now();
    this.z?.dispose();
    this.z = null;
    const seed = ++this.draws;
    const z = new Rng(seed).uniform([G, this.net.config.noise], -1, 1);
    this.z = z;
    const probs = new Float32Array(G * N * CLASSES); // (G, N, classes)
    const step = Math.max(1, Math.floor(this.perDispatch / G));
    for (let at = 0; at < N; at += step) {
      setStatus(
        `sample ${seed}: ${G} networks classifying test images ${at + 1}-${Math.min(N, at + step)} of ${N} ...`,
      );
      await nextFrame();
      const c = Math.min(step, N - at);
      const p = await networkProbabilities(this.net, z, rows(this.test, at, at + c), this.perDispatch); // (G, c, K)
      for (let g = 0; g < G; g++) probs.set(p.subarray(g * c * CLASSES, (g + 1) * c * CLASSES), (g * N + at) * CLASSES);
    }
    const labels = this.test.y.subarray(0, N);
    const acc = [...accuracies(probs, labels, G)];
    const all = Array.from({ length: G }, (_, g) => g);
    const vote = ensembleAccuracy(probs, labels, G, all, 'vote');
    const meanP = ensembleAccuracy(probs, labels, G, all, 'mean');
    el('summary').innerHTML =
      `${G} networks (sample ${seed}) on the first ${N} test images: mean accuracy ` +
      `<strong id="mean-accuracy">${pct(mean(acc))}</strong> (min ${pct(Math.min(...acc))}, max ${pct(Math.max(...acc))}); ` +
      `all ${G} as one ensemble: majority vote <strong id="vote-accuracy">${pct(vote)}</strong>, ` +
      `mean probabilities ${pct(meanP)} (chance: 10%)`;
    await chart(
      'histogram',
      histogramSpec({
        title: `test accuracy of ${G} sampled networks`,
        xTitle: `accuracy on ${N} test images`,
        series: [{ name: `sample ${seed}`, values: acc }],
        bins: 10,
        width: 360,
        height: 200,
      }),
    );
    await this.drawFilters(z);
    const first = this.draws === 1 ? ` (first result ${secs(performance.now())} after the page opened)` : '';
    el('timing').textContent = `${this.loaded}; sample ${seed} tested in ${secs(performance.now() - t0)}${first}`;
    document.body.dataset.sampled = String(seed);
    setStatus(`sample ${seed}: ${G} networks ready; draw a digit`);
    await this.classify();
  }

  /** The first layer's 32 filters (5 x 5) of the first networks, one row per network, each filter stretched. */
  private async drawFilters(z: Tensor): Promise<void> {
    const G = Math.min(FILTER_ROWS, z.shape[0]!);
    const layers = noGrad(() =>
      scope(() => this.net.networks(z).map((l) => ({ kernel: l.kernel.keep(), bias: l.bias.keep() }))),
    );
    const data = await Promise.all(
      layers.map(async (l) => ({ kernel: await l.kernel.data(), bias: await l.bias.data() })),
    );
    for (const l of layers) {
      l.kernel.dispose();
      l.bias.dispose();
    }
    const images: Float32Array[] = [];
    let shape: number[] = [];
    for (let g = 0; g < G; g++) {
      const w = torchStateDict(this.net.config.target, data, g)['conv1.weight']!; // (filters, 1, k, k)
      shape = w.shape;
      const [F, , k] = w.shape as [number, number, number];
      for (let f = 0; f < F; f++) images.push(w.data.slice(f * k * k, (f + 1) * k * k) as Float32Array);
    }
    const [F, , k] = shape as [number, number, number];
    const grid = imageGrid(images, { rows: G, cols: F, width: k, height: k, normalize: true, padValue: 0.5 });
    const canvas = el<HTMLCanvasElement>('filters');
    drawGrey(canvas, grid.pixels, grid.width, grid.height);
    canvas.style.width = `${grid.width * 3}px`;
    canvas.style.height = `${grid.height * 3}px`;
  }

  /** Classifies the drawn digit with every sampled network; shows each vote and the ensemble's. */
  private async classify(): Promise<void> {
    const { width, height } = this.pad.canvas;
    const x = mnistDigit(this.pad.ink(), width, height);
    if (!x) return;
    drawGrey(el<HTMLCanvasElement>('seen'), x, MNIST_SIZE, MNIST_SIZE);
    if (!this.z) {
      setStatus('press sample: the digit is classified by the networks it draws');
      return;
    }
    const t0 = performance.now();
    const G = this.z.shape[0]!;
    const p = await networkProbabilities(this.net, this.z, { x, y: new Int32Array(1) }); // (G, 1, K)
    const votes = new Array<number>(CLASSES).fill(0);
    const meanP = new Array<number>(CLASSES).fill(0);
    const rowsHtml: string[] = [];
    for (let g = 0; g < G; g++) {
      const q = p.subarray(g * CLASSES, (g + 1) * CLASSES);
      const k = argmax(q);
      votes[k]! += 1;
      for (let j = 0; j < CLASSES; j++) meanP[j]! += q[j]! / G;
      rowsHtml.push(
        `<tr><td>network ${g + 1}</td><td class="v">${k}</td><td>${pct(q[k]!)}</td>` +
          `<td class="b"><span class="bar" style="width:${Math.round(60 * q[k]!)}px"></span></td></tr>`,
      );
    }
    const v = argmax(votes); // ties go to the lowest digit, as ensembleAccuracy's vote
    const m = argmax(meanP);
    el('votes').innerHTML =
      `<thead><tr><th>network</th><th>vote</th><th>its probability</th><th></th></tr></thead><tbody>${rowsHtml.join('')}</tbody>`;
    el('ensemble-vote').textContent = String(v);
    el('ensemble-vote').title = `${votes[v]} of ${G} networks`;
    el('ensemble-mean').textContent = String(m);
    el('ensemble-mean').title = pct(meanP[m]!);
    setStatus(
      `drawn digit: majority vote ${v} (${votes[v]} of ${G} networks), mean probabilities ${m} (${pct(meanP[m]!)}); ` +
        `classified in ${secs(performance.now() - t0)}`,
    );
    document.body.dataset.classified = String(Number(document.body.dataset.classified ?? 0) + 1);
  }
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < v.length; j++) if (v[j]! > v[best]!) best = j;
  return best;
}

startDemo(async (g) => {
  setStatus('loading the hypernetwork and the test images ...');
  const [bytes, test] = await Promise.all([fetchBytes('hypernet.safetensors'), testSlice()]);
  const { net, settings } = decodeHypernetFile(bytes, 'hypernet.safetensors');
  const s = settings as { preset?: string; steps?: number; networks?: number; images?: number; lambda?: number };
  el('trained').textContent =
    `preset ${s.preset}, ${s.steps} steps of ${s.networks} networks x ${s.images} images, lambda ${s.lambda}; ` +
    `${net.numParameters().toLocaleString('en')} parameters`;
  const loaded = `loaded ${secs(performance.now())} after the page opened`;
  new Demo(net, test, imagesPerDispatch(g), loaded);
  el<HTMLButtonElement>('sample').disabled = false;
  document.body.dataset.loaded = '1';
  el('timing').textContent = loaded;
  setStatus('hypernetwork loaded: press sample');
});
