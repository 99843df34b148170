// The hypernetwork's unit tests (docs/models.md, paper 2, the spec in models/hypernet.ts):
// - gauge fixing leaves every generated MNIST network's predictions unchanged (logits shift by the logits'
//   bias mean), scales every unit to RMS 1, and is idempotent;
// - gauge fixing, the flattened weights and the target forward against a float64 CPU reference written here
//   from the description (small nets: conv -> conv, conv -> dense, dense -> dense, conv -> the logits, the
//   logits alone; odd and even kernels, SAME pooling of odd sizes, a non-square input);
// - the whole model's gradient against finite differences on a micro configuration (f32);
// - the MNIST and LeNet descriptions: weight and parameter counts written out, a LeNet forward and loss;
// - errors for bad input.
// Not here: PyTorch parity of a full step (hypernet-parity.test.ts), the entropy term (entropy.test.ts).

import { beforeAll, describe, expect, it } from 'vitest';
import { flattenLayers, generatedLayers, type LogitBias } from '../src/models/gauge.js';
import { Hypernet, hypernetLoss, MNIST_HYPERNET } from '../src/models/hypernet.js';
import {
  type GeneratedLayer,
  LENET_TARGET,
  layerShapes,
  MNIST_TARGET,
  type TargetSpec,
  targetForward,
  targetWeights,
} from '../src/models/target-net.js';
import { assign, backward, noGrad, Rng, scope, scopeAsync, type Tensor, tensor, zeros } from '../src/tensor/index.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

// ---- small descriptions ----------------------------------------------------------------------------------

// input 6x6x2 -> conv 3 (k3, pool 2) -> 3x3x3 -> conv 2 (k3, pool 2: SAME pooling of an odd size) -> 2x2x2
// -> dense 4 (reads the flattened (h, w, c)) -> dense 5 (dense -> dense rescale) -> dense 3 (the logits)
const TINY: TargetSpec = {
  name: 'tiny',
  input: [6, 6, 2],
  classes: 3,
  layers: [
    { kind: 'conv', filters: 3, kernel: 3, pool: 2, hidden: 4 },
    { kind: 'conv', filters: 2, kernel: 3, pool: 2, hidden: 4 },
    { kind: 'dense', units: 4, hidden: 4 },
    { kind: 'dense', units: 5, hidden: 4 },
    { kind: 'dense', units: 3, hidden: 4 },
  ],
};

// input 6x6x1 -> conv 2 (k3, pool 2) -> 3x3x2 -> dense 3 (the logits): 3 codes of 3, generators 3 -> 4 -> 10
// and 3 -> 5 -> 57; extractor 6 -> 5 -> 9
const MICRO_TARGET: TargetSpec = {
  name: 'micro',
  input: [6, 6, 1],
  classes: 3,
  layers: [
    { kind: 'conv', filters: 2, kernel: 3, pool: 2, hidden: 4 },
    { kind: 'dense', units: 3, hidden: 5 },
  ],
};
const MICRO = { target: MICRO_TARGET, noise: 6, code: 3, extractorHidden: 5, faithful: false };

// input 7x5x2 (not square) -> conv 3 (k2: SAME pads 0 before, 1 after; pool 3) -> 3x2x3 -> conv 2 (k4: pads 1
// and 2; pool 2) -> 2x1x2 -> dense 3 (the logits)
const EVEN: TargetSpec = {
  name: 'even',
  input: [7, 5, 2],
  classes: 3,
  layers: [
    { kind: 'conv', filters: 3, kernel: 2, pool: 3, hidden: 4 },
    { kind: 'conv', filters: 2, kernel: 4, pool: 2, hidden: 4 },
    { kind: 'dense', units: 3, hidden: 4 },
  ],
};

// the logits straight from the image 3x2x2: one layer, nothing to gauge but the logits' bias
const LOGITS_ONLY: TargetSpec = {
  name: 'logits-only',
  input: [3, 2, 2],
  classes: 4,
  layers: [{ kind: 'dense', units: 4, hidden: 4 }],
};

// ---- a float64 reference of the target networks, from the description alone --------------------------

interface CpuLayer {
  conv: boolean;
  kernel: number; // conv: k
  pool: number; // conv: pool window and stride
  units: number;
  fanIn: number;
  inC: number; // channels (units) of the layer's input: input feature i reads channel i % inC
  last: boolean;
}

/** Each layer's geometry, walked through the description as the paper's text gives it. */
function cpuGeometry(spec: TargetSpec): CpuLayer[] {
  let [h, w, c] = spec.input;
  let flat = false;
  return spec.layers.map((l, i) => {
    const last = i === spec.layers.length - 1;
    if (l.kind === 'conv') {
      const out = {
        conv: true,
        kernel: l.kernel,
        pool: l.pool,
        units: l.filters,
        fanIn: l.kernel ** 2 * c,
        inC: c,
        last,
      };
      h = Math.ceil(h / l.pool);
      w = Math.ceil(w / l.pool);
      c = l.filters;
      return out;
    }
    const out = { conv: false, kernel: 0, pool: 0, units: l.units, fanIn: flat ? c : h * w * c, inC: c, last };
    flat = true;
    c = l.units;
    return out;
  });
}

/** Generator rows per layer of one network: (codes, row length). */
function rawShape(l: CpuLayer): [number, number] {
  return l.last ? [1, l.fanIn * l.units + l.units] : [l.units, l.fanIn + 1];
}

interface CpuGenerated {
  kernel: Float64Array; // per-unit: (B, units, fanIn); last: (B, fanIn, units)
  bias: Float64Array; // (B, units)
  scale?: Float64Array; // per-unit layers, gauged: s (B, units)
}

/**
 * Gauge fixing in float64: unit by unit, the incoming weights are first multiplied by the previous layer's
 * scale of the channel they read, then kernel and bias are divided by s = sqrt(mean of their squares + 1e-8);
 * the logits' bias loses its mean (or sum).
 */
function cpuGauge(geo: CpuLayer[], raws: Float64Array[], B: number, gauge: boolean, logitBias: LogitBias) {
  let sPrev: Float64Array | null = null; // (B, previous units)
  return geo.map((l, li): CpuGenerated => {
    const raw = raws[li]!;
    const [, row] = rawShape(l);
    const kernel = new Float64Array(B * l.fanIn * l.units);
    const bias = new Float64Array(B * l.units);
    const inScale = (b: number, i: number) => (gauge && sPrev ? sPrev[b * l.inC + (i % l.inC)]! : 1);
    if (!l.last) {
      const s = new Float64Array(B * l.units);
      for (let b = 0; b < B; b++) {
        for (let u = 0; u < l.units; u++) {
          const at = (b * l.units + u) * row;
          let sq = 0;
          for (let i = 0; i < l.fanIn; i++) {
            const v = raw[at + i]! * inScale(b, i);
            kernel[(b * l.units + u) * l.fanIn + i] = v;
            sq += v * v;
          }
          const bv = raw[at + l.fanIn]!;
          bias[b * l.units + u] = bv;
          s[b * l.units + u] = Math.sqrt((sq + bv * bv) / (l.fanIn + 1) + 1e-8);
        }
      }
      if (gauge) {
        for (let j = 0; j < kernel.length; j++) kernel[j] /= s[Math.floor(j / l.fanIn)]!;
        for (let j = 0; j < bias.length; j++) bias[j] /= s[j]!;
        sPrev = s;
      }
      return { kernel, bias, scale: gauge ? s : undefined };
    }
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < l.fanIn; i++) {
        for (let o = 0; o < l.units; o++) {
          kernel[(b * l.fanIn + i) * l.units + o] = raw[b * row + i * l.units + o]! * inScale(b, i);
        }
      }
      let total = 0;
      for (let o = 0; o < l.units; o++) total += raw[b * row + l.fanIn * l.units + o]!;
      const shift = gauge ? (logitBias === 'mean' ? total / l.units : total) : 0;
      for (let o = 0; o < l.units; o++) bias[b * l.units + o] = raw[b * row + l.fanIn * l.units + o]! - shift;
    }
    return { kernel, bias };
  });
}

/**
 * Logits (G, n, classes) in float64: conv k x k SAME (stride 1) with row-major (kh, kw, cin) kernels, bias,
 * ReLU, max-pool SAME (TensorFlow's padding: the pad's larger half after); flatten (h, w, c); dense + ReLU;
 * the logits h @ M + b.
 */
function cpuTargetForward(spec: TargetSpec, layers: CpuGenerated[], x: Float64Array, G: number, n: number) {
  const geo = cpuGeometry(spec);
  const [H0, W0, C0] = spec.input;
  const out = new Float64Array(G * n * spec.classes);
  for (let g = 0; g < G; g++) {
    for (let m = 0; m < n; m++) {
      let [H, W, C] = [H0, W0, C0];
      const size = H * W * C;
      let act = x.slice((g * n + m) * size, (g * n + m + 1) * size); // (H, W, C)
      geo.forEach((l, li) => {
        const { kernel, bias } = layers[li]!;
        if (l.conv) {
          const k = l.kernel;
          const pad = Math.floor((k - 1) / 2);
          const F = l.units;
          const conv = new Float64Array(H * W * F);
          for (let y = 0; y < H; y++) {
            for (let xx = 0; xx < W; xx++) {
              for (let f = 0; f < F; f++) {
                let v = bias[g * F + f]!;
                for (let kh = 0; kh < k; kh++) {
                  for (let kw = 0; kw < k; kw++) {
                    const iy = y + kh - pad;
                    const ix = xx + kw - pad;
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                    for (let c = 0; c < C; c++) {
                      v += act[(iy * W + ix) * C + c]! * kernel[(g * F + f) * l.fanIn + (kh * k + kw) * C + c]!;
                    }
                  }
                }
                conv[(y * W + xx) * F + f] = Math.max(v, 0);
              }
            }
          }
          const p = l.pool;
          const [Ho, Wo] = [Math.ceil(H / p), Math.ceil(W / p)];
          const [pt, pl] = [
            Math.floor(Math.max((Ho - 1) * p + p - H, 0) / 2),
            Math.floor(Math.max((Wo - 1) * p + p - W, 0) / 2),
          ];
          const pooled = new Float64Array(Ho * Wo * F);
          for (let y = 0; y < Ho; y++) {
            for (let xx = 0; xx < Wo; xx++) {
              for (let f = 0; f < F; f++) {
                let best = Number.NEGATIVE_INFINITY;
                for (let dy = 0; dy < p; dy++) {
                  for (let dx = 0; dx < p; dx++) {
                    const iy = y * p + dy - pt;
                    const ix = xx * p + dx - pl;
                    if (iy >= 0 && iy < H && ix >= 0 && ix < W) best = Math.max(best, conv[(iy * W + ix) * F + f]!);
                  }
                }
                pooled[(y * Wo + xx) * F + f] = best;
              }
            }
          }
          act = pooled;
          [H, W, C] = [Ho, Wo, F];
        } else {
          const next = new Float64Array(l.units);
          for (let u = 0; u < l.units; u++) {
            let v = bias[g * l.units + u]!;
            for (let i = 0; i < l.fanIn; i++) {
              v += l.last
                ? act[i]! * kernel[(g * l.fanIn + i) * l.units + u]!
                : kernel[(g * l.units + u) * l.fanIn + i]! * act[i]!;
            }
            next[u] = l.last ? v : Math.max(v, 0);
          }
          act = next;
        }
      });
      out.set(act, (g * n + m) * spec.classes);
    }
  }
  return out;
}

// ---- inputs -----------------------------------------------------------------------------------------

/**
 * Random raw generator outputs for B networks, per layer (B, codes, row length), flat. Every row gets its
 * own scale, so that gauge fixing has something to undo: RMS exp(U(-1.5, 1.5)) / sqrt(fanIn), so that
 * activations stay of order one through the layers, or with `unit`, RMS exp(U(-1, 1)).
 */
function randomRaws(spec: TargetSpec, B: number, seed: number, unit = false): Float64Array[] {
  const rng = cpuRng(seed);
  return cpuGeometry(spec).map((l) => {
    const [codes, row] = rawShape(l);
    const raw = rng.uniform(B * codes * row, -1, 1);
    for (let r = 0; r < B * codes; r++) {
      const scale = unit
        ? Math.exp(2 * rng.next() - 1) * Math.sqrt(3)
        : Math.exp(3 * rng.next() - 1.5) * Math.sqrt(3 / l.fanIn);
      for (let i = 0; i < row; i++) raw[r * row + i] *= scale;
    }
    return Float64Array.from(Float32Array.from(raw)); // exactly what the GPU holds
  });
}

function rawTensors(spec: TargetSpec, raws: Float64Array[], B: number): Tensor[] {
  return cpuGeometry(spec).map((l, i) => tensor(raws[i]!, [B, ...rawShape(l)]));
}

/** Images (G, n, H, W, C) in [0, 1], as f32 values. */
function randomImages(spec: TargetSpec, G: number, n: number, seed: number): Float64Array {
  const [H, W, C] = spec.input;
  return Float64Array.from(Float32Array.from(cpuRng(seed).uniform(G * n * H * W * C, 0, 1)));
}

async function readLayers(layers: GeneratedLayer[]) {
  const out: { kernel: Float32Array; bias: Float32Array }[] = [];
  for (const l of layers) {
    out.push({ kernel: (await l.kernel.data()) as Float32Array, bias: (await l.bias.data()) as Float32Array });
  }
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function softmaxRows(logits: ArrayLike<number>, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    let mx = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) mx = Math.max(mx, logits[r * classes + c]!);
    let z = 0;
    for (let c = 0; c < classes; c++) z += Math.exp(logits[r * classes + c]! - mx);
    for (let c = 0; c < classes; c++) out[r * classes + c] = Math.exp(logits[r * classes + c]! - mx) / z;
  }
  return out;
}

function argmaxRows(logits: ArrayLike<number>, classes: number): number[] {
  return Array.from({ length: logits.length / classes }, (_, r) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    return best;
  });
}

/**
 * Every unit of every layer but the last has mean square (sum w^2 + b^2) / (fanIn + 1) = m / (m + 1e-8), m
 * its mean square before (from the reference's scale s: 1 - 1e-8 / s^2, so "1" when s is not tiny); the
 * logits' bias has mean 0.
 */
function expectUnitRms(
  geo: CpuLayer[],
  layers: { kernel: Float32Array; bias: Float32Array }[],
  ref: CpuGenerated[],
  B: number,
): void {
  geo.forEach((l, li) => {
    const { kernel, bias } = layers[li]!;
    if (l.last) {
      for (let b = 0; b < B; b++) {
        const m = bias.slice(b * l.units, (b + 1) * l.units).reduce((s, v) => s + v, 0) / l.units;
        expect(Math.abs(m), `network ${b}: logits' bias mean`).toBeLessThan(1e-6);
      }
      return;
    }
    const ms = Array.from({ length: B * l.units }, (_, u) => {
      let sq = bias[u]! ** 2;
      for (let i = 0; i < l.fanIn; i++) sq += kernel[u * l.fanIn + i]! ** 2;
      return sq / (l.fanIn + 1);
    });
    const want = Float64Array.from(ref[li]!.scale!, (s) => 1 - 1e-8 / s ** 2);
    expectClose(ms, want, 0, 1e-6, `layer ${li + 1} units' mean squares`);
  });
}

// ---- gauge fixing -------------------------------------------------------------------------------------

describe('gauge fixing', () => {
  it('leaves every generated MNIST network computing the same function, up to a constant logit shift', async () => {
    const spec = MNIST_TARGET;
    const [B, n] = [3, 4];
    const geo = cpuGeometry(spec);
    const raws = randomRaws(spec, B, 11);
    const images = randomImages(spec, B, n, 12);
    const r = await scopeAsync(async () => {
      const rawT = rawTensors(spec, raws, B);
      const x = tensor(images, [B, n, ...spec.input]);
      const gauged = generatedLayers(spec, rawT, true);
      const plain = generatedLayers(spec, rawT, false);
      const lg = (await targetForward(spec, gauged, x).data()) as Float32Array;
      const lp = (await targetForward(spec, plain, x).data()) as Float32Array;
      return { lg, lp, layers: await readLayers(gauged) };
    });
    const C = spec.classes;
    // the shift: the mean of each network's raw logits' bias
    const last = geo.length - 1;
    const [, row] = rawShape(geo[last]!);
    const shift = Array.from({ length: B }, (_, b) => {
      let s = 0;
      for (let o = 0; o < C; o++) s += raws[last]![b * row + geo[last]!.fanIn * C + o]!;
      return s / C;
    });
    const shifted = Float64Array.from(r.lg, (v, i) => v + shift[Math.floor(i / (n * C))]!);
    const scale = maxAbs(r.lp);
    expect(scale).toBeGreaterThan(0.1); // the logits are not all zero (dead ReLUs would make this trivial)
    expectClose(shifted, r.lp, 1e-4, 1e-5 * scale, 'gauged logits + bias mean against the raw network');
    expectClose(softmaxRows(r.lg, C), softmaxRows(r.lp, C), 0, 1e-5, 'softmax');
    expect(argmaxRows(r.lg, C)).toEqual(argmaxRows(r.lp, C));
    // the raw networks were far from the gauge: units' scales far from 1 in every layer (else the above
    // says little)
    const ref = cpuGauge(geo, raws, B, true, 'mean');
    for (const l of ref.slice(0, -1))
      expect(Math.max(...l.scale!.map((v) => Math.abs(Math.log(v))))).toBeGreaterThan(1);
    expectUnitRms(geo, r.layers, ref, B);
  });

  it('is idempotent: gauging gauged MNIST networks again changes nothing', async () => {
    // Exactly so without the 1e-8 under the root; with it, a unit whose mean square before was m comes out
    // with m / (m + 1e-8), and the second pass moves it by about 1e-8 / m relative, compounding through the
    // layers (m is the mean square after the previous layer's rescale). With raw rows of RMS >= 1/e the
    // float64 reference moves by 5e-8 at most, so the tolerance is f32 rounding. (With the small rows of the
    // test above, layer 3's smallest m is about 1e-7 after the rescales, so its units come out with mean
    // squares of 0.92, not 1, and a second pass moves them by 4%.)
    const spec = MNIST_TARGET;
    const B = 3;
    const geo = cpuGeometry(spec);
    const raws = randomRaws(spec, B, 13, true);
    const r = await scopeAsync(async () => {
      const gauged = generatedLayers(spec, rawTensors(spec, raws, B), true);
      // the gauged weights as raw generator rows again: their flattened vectors are the raw layout
      const theta = (await flattenLayers(spec, gauged).data()) as Float32Array; // (B, 20018)
      const again = generatedLayers(spec, rawTensors(spec, splitTheta(geo, theta, B), B), true);
      return { once: await readLayers(gauged), twice: await readLayers(again) };
    });
    // unit RMS to f32 rounding: with every s > 0.3, 1 - 1e-8 / s^2 is within about 1e-7 of 1
    const ref = cpuGauge(geo, raws, B, true, 'mean');
    for (const l of ref.slice(0, -1)) expect(Math.min(...l.scale!)).toBeGreaterThan(0.3);
    expectUnitRms(geo, r.once, ref, B);
    r.once.forEach((l, li) => {
      expectClose(r.twice[li]!.kernel, l.kernel, 1e-5, 1e-7, `layer ${li + 1} kernel gauged twice`);
      expectClose(r.twice[li]!.bias, l.bias, 1e-5, 1e-7, `layer ${li + 1} bias gauged twice`);
    });
  });

  it('and the target forward match a float64 reference on small descriptions', async () => {
    expect(cpuGeometry(TINY).map((l) => l.fanIn)).toEqual([18, 27, 8, 4, 5]);
    expect(cpuGeometry(EVEN).map((l) => l.fanIn)).toEqual([8, 48, 4]);
    for (const [gauge, bias, spec] of [
      [true, 'mean', TINY],
      [true, 'sum', TINY],
      [false, 'mean', TINY],
      [true, 'mean', MICRO_TARGET],
      [true, 'mean', EVEN],
      [false, 'mean', EVEN],
      [true, 'mean', LOGITS_ONLY],
    ] as [boolean, LogitBias, TargetSpec][]) {
      const [B, n] = [3, 2];
      const geo = cpuGeometry(spec);
      const raws = randomRaws(spec, B, 21);
      const images = randomImages(spec, B, n, 22);
      const what = `${spec.name}, ${gauge ? `gauged (logits' bias minus its ${bias})` : 'not gauged'}`;
      const r = await scopeAsync(async () => {
        const layers = generatedLayers(spec, rawTensors(spec, raws, B), gauge, bias);
        const logits = targetForward(spec, layers, tensor(images, [B, n, ...spec.input]));
        expect(logits.shape).toEqual([B, n, spec.classes]);
        return {
          layers: await readLayers(layers),
          logits: await logits.data(),
          theta: await flattenLayers(spec, layers).data(),
        };
      });
      const ref = cpuGauge(geo, raws, B, gauge, bias);
      ref.forEach((l, li) => {
        expect(r.layers[li]!.kernel.length).toBe(l.kernel.length);
        expectClose(r.layers[li]!.kernel, l.kernel, 1e-5, 1e-6, `${what}: layer ${li + 1} kernel`);
        expectClose(r.layers[li]!.bias, l.bias, 1e-5, 1e-6, `${what}: layer ${li + 1} bias`);
      });
      const logits = cpuTargetForward(spec, ref, images, B, n);
      expect(maxAbs(logits)).toBeGreaterThan(0.1);
      expectClose(r.logits, logits, 1e-4, 1e-5 * maxAbs(logits), `${what}: logits`);
      // flattened: per network, layer by layer, unit by unit its weights then its bias; last the matrix then
      // the biases (the raw layout)
      expectClose(r.theta, joinTheta(geo, ref, B), 1e-5, 1e-6, `${what}: flattened weights`);
    }
  });
});

/** The flattened weights (B, weights) from per-layer kernels and biases, in float64. */
function joinTheta(geo: CpuLayer[], layers: CpuGenerated[], B: number): Float64Array {
  const per = geo.reduce((s, l) => s + l.fanIn * l.units + l.units, 0);
  const out = new Float64Array(B * per);
  for (let b = 0; b < B; b++) {
    let at = b * per;
    geo.forEach((l, li) => {
      const { kernel, bias } = layers[li]!;
      const K = l.fanIn * l.units;
      if (l.last) {
        out.set(kernel.subarray(b * K, (b + 1) * K), at);
        out.set(bias.subarray(b * l.units, (b + 1) * l.units), at + K);
      } else {
        for (let u = 0; u < l.units; u++) {
          const r = at + u * (l.fanIn + 1);
          out.set(kernel.subarray((b * l.units + u) * l.fanIn, (b * l.units + u + 1) * l.fanIn), r);
          out[r + l.fanIn] = bias[b * l.units + u]!;
        }
      }
      at += K + l.units;
    });
  }
  return out;
}

/** The inverse of the flattening: per layer the raw rows (B, codes, row length). */
function splitTheta(geo: CpuLayer[], theta: ArrayLike<number>, B: number): Float64Array[] {
  const per = theta.length / B;
  let at = 0;
  return geo.map((l) => {
    const [codes, row] = rawShape(l);
    const out = new Float64Array(B * codes * row);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < codes * row; j++) out[b * codes * row + j] = theta[b * per + at + j]!;
    }
    at += codes * row;
    return out;
  });
}

// ---- the whole model ------------------------------------------------------------------------------------

describe('the whole hypernetwork', () => {
  // The loss in f32 is L ~ -18.6 (the entropy term dominates): its rounding, measured as the residual of a
  // cubic fit to L along a line through 61 points, is 0.8 ulp RMS (1.5e-6), so a central difference with
  // step h is off by up to about EPS / h, EPS = 4 ulps of L. Batch norm over B = 3 rows (the last layer's
  // generator) curves the loss sharply (one entry's central difference moves 5% between h = 1e-5 and 1e-4,
  // and a kink sits 1.2e-4 away), while small steps drown in rounding. So each derivative is compared at
  // several steps, and the best agreement must be within 2e-3 relative (directions) or 2e-2 relative
  // (single entries) plus EPS / h; single-entry steps where EPS / h is over 5% of the gradient are not
  // counted (with them the best agreement would let a 10% error pass). ReLU and max pooling put kinks
  // closer than any usable step (a tie of zeros in a pooling window): there the central difference is the
  // mean of the two sides' slopes, at every step, and the gradient is one of them (seen on an NVIDIA GPU:
  // gen2.0.weight[3], gradient 3.347, central differences 3.48-3.53 from h = 1.3e-5 to 1.3e-4), so single
  // entries may match a one-sided difference instead (noise 2 EPS / h).
  it('has the gradient of finite differences (f32, micro configuration: directions and single entries)', async () => {
    const [B, n] = [3, 2];
    const net = new Hypernet(MICRO, new Rng(3)).train(); // training: batch statistics, as in the loss
    const rng = cpuRng(31);
    const z = tensor(rng.uniform(B * MICRO.noise, -1, 1), [B, MICRO.noise]).keep();
    const x = tensor(randomImages(MICRO_TARGET, B, n, 32), [B, n, ...MICRO_TARGET.input]).keep();
    const y = tensor(
      Int32Array.from({ length: B * n }, () => rng.int(0, 3)),
      [B * n],
      'i32',
    ).keep();
    const opts = { lambda: 1, entropyDim: MICRO.noise, metric: 'l1' as const };
    const lossAt = () => scopeAsync(async () => noGrad(() => hypernetLoss(net, z, x, y, opts).loss).item());
    try {
      const l0 = await scopeAsync(async () => {
        const r = hypernetLoss(net, z, x, y, opts);
        backward(r.loss);
        return r.loss.item();
      });
      const params = net.namedParameters();
      const values = new Map<string, Float32Array>();
      const grads = new Map<string, Float32Array>();
      for (const [name, p] of params) {
        values.set(name, (await p.data()) as Float32Array);
        grads.set(name, (await p.grad!.data()) as Float32Array);
      }
      expect(await lossAt()).toBe(l0); // deterministic: the differences' noise is rounding only
      const eps = 4 * 2 ** (Math.floor(Math.log2(Math.abs(l0))) - 23);
      // steps are relative to each tensor's RMS (batch-norm biases start at 0: to 1)
      const scaleOf = (v: Float32Array) => Math.sqrt(v.reduce((s, a) => s + a * a, 0) / v.length) || 1;

      /** The loss at +t and -t along `dir` (flat, per tensor). */
      const sides = async (dir: Map<string, Float64Array>, t: number) => {
        const at = async (sign: number) => {
          for (const [name, p] of params) {
            const d = dir.get(name);
            if (d)
              assign(
                p,
                Float32Array.from(values.get(name)!, (v, i) => v + sign * t * d[i]!),
              );
          }
          return lossAt();
        };
        const up = await at(1);
        const dn = await at(-1);
        for (const [name, p] of params) if (dir.has(name)) assign(p, values.get(name)!);
        return { up, dn };
      };
      /** The central difference of the loss along `dir` with step t. */
      const central = async (dir: Map<string, Float64Array>, t: number) => {
        const { up, dn } = await sides(dir, t);
        return (up - dn) / (2 * t);
      };

      // directions through every parameter, each tensor's part U(-1, 1) times its RMS: measured best
      // agreements 2e-4 to 2e-3 relative
      for (let trial = 0; trial < 3; trial++) {
        const dir = new Map<string, Float64Array>();
        let dot = 0; // the gradient along dir
        for (const [name] of params) {
          const v = values.get(name)!;
          const d = Float64Array.from(rng.uniform(v.length, -1, 1), (u) => u * scaleOf(v));
          const g = grads.get(name)!;
          for (let i = 0; i < d.length; i++) dot += g[i]! * d[i]!;
          dir.set(name, d);
        }
        const seen: string[] = [];
        let best = Number.POSITIVE_INFINITY;
        for (const t of [3e-3, 1e-3, 3e-4, 1e-4]) {
          const fd = await central(dir, t);
          best = Math.min(best, Math.abs(fd - dot) / (2e-3 * Math.abs(dot) + eps / t));
          seen.push(`${fd} (step ${t})`);
        }
        expect(best, `direction ${trial}: gradient ${dot}, differences ${seen.join(', ')}`).toBeLessThanOrEqual(1);
      }

      // single entries of every tensor (among them the extractor's first weight and every batch-norm weight
      // and bias): its largest gradient, and one at random among those large enough to be seen at two steps
      const steps = [1e-2, 3e-3, 1e-3, 3e-4];
      for (const [name] of params) {
        const v = values.get(name)!;
        const g = grads.get(name)!;
        const visible = (c: number, i: number) => eps / (c * scaleOf(v)) <= 0.05 * Math.abs(g[i]!);
        const order = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!));
        const large = order.filter((i) => visible(steps[1]!, i));
        for (const k of [order[0]!, large[rng.int(1, large.length)] ?? order[0]!]) {
          const seen: string[] = [];
          let best = Number.POSITIVE_INFINITY;
          for (const c of steps) {
            if (!visible(c, k)) continue;
            const h = c * scaleOf(v);
            const { up, dn } = await sides(new Map([[name, Float64Array.from(g, (_, i) => (i === k ? 1 : 0))]]), h);
            const fd = (up - dn) / (2 * h);
            // one-sided too: where a kink sits closer than h (a ReLU at 0, a tie in a max pool), the central
            // difference averages the slopes of its two sides, and the gradient is one of them
            const right = (up - l0) / h;
            const left = (l0 - dn) / h;
            const off = (d: number, noise: number) => Math.abs(d - g[k]!) / (2e-2 * Math.abs(g[k]!) + noise / h);
            best = Math.min(best, off(fd, eps), off(right, 2 * eps), off(left, 2 * eps));
            seen.push(`${fd} (step ${h}; one-sided ${left}, ${right})`);
          }
          expect(seen.length, `${name}[${k}]: gradient ${g[k]} too small to check`).toBeGreaterThan(0);
          expect(best, `${name}[${k}]: gradient ${g[k]}, differences ${seen.join(', ')}`).toBeLessThanOrEqual(1);
        }
      }
    } finally {
      net.dispose();
      z.dispose();
      x.dispose();
      y.dispose();
    }
  });
});

// ---- the descriptions' counts, the LeNet net, errors -------------------------------------------------------

/** A sub-network's Linear weights (i -> h -> h -> o, no biases) and batch-norm weights and biases (2 x 2h). */
const subnetLinear = (i: number, h: number, o: number) => i * h + h * h + h * o;
const subnetNorm = (h: number) => 2 * 2 * h;

/** The parameter names and shapes a sub-network (i, h, o) has under `prefix`, PyTorch nn.Sequential style. */
function subnetShapes(prefix: string, i: number, h: number, o: number): Record<string, number[]> {
  return {
    [`${prefix}.0.weight`]: [h, i],
    [`${prefix}.2.weight`]: [h],
    [`${prefix}.2.bias`]: [h],
    [`${prefix}.3.weight`]: [h, h],
    [`${prefix}.5.weight`]: [h],
    [`${prefix}.5.bias`]: [h],
    [`${prefix}.6.weight`]: [o, h],
  };
}

describe('the target descriptions', () => {
  it('MNIST: 20,018 target weights; 633,640 hypernetwork parameters, named and shaped as the spec', () => {
    // conv 5x5x1 -> 32, conv 5x5x32 -> 16, dense 7*7*16 -> 8, the logits 8 -> 10; each with its biases
    const weights = 32 * (5 * 5 * 1 + 1) + 16 * (5 * 5 * 32 + 1) + 8 * (7 * 7 * 16 + 1) + (8 * 10 + 10);
    expect(weights).toBe(20_018);
    expect(targetWeights(MNIST_TARGET)).toBe(weights);
    expect(layerShapes(MNIST_TARGET).map((s) => s.rowLength)).toEqual([26, 801, 785, 90]);
    // extractor 300 -> 300 -> 300 -> 15 * (32 + 16 + 8 + 1) = 855; generators 15 -> 40 -> 40 -> 26,
    // 15 -> 100 -> 100 -> 801, 15 -> 100 -> 100 -> 785, 15 -> 60 -> 60 -> 90
    const subnets: [string, number, number, number][] = [
      ['extractor', 300, 300, 15 * (32 + 16 + 8 + 1)],
      ['gen1', 15, 40, 26],
      ['gen2', 15, 100, 801],
      ['gen3', 15, 100, 785],
      ['gen4', 15, 60, 90],
    ];
    const linear = subnets.reduce((s, [, i, h, o]) => s + subnetLinear(i, h, o), 0);
    const norm = subnets.reduce((s, [, , h]) => s + subnetNorm(h), 0);
    expect(linear).toBe(631_240);
    expect(norm).toBe(2_400);
    const net = new Hypernet({ ...MNIST_HYPERNET, target: MNIST_TARGET, faithful: false }, new Rng(1));
    try {
      expect(net.numParameters()).toBe(linear + norm);
      expect(net.numParameters()).toBe(633_640);
      const shapes = Object.fromEntries(net.namedParameters().map(([name, p]) => [name, [...p.shape]]));
      expect(shapes).toEqual(Object.assign({}, ...subnets.map(([p, i, h, o]) => subnetShapes(p, i, h, o))));
    } finally {
      net.dispose();
    }
  });

  it('LeNet (32x32x3): the counts written out, and a forward pass and loss on random data', async () => {
    // conv 5x5x3 -> 6, pool -> 16x16x6; conv 5x5x6 -> 16, pool -> 8x8x16; dense 1024 -> 120 -> 84;
    // the logits 84 -> 10
    const weights =
      6 * (5 * 5 * 3 + 1) + 16 * (5 * 5 * 6 + 1) + 120 * (8 * 8 * 16 + 1) + 84 * (120 + 1) + (84 * 10 + 10);
    expect(weights).toBe(136_886);
    expect(targetWeights(LENET_TARGET)).toBe(weights);
    // codes: 6 + 16 + 120 + 84 + 1 = 227 of 15; every generator has hidden width 100
    const subnets: [string, number, number, number][] = [
      ['extractor', 300, 300, 15 * 227],
      ['gen1', 15, 100, 76],
      ['gen2', 15, 100, 151],
      ['gen3', 15, 100, 1025],
      ['gen4', 15, 100, 121],
      ['gen5', 15, 100, 850],
    ];
    const count = subnets.reduce((s, [, i, h, o]) => s + subnetLinear(i, h, o) + subnetNorm(h), 0);
    expect(count).toBe(1_484_500);
    const [B, n] = [3, 2];
    const net = new Hypernet({ ...MNIST_HYPERNET, target: LENET_TARGET, faithful: false }, new Rng(2)).train();
    try {
      expect(net.numParameters()).toBe(count);
      const shapes = Object.fromEntries(net.namedParameters().map(([name, p]) => [name, [...p.shape]]));
      expect(shapes).toEqual(Object.assign({}, ...subnets.map(([p, i, h, o]) => subnetShapes(p, i, h, o))));
      const rng = cpuRng(41);
      const r = await scopeAsync(async () => {
        const z = tensor(rng.uniform(B * 300, -1, 1), [B, 300]);
        const x = tensor(randomImages(LENET_TARGET, B, n, 42), [B, n, 32, 32, 3]);
        const y = tensor(
          Int32Array.from({ length: B * n }, () => rng.int(0, 10)),
          [B * n],
          'i32',
        );
        const { theta, l } = noGrad(() => ({
          theta: net.forward(z),
          l: hypernetLoss(net, z, x, y, { lambda: 1000, entropyDim: 300, metric: 'l1' }),
        }));
        expect(theta.shape).toEqual([B, weights]);
        expect(l.logits.shape).toEqual([B, n, 10]);
        return {
          theta: await theta.data(),
          logits: await l.logits.data(),
          loss: await l.loss.item(),
          ce: await l.ce.item(),
          entropy: await l.entropy.item(),
        };
      });
      expect(r.theta.every(Number.isFinite)).toBe(true);
      expect(r.logits.every(Number.isFinite)).toBe(true);
      expect(maxAbs(r.logits)).toBeGreaterThan(0); // not all dead
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.ce).toBeGreaterThan(0);
      expect(r.loss).toBeCloseTo(1000 * r.ce - r.entropy, 1);
    } finally {
      net.dispose();
    }
  });
});

describe('bad input', () => {
  const bad = (layers: TargetSpec['layers'], classes = 3): TargetSpec => ({
    name: 'bad',
    input: [6, 6, 1],
    classes,
    layers,
  });

  it('is refused with errors that say what was wrong and where', () => {
    // descriptions: the last layer must be the logits; no conv after a dense layer
    const wide = bad([
      { kind: 'conv', filters: 2, kernel: 3, pool: 2, hidden: 4 },
      { kind: 'dense', units: 4, hidden: 4 },
    ]);
    expect(() => layerShapes(wide)).toThrow("target 'bad': the last layer must be dense with 3 units (the logits)");
    expect(() => new Hypernet({ ...MICRO, target: wide }, new Rng(0))).toThrow(/last layer must be dense with 3 units/);
    expect(() => layerShapes(bad([{ kind: 'conv', filters: 3, kernel: 3, pool: 2, hidden: 4 }]))).toThrow(
      /the last layer must be dense/,
    );
    const convAfterDense = bad([
      { kind: 'dense', units: 4, hidden: 4 },
      { kind: 'conv', filters: 2, kernel: 3, pool: 2, hidden: 4 },
      { kind: 'dense', units: 3, hidden: 4 },
    ]);
    expect(() => layerShapes(convAfterDense)).toThrow("target 'bad' layer 2: a conv layer cannot follow a dense one");
    expect(() => new Hypernet({ ...MICRO, target: convAfterDense }, new Rng(0))).toThrow(/cannot follow a dense/);

    // noise and images of the wrong shape
    const net = new Hypernet(MICRO, new Rng(0));
    try {
      scope(() => {
        expect(() => net.generate(tensor(new Float32Array(2 * 5), [2, 5]))).toThrow(
          /Hypernet: z is \(2, ?5\), expected \(B, 6\)/,
        );
        expect(() => net.forward(tensor(new Float32Array(6), [6]))).toThrow(/expected \(B, 6\)/);
        const z = tensor(
          new Float32Array(2 * 6).map((_, i) => Math.sin(i)),
          [2, 6],
        );
        const y = tensor(new Int32Array(4), [4], 'i32');
        const opts = { lambda: 1, entropyDim: 6, metric: 'l1' as const };
        const images = (shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
        expect(() => hypernetLoss(net, z, images([2, 2, 6, 6, 2]), y, opts)).toThrow(
          "target 'micro': images (2, 2, 6, 6, 2), expected (G, n, 6, 6, 1)",
        );
        expect(() => hypernetLoss(net, z, images([2, 2, 5, 6, 1]), y, opts)).toThrow(/expected \(G, n, 6, 6, 1\)/);
        expect(() => targetForward(MICRO_TARGET, net.networks(z), images([4, 6, 6, 1]))).toThrow(
          /images \(4, 6, 6, 1\), expected \(G, n, 6, 6, 1\)/,
        );
      });
    } finally {
      net.dispose();
    }
  });
});

describe('hypernetwork shape checks', () => {
  it('raw generator outputs or image sets of the wrong shape are refused, naming both shapes', () => {
    const raws = layerShapes(MNIST_TARGET).map((s) => zeros([2, s.codes, s.rowLength]));
    const wrong = [...raws];
    wrong[3] = zeros([2, 1, 91]);
    expect(() => generatedLayers(MNIST_TARGET, wrong, true)).toThrow(
      /layer 4 of 'mnist' is \(2, 1, 91\), expected \(2, 1, 90\)/,
    );
    const layers = generatedLayers(MNIST_TARGET, raws, true);
    expect(() => targetForward(MNIST_TARGET, layers, zeros([3, 1, 28, 28, 1]))).toThrow(
      /4 layers of 2 networks.*expected 4 layers of 3/,
    );
    for (const t of raws) t.dispose();
  });
});
