// A worker's side of a sharded hypernetwork eval or sample (`weightgen worker` runs these jobs beside the
// zoo's): a `hypernet-eval-shard` or `hypernet-sample-shard` job checked against its schema and against the
// run folder (the checkpoint it names by its SHA-256, trained with the job's settings), then networks
// [first, first + count) generated from that checkpoint in fixed blocks (hypernet-blocks.ts) and either run on
// the first `images` test images (their probabilities) or kept as PyTorch state dicts (their weights), and
// written atomically as the shard's file. The job is completed only after the file is there.
//
// Not here: the queue and the zoo's jobs (worker.ts), the producers and the merges (hypernet-queue.ts).

import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import type { Job } from 'bullmq';
import type { MnistPart } from '../data/mnist.js';
import {
  describeSampleShard,
  type HypernetSampleShardJob,
  sampleShardFileName,
  validateHypernetSampleJob,
} from '../io/hypernet-sample-jobs.js';
import { fileSha256, readEvalShard, readSampleShard, writeEvalShard, writeSampleShard } from '../io/hypernet-shards.js';
import { RunManifest, settingsDiff } from '../io/manifest.js';
import {
  describeEvalShard,
  evalShardFileName,
  type HypernetEvalShardJob,
  JobRefused,
  resolveRunFolder,
  validateHypernetEvalJob,
} from '../io/queue-jobs.js';
import { Hypernet, MNIST_HYPERNET } from '../models/hypernet.js';
import { networkProbabilities } from '../models/hypernet-train.js';
import { MNIST_TARGET } from '../models/target-net.js';
import { Rng, tensor } from '../tensor/index.js';
import { VERSION } from '../version.js';
import { CKPT, evalImages, type HypernetOptions, loadTrained, settingsOf } from './hypernet.js';
import { EVAL_BLOCK, evalBlocks, sampleBlocks } from './hypernet-blocks.js';

export interface EvalShardResult {
  file: string; // relative to the run folder
  networks: number; // networks evaluated, 0 when the file was already there
  seconds: number;
}

export interface EvalContext {
  root: string;
  refuse: (message: string) => Error;
  log: (line: string) => void;
  /** The last run's trained hypernetwork, kept for its next shard (by folder and checkpoint hash). */
  cached?: { key: string; net: Hypernet };
  test?: { images: number; part: MnistPart };
}

type HypernetJob = HypernetEvalShardJob | HypernetSampleShardJob;

/** The options of `hypernet eval` or `hypernet sample` that the job stands for, in the run folder `dir`. */
function optionsOf(spec: HypernetJob, dir: string): HypernetOptions {
  return {
    run: dir,
    preset: spec.preset as HypernetOptions['preset'],
    seed: spec.seed,
    faithful: spec.faithful,
    lambda: spec.lambda,
    steps: spec.steps,
    samples: spec.networks,
    evalNetworks: spec.networks,
    evalImages: 'images' in spec ? spec.images : 1,
    ensemble: 1,
  };
}

/** The job's data, checked against its schema, and its run folder; a refusal when it is not one to run. */
function parseJob<J extends HypernetJob>(job: Job, ctx: EvalContext, validate: (d: unknown) => J) {
  try {
    const spec = validate(job.data);
    return { spec, dir: resolveRunFolder(ctx.root, spec.run) };
  } catch (e) {
    if (e instanceof JobRefused) throw ctx.refuse(e.message);
    throw e;
  }
}

/**
 * The job's data, run folder and options, checked (`validate`: its kind's schema; `readShard`: throws when a
 * file of other settings is in the way); a refusal (never retried) when it is not one to run.
 */
function checkJob<J extends HypernetJob>(
  job: Job,
  ctx: EvalContext,
  validate: (d: unknown) => J,
  readShard: (dir: string, spec: J) => unknown,
): { spec: J; dir: string; o: HypernetOptions } {
  const { spec, dir } = parseJob(job, ctx, validate);
  if (spec.version !== VERSION) {
    throw ctx.refuse(
      `made by weightgen ${spec.version}, and this worker is ${VERSION}: run one version on every machine ` +
        '(an eval or sample is bit-identical only when every shard is computed by the same code)',
    );
  }
  if (spec.block !== EVAL_BLOCK) {
    throw ctx.refuse(`blocks of ${spec.block} networks; this worker generates them in blocks of ${EVAL_BLOCK}`);
  }
  if (!existsSync(dir)) {
    throw new Error(
      `run folder ${dir} is not on this worker (${hostname()}): mount the shared volume at --root ${ctx.root}`,
    );
  }
  const o = optionsOf(spec, dir);
  const ckpt = join(dir, CKPT);
  if (!existsSync(ckpt) || fileSha256(ckpt) !== spec.checkpoint) {
    throw ctx.refuse(
      `${ckpt} is ${existsSync(ckpt) ? 'not the checkpoint' : 'missing, not the checkpoint'} the job was made ` +
        'for (its SHA-256 differs): the run was trained again since; enqueue the job again',
    );
  }
  const made = RunManifest.open(dir).entry(CKPT);
  const diff = made ? settingsDiff(made.settings, settingsOf(o).train) : ['no record of its settings'];
  if (diff.length) throw ctx.refuse(`${ckpt} was not trained with the job's settings: ${diff.join('; ')}`);
  try {
    readShard(dir, spec); // a file of other settings is never overwritten by a job
  } catch (e) {
    throw ctx.refuse((e as Error).message);
  }
  return { spec, dir, o };
}

/** The run's trained hypernetwork, kept in `ctx` for the next shard of the same run and checkpoint. */
function trainedNet(ctx: EvalContext, spec: HypernetJob, dir: string, o: HypernetOptions): Hypernet {
  const key = `${dir}\n${spec.checkpoint}\n${spec.preset}\n${spec.faithful}`;
  if (ctx.cached?.key !== key) {
    ctx.cached?.net.dispose();
    ctx.cached = undefined;
    ctx.cached = { key, net: loadTrained(o) };
  }
  return ctx.cached.net;
}

/** Runs one eval shard job: checks it, evaluates its networks (unless its file is there) and writes the file. */
export async function runEvalShardJob(job: Job, ctx: EvalContext): Promise<EvalShardResult> {
  const readShard = (d: string, j: HypernetEvalShardJob) => readEvalShard(d, j, MNIST_TARGET.classes);
  const { spec, dir, o } = checkJob(job, ctx, validateHypernetEvalJob, readShard);
  const what = `job ${job.id}: ${describeEvalShard(spec)} of ${spec.run}`;
  if (readEvalShard(dir, spec, MNIST_TARGET.classes)) {
    ctx.log(`${what}: its file is already there, nothing to do`);
    return { file: evalShardFileName(spec), networks: 0, seconds: 0 };
  }
  const t0 = Date.now();
  ctx.log(`${what}: evaluating on ${spec.images} test images`);
  const net = trainedNet(ctx, spec, dir, o);
  if (ctx.test?.images !== spec.images) ctx.test = { images: spec.images, part: evalImages(o) };
  const test = ctx.test.part;
  const K = MNIST_TARGET.classes;
  const N = test.y.length;
  const probs = new Float32Array(spec.count * N * K);
  let lastReport = 0;
  await evalBlocks(net, spec.seed, test, spec.first, spec.count, (at, p) => {
    probs.set(p, (at - spec.first) * N * K);
    if (Date.now() - lastReport < 1000) return;
    lastReport = Date.now();
    const done = at + p.length / (N * K) - spec.first;
    job.updateProgress(Math.round((100 * done) / spec.count)).catch(() => {}); // advisory
  });
  const path = writeEvalShard(dir, spec, probs, K);
  const seconds = (Date.now() - t0) / 1000;
  ctx.log(
    `${what}: written ${relative(dir, path)} (${spec.count} networks in ${seconds.toFixed(1)} s, ` +
      `${(spec.count / seconds).toFixed(2)} networks/s)`,
  );
  return { file: relative(dir, path), networks: spec.count, seconds };
}

/** Runs one sample shard job: checks it, generates its networks (unless its file is there), writes the file. */
export async function runSampleShardJob(job: Job, ctx: EvalContext): Promise<EvalShardResult> {
  const { spec, dir, o } = checkJob(job, ctx, validateHypernetSampleJob, readSampleShard);
  const what = `job ${job.id}: ${describeSampleShard(spec)} of ${spec.run}`;
  if (readSampleShard(dir, spec)) {
    ctx.log(`${what}: its file is already there, nothing to do`);
    return { file: sampleShardFileName(spec), networks: 0, seconds: 0 };
  }
  const t0 = Date.now();
  ctx.log(`${what}: generating`);
  let lastReport = 0;
  const tensors = await sampleBlocks(trainedNet(ctx, spec, dir, o), spec.seed, spec.first, spec.count, (done) => {
    if (Date.now() - lastReport < 1000) return;
    lastReport = Date.now();
    job.updateProgress(Math.round((100 * done) / spec.count)).catch(() => {}); // advisory
  });
  const path = writeSampleShard(dir, spec, tensors);
  const seconds = (Date.now() - t0) / 1000;
  ctx.log(
    `${what}: written ${relative(dir, path)} (${spec.count} networks in ${seconds.toFixed(1)} s, ` +
      `${(spec.count / seconds).toFixed(2)} networks/s)`,
  );
  return { file: relative(dir, path), networks: spec.count, seconds };
}

/**
 * Compiles the kernels an eval shard uses (a block of EVAL_BLOCK networks of a fresh hypernetwork on a few
 * blank images), so that a first compile does not hold the event loop past a lock renewal.
 */
export async function warmUpEval(): Promise<void> {
  const net = new Hypernet({ ...MNIST_HYPERNET, target: MNIST_TARGET, faithful: false }, new Rng(0));
  try {
    const [H, W, C] = MNIST_TARGET.input;
    const images = 8; // as many as a matmul needs for the kernels of larger products (matmul.ts: SMALL)
    const part = { x: new Float32Array(images * H * W * C), y: new Int32Array(images) };
    const z = tensor(new Float32Array(EVAL_BLOCK * MNIST_HYPERNET.noise), [EVAL_BLOCK, MNIST_HYPERNET.noise]);
    await networkProbabilities(net, z, part);
    z.dispose();
  } finally {
    net.dispose();
  }
}
