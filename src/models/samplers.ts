// Sampling networks to start fine-tuning from (the hyper-representations paper; PAPERS.md section 3), for
// both VAEs of the pipeline (Iris's, or another dataset's: task.ts). Latent samplers draw z, decode it (batch
// norm, if any, in evaluation mode) and scale the result back to weights; the baselines work in weight space.
//   prior     z ~ N(0, I)
//   S_U       z uniform in the box of the zoo's embeddings (per latent dimension, min..max of the encoder means)
//   S_KDE     a multivariate Gaussian KDE on the embeddings (kde.ts; Scott's bandwidth unless set)
//   S_KDE30   the same on the embeddings of the best 30% of the zoo
//   S_Neigh   the neighbourhood of a good model as the VAE itself defines it: z ~ q(z | w) = N(mu, exp(logvar))
//             of a member of the best 30% chosen uniformly, the posterior the decoder learned to map back to w
//   B_T       random initialisation, PyTorch's default as the zoo's, from seeds no zoo network used
//   B_F       the zoo's networks themselves (the first n; again from the first when n exceeds the zoo)
//   B_KDE30   the KDE in weight space on the best 30% (M2: hidden units in canonical order first, zoo.ts)
// "Best" ranks the zoo by accuracy on the training rows. The samplers are handed the training rows alone
// (TrainRows), so nothing here can rank by test rows (the paper's code ranked by test accuracy).
//
// Not here: fine-tuning (finetune.ts), the memorisation check (src/analysis/memorisation.ts).

import { disposeAll, noGrad, Rng, scope, type Tensor, tensor } from '../tensor/index.js';
import { GaussianKde, normalCpu } from './kde.js';
import {
  canonicalOrder,
  modelSeed,
  type Net,
  netName,
  netShape,
  Population,
  populationAccuracy,
  vectorLength,
} from './zoo.js';

export const SAMPLERS = ['B_T', 'B_F', 'B_KDE30', 'prior', 'S_U', 'S_KDE', 'S_KDE30', 'S_Neigh'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export const SAMPLER_WHAT: Record<SamplerName, string> = {
  B_T: 'random init (PyTorch default)',
  B_F: 'the zoo itself',
  B_KDE30: 'KDE in weight space, best 30%',
  prior: 'latent prior N(0, I)',
  S_U: 'uniform in the latent box',
  S_KDE: 'KDE on the embeddings',
  S_KDE30: 'KDE on the embeddings, best 30%',
  S_Neigh: 'posterior of a best-30% model',
};

/** The share of the zoo that S_KDE30, S_Neigh and B_KDE30 draw around. */
export const BEST_FRACTION = 0.3;

/** B_T's networks use model indices from here on in the zoo set's seed space: no zoo of up to 2^19 used them. */
export const FRESH_MODELS = 2 ** 19;

/** The training rows: all the samplers may see of the data. */
export interface TrainRows {
  xTrain: Float32Array; // (N, d) (Iris: d 4)
  yTrain: Int32Array; // (N)
}

/** A trained VAE of either kind, as sampling sees it. */
export interface LatentModel {
  vae: {
    eval(): { encode(x: Tensor): { mu: Tensor; logvar: Tensor }; decode(z: Tensor): Tensor };
    latent: number;
  };
  scaler: { scale(v: ArrayLike<number>): Float32Array; unscale(v: ArrayLike<number>): Float32Array };
  /** What training did to the vectors before scaling them (the enhanced VAE's canonical preset). */
  prepare?: (vectors: Float32Array) => Float32Array;
}

export interface SamplerInputs {
  arch: Net;
  zoo: Float32Array; // (G, P) the zoo's weights, raw
  rows: TrainRows;
  model: LatentModel;
  /** The zoo set's seed and the run's (zoo.ts modelSeed): B_T draws as the zoo did, from FRESH_MODELS on. */
  seeds: { set: number; run: number };
}

export interface SamplerOptions {
  n: number; // networks per sampler
  seed: number;
  /** The KDEs' bandwidth factor; default Scott's rule n^(-1/(d+4)). */
  bandwidth?: number;
}

export interface SampledSets {
  sets: Record<SamplerName, Float32Array>; // each (n, P), raw weights
  trainAccuracy: Float32Array; // (G) of the zoo, on the training rows
  best: Int32Array; // the zoo members S_KDE30, S_Neigh and B_KDE30 drew around
  embeddings: Embeddings;
}

/** The encoder's outputs for the zoo: means and log-variances (G, latent). */
export interface Embeddings {
  mu: Float32Array;
  logvar: Float32Array;
  latent: number;
}

/** Every sampler's n networks for one zoo and its VAE. */
export async function sampleAll(inp: SamplerInputs, o: SamplerOptions): Promise<SampledSets> {
  const P = vectorLength(inp.arch);
  const G = inp.zoo.length / P;
  if (!Number.isInteger(G) || G < 2)
    throw new Error(`sampleAll: ${inp.zoo.length} values are not 2 or more ${netName(inp.arch)} vectors of ${P}`);
  if (!Number.isInteger(o.n) || o.n < 1) throw new Error(`sampleAll: n ${o.n} must be a whole number >= 1`);
  const trainAccuracy = await trainRowAccuracy(inp.arch, inp.zoo, inp.rows);
  const best = bestIndices(trainAccuracy);
  const emb = await embed(inp.model, inp.zoo, P);
  const rng = (name: SamplerName) => new Rng(o.seed * SAMPLERS.length + SAMPLERS.indexOf(name));
  const decode = (name: Exclude<SamplerName, 'B_T' | 'B_F' | 'B_KDE30'>) =>
    decodeLatent(inp.model, latentSamples(name, emb, best, o.n, rng(name), o.bandwidth), o.n);
  const weightSpace = canonicalOrder(inp.arch, inp.zoo);
  const sets: Record<SamplerName, Float32Array> = {
    B_T: await randomInit(inp.arch, o.n, inp.seeds),
    B_F: Float32Array.from({ length: o.n * P }, (_, i) => inp.zoo[i % (G * P)]!),
    B_KDE30: Float32Array.from(
      new GaussianKde(rowsOf(weightSpace, best, P), P, o.bandwidth).sample(o.n, rng('B_KDE30')),
    ),
    prior: await decode('prior'),
    S_U: await decode('S_U'),
    S_KDE: await decode('S_KDE'),
    S_KDE30: await decode('S_KDE30'),
    S_Neigh: await decode('S_Neigh'),
  };
  return { sets, trainAccuracy, best, embeddings: emb };
}

/**
 * z for a latent sampler (n, latent), in float64: what it draws from the embeddings `emb`, `best` the zoo
 * members the best-30% samplers use.
 */
export function latentSamples(
  name: 'prior' | 'S_U' | 'S_KDE' | 'S_KDE30' | 'S_Neigh',
  emb: Embeddings,
  best: Int32Array,
  n: number,
  rng: Rng,
  bandwidth?: number,
): Float64Array {
  const L = emb.latent;
  const G = emb.mu.length / L;
  switch (name) {
    case 'prior':
      return normalCpu(rng, n * L);
    case 'S_U': {
      const lo = new Float64Array(L).fill(Infinity);
      const hi = new Float64Array(L).fill(-Infinity);
      for (let i = 0; i < G * L; i++) {
        lo[i % L] = Math.min(lo[i % L]!, emb.mu[i]!);
        hi[i % L] = Math.max(hi[i % L]!, emb.mu[i]!);
      }
      return rng.uniformCpu(n * L).map((u, i) => lo[i % L]! + u * (hi[i % L]! - lo[i % L]!));
    }
    case 'S_KDE':
      return new GaussianKde(emb.mu, L, bandwidth).sample(n, rng);
    case 'S_KDE30':
      return new GaussianKde(rowsOf(emb.mu, best, L), L, bandwidth).sample(n, rng);
    case 'S_Neigh': {
      const pick = rng.uniformCpu(n);
      const eps = normalCpu(rng, n * L);
      return eps.map((e, i) => {
        const g = best[Math.min(best.length - 1, Math.floor(pick[Math.floor(i / L)]! * best.length))]!;
        return emb.mu[g * L + (i % L)]! + Math.exp(emb.logvar[g * L + (i % L)]! / 2) * e;
      });
    }
  }
}

/** The encoder's means and log-variances of vectors (G, P), in evaluation mode (batch norm: running statistics). */
export async function embed(model: LatentModel, vectors: Float32Array, P: number): Promise<Embeddings> {
  const scaled = model.scaler.scale(model.prepare ? model.prepare(vectors) : vectors);
  const [mu, logvar] = noGrad(() =>
    scope(() => {
      const e = model.vae.eval().encode(tensor(scaled, [scaled.length / P, P]));
      return [e.mu, e.logvar];
    }),
  );
  try {
    const read = async (t: Tensor) => (await t.data()) as Float32Array;
    return { mu: await read(mu!), logvar: await read(logvar!), latent: model.vae.latent };
  } finally {
    disposeAll([mu, logvar]);
  }
}

/** Decodes z (n, latent) and scales the result back to weights: (n, P). */
export async function decodeLatent(model: LatentModel, z: ArrayLike<number>, n: number): Promise<Float32Array> {
  const out = noGrad(() => scope(() => model.vae.eval().decode(tensor(Float32Array.from(z), [n, model.vae.latent]))));
  try {
    return model.scaler.unscale((await out.data()) as Float32Array);
  } finally {
    out.dispose();
  }
}

/** Accuracy of each network (G, P) on the training rows: what ranks the zoo. */
export async function trainRowAccuracy(arch: Net, vectors: Float32Array, rows: TrainRows): Promise<Float32Array> {
  const G = vectors.length / vectorLength(arch);
  const pop = new Population(arch, G, null);
  const x = tensor(rows.xTrain, [rows.yTrain.length, netShape(arch).widths[0]!]);
  try {
    pop.loadVectors(vectors);
    return await populationAccuracy(pop, x, rows.yTrain);
  } finally {
    pop.dispose();
    x.dispose();
  }
}

/**
 * The indices of the best `fraction` of networks by accuracy (ceil(fraction * G), at least 2 and at most
 * G), best first; ties go to the lower index.
 */
export function bestIndices(accuracy: ArrayLike<number>, fraction = BEST_FRACTION): Int32Array {
  const G = accuracy.length;
  const k = Math.min(G, Math.max(2, Math.ceil(fraction * G - 1e-9)));
  const order = Array.from({ length: G }, (_, i) => i).sort((a, b) => accuracy[b]! - accuracy[a]! || a - b);
  return Int32Array.from(order.slice(0, k));
}

/** B_T: n networks initialised as zoo.ts initialises the zoo's, from model index FRESH_MODELS of the set on. */
export async function randomInit(arch: Net, n: number, seeds: { set: number; run: number }): Promise<Float32Array> {
  if (n > FRESH_MODELS) throw new Error(`randomInit: ${n} networks; at most ${FRESH_MODELS}`);
  const rngs = Array.from({ length: n }, (_, g) => new Rng(modelSeed(seeds.set, FRESH_MODELS + g, seeds.run)));
  const pop = new Population(arch, n, rngs);
  try {
    return await pop.vectors();
  } finally {
    pop.dispose();
  }
}

/** The rows `idx` of data (G, d). */
function rowsOf(data: ArrayLike<number>, idx: Int32Array, d: number): Float64Array {
  const out = new Float64Array(idx.length * d);
  idx.forEach((g, k) => {
    for (let a = 0; a < d; a++) out[k * d + a] = data[g * d + a]!;
  });
  return out;
}

/**
 * How much the embeddings tell the zoo's networks apart: the largest standard deviation of an encoder mean
 * over the zoo, against the mean posterior standard deviation exp(logvar / 2). A spread far below the
 * posterior's is posterior collapse: the encoder ignores its input and the latent samplers decode nearly one
 * network.
 */
export function embeddingSpread(emb: Embeddings): { meanStd: number; posteriorStd: number } {
  const L = emb.latent;
  const G = emb.mu.length / L;
  let meanStd = 0;
  let posteriorStd = 0;
  for (let a = 0; a < L; a++) {
    let m = 0;
    let v = 0;
    for (let g = 0; g < G; g++) m += emb.mu[g * L + a]! / G;
    for (let g = 0; g < G; g++) v += (emb.mu[g * L + a]! - m) ** 2 / G;
    meanStd = Math.max(meanStd, Math.sqrt(v));
  }
  for (const lv of emb.logvar) posteriorStd += Math.exp(lv / 2) / emb.logvar.length;
  return { meanStd, posteriorStd };
}
