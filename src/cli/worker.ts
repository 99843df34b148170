// `weightgen worker --queue URL [--root DIR]`: takes shard jobs from the job queue (BullMQ on Redis), one
// at a time, and writes each shard's file into the run folder under --root (the shared volume): a zoo shard
// (trained as one population per set on this process's adapter; a CSV's zoo on the task `weightgen tabular`
// makes of the CSV under --root, refused when the file's SHA-256 is not the job's), a hypernetwork eval shard (networks
// generated from a run's trained hypernetwork and run on the test images) or a hypernetwork sample shard
// (those networks' weights; both in hypernet-worker.ts). The producers (cli/queue.ts, cli/hypernet-queue.ts)
// merge the shards.
//
// Each job is checked against its kind's schema (io/queue-jobs.ts) before anything is done: a malformed or
// hostile job is refused (failed at once, never retried) with a message saying why, and the worker goes on
// with the next. A shard's file is written atomically and its job completed only after, so a worker killed
// mid-shard leaves no file and its job goes back to the queue when BullMQ sees its lock lapse (after
// --stalled-seconds); whoever runs it again writes the same bytes. SIGTERM or SIGINT: the worker finishes
// the job in hand and stops (a second signal stops it at once).
//
// A worker never touches the run folder's own files (manifest.json, zoo.safetensors, eval.json,
// samples.safetensors, their temporary files): only its shards, under zoo-shards/, eval-shards/ or
// sample-shards/.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { relative, resolve } from 'node:path';
import type { Job, Worker } from 'bullmq';
import { type IrisSplit, irisSplit } from '../data/iris.js';
import { parseQueueUrl, QUEUE_NAME, redactUrl, requireRedisClient } from '../io/queue-connection.js';
import {
  describeShard,
  HYPERNET_EVAL_SHARD,
  HYPERNET_SAMPLE_SHARD,
  JOB_KINDS,
  JobRefused,
  resolveRunFolder,
  resolveUnderRoot,
  shardFileName,
  validateZooShardJob,
  ZOO_SHARD,
  type ZooData,
  type ZooShardJob,
} from '../io/queue-jobs.js';
import { readShard, type ShardPart, writeShard } from '../io/zoo-shards.js';
import { type TaskSplit, taskZooSets } from '../models/task.js';
import { trainZoo, ZOO_SETS, type ZooSet } from '../models/zoo.js';
import { VERSION } from '../version.js';
import { type EvalContext, runEvalShardJob, runSampleShardJob, warmUpEval } from './hypernet-worker.js';
import { type FlagValues, UsageError } from './parser.js';
import type { QUEUE_COMMANDS } from './queue-args.js';
import { loadTabularTask } from './tabular.js';

export interface WorkerOptions {
  queue: string; // the Redis URL
  root: string; // where run folders are on this machine
  stalledSeconds: number; // BullMQ's lock duration and stall check interval
}

/** What a worker returns for a zoo job (BullMQ keeps it as the job's return value). */
export interface ShardResult {
  file: string; // relative to the run folder
  models: number; // networks trained (count x sets), 0 when the file was already there
  seconds: number;
}

interface Context {
  root: string;
  split: IrisSplit;
  refuse: (message: string) => Error;
}

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

/** The job's data and run folder, checked; a refusal (never retried) when the job is not one to run. */
function checkJob(job: Job, ctx: Context): { spec: ZooShardJob; dir: string } {
  if (!JOB_KINDS.includes(job.name)) {
    throw ctx.refuse(`unknown job kind ${JSON.stringify(job.name)} (this worker runs: ${JOB_KINDS.join(', ')})`);
  }
  let spec: ZooShardJob;
  let dir: string;
  try {
    spec = validateZooShardJob(job.data);
    dir = resolveRunFolder(ctx.root, spec.run);
  } catch (e) {
    if (e instanceof JobRefused) throw ctx.refuse(e.message);
    throw e;
  }
  if (spec.version !== VERSION) {
    throw ctx.refuse(
      `made by weightgen ${spec.version}, and this worker is ${VERSION}: run one version on every machine ` +
        '(a zoo is bit-identical only when every shard is trained by the same code)',
    );
  }
  if (!existsSync(dir)) {
    // an error, retried: another worker may have the shared volume mounted
    throw new Error(
      `run folder ${dir} is not on this worker (${hostname()}): mount the shared volume at --root ${ctx.root}`,
    );
  }
  try {
    readShard(dir, spec); // a file of other settings is never overwritten by a job
  } catch (e) {
    throw ctx.refuse((e as Error).message);
  }
  return { spec, dir };
}

/**
 * The rows and zoo sets of a CSV's job, as `weightgen tabular` makes them of the CSV under --root, after
 * checking that the file is the one the job was made for (its SHA-256): a refusal when it is not.
 */
function tabularTask(data: ZooData, ctx: Context): { split: TaskSplit; sets: readonly ZooSet[] } {
  let path: string;
  try {
    path = resolveUnderRoot(ctx.root, data.csv, 'CSV');
  } catch (e) {
    if (e instanceof JobRefused) throw ctx.refuse(e.message);
    throw e;
  }
  if (!existsSync(path)) {
    throw new Error(`CSV ${path} is not on this worker (${hostname()}): mount the shared volume at --root ${ctx.root}`);
  }
  const changed = (sha: unknown) =>
    ctx.refuse(
      `CSV ${data.csv} has SHA-256 ${String(sha).slice(0, 16)}..., not the job's ${data.sha256.slice(0, 16)}...: ` +
        'the file changed after the zoo was enqueued; enqueue it again from the file as it is now',
    );
  const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (sha !== data.sha256) throw changed(sha);
  const { label, hidden, split, splitSeed, testSize, standardise } = data;
  const task = loadTabularTask({
    ...{ csv: path, label, hidden, split, 'split-seed': splitSeed, 'test-size': testSize },
    standardise: standardise ? 'yes' : 'no',
  });
  if (task.source?.sha256 !== data.sha256) throw changed(task.source?.sha256); // changed while being read
  return { split: task.split, sets: taskZooSets(task) };
}

/** Runs one job: checks it, trains its shard (unless its file is already there) and writes the file. */
export async function runShardJob(job: Job, ctx: Context): Promise<ShardResult> {
  const { spec, dir } = checkJob(job, ctx);
  const { split, sets } = spec.data ? tabularTask(spec.data, ctx) : { split: ctx.split, sets: ZOO_SETS };
  const t0 = Date.now();
  const what = `job ${job.id}: ${describeShard(spec)} of ${spec.run}`;
  if (readShard(dir, spec)) {
    log(`${what}: its file is already there, nothing to do`);
    return { file: shardFileName(spec), models: 0, seconds: 0 };
  }
  log(`${what}: training`);
  const parts: Record<string, ShardPart> = {};
  let lastReport = 0;
  for (const [k, name] of spec.sets.entries()) {
    const set = sets.find((s) => s.name === name)!;
    const z = await trainZoo(set, split, {
      models: spec.count,
      firstModel: spec.first,
      seed: spec.seed,
      epochs: spec.epochs,
      batchSize: spec.batch,
      lr: spec.lr,
      onEpoch: (e) => {
        if (Date.now() - lastReport < 1000 && e + 1 < spec.epochs) return;
        lastReport = Date.now();
        const progress = Math.round((100 * (k * spec.epochs + e + 1)) / (spec.sets.length * spec.epochs));
        job.updateProgress(progress).catch(() => {}); // progress is advisory: a lost update changes nothing
      },
    });
    parts[name] = { vectors: z.vectors, testAccuracy: z.testAccuracy };
    const acc = z.testAccuracy.reduce((s, a) => s + a, 0) / spec.count;
    log(`${what}: ${name} trained, mean test accuracy ${(100 * acc).toFixed(2)}%`);
  }
  const path = writeShard(dir, spec, parts);
  const seconds = (Date.now() - t0) / 1000;
  const models = spec.count * spec.sets.length;
  log(`${what}: written ${relative(dir, path)} (${models} networks in ${seconds.toFixed(1)} s)`);
  return { file: relative(dir, path), models, seconds };
}

/** Serves the queue until SIGTERM or SIGINT. */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const connection = parseQueueUrl(o.queue);
  requireRedisClient();
  const root = resolve(o.root);
  if (!existsSync(root)) throw new Error(`--root ${o.root}: no such folder (mount the shared volume there)`);
  const bullmq = await import('bullmq');
  const name = `${hostname()}:${process.pid}`;
  const refuse = (message: string) => new bullmq.UnrecoverableError(`refused: ${message}`);
  const ctx: Context = { root, split: irisSplit(), refuse };
  const evalCtx: EvalContext = { root, refuse, log };
  // compile every kernel a shard uses before taking a job: a first compile can hold the event loop for
  // seconds, long enough to miss a lock renewal and hand a live worker's job to another
  const t0 = Date.now();
  for (const arch of ['M1', 'M2'])
    await trainZoo(ZOO_SETS.find((s) => s.arch === arch)!, ctx.split, { models: 2, epochs: 1 });
  await warmUpEval();
  log(`kernels ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const run = (job: Job) => {
    if (job.name === HYPERNET_EVAL_SHARD) return runEvalShardJob(job, evalCtx);
    if (job.name === HYPERNET_SAMPLE_SHARD) return runSampleShardJob(job, evalCtx);
    return runShardJob(job, ctx); // refuses every other kind but zoo-shard
  };
  const worker = new bullmq.Worker(QUEUE_NAME, run, {
    connection,
    name,
    concurrency: 1, // one population at a time on this adapter
    lockDuration: o.stalledSeconds * 1000,
    stalledInterval: o.stalledSeconds * 1000,
    maxStalledCount: 2, // a shard survives two dead workers before it is failed
    autorun: false,
  });
  listen(worker);
  log(
    `worker ${name} (weightgen ${VERSION}) takes ${ZOO_SHARD} jobs, ${HYPERNET_EVAL_SHARD} jobs and ` +
      `${HYPERNET_SAMPLE_SHARD} jobs from ${redactUrl(o.queue)} ` +
      `(queue '${QUEUE_NAME}'); run folders under ${root}`,
  );
  await worker.run();
  log('worker stopped');
}

/** Logs the worker's errors and failed jobs, and stops it on SIGTERM or SIGINT (at once on the second). */
function listen(worker: Worker): void {
  let lastError = '';
  worker.on('error', (e) => {
    if (e.message !== lastError) console.error(`weightgen worker: queue error: ${e.message} (retrying)`);
    lastError = e.message;
  });
  worker.on('failed', (job, e) => {
    const refused = e.name === 'UnrecoverableError' ? ' (not retried)' : ' (to be retried)';
    console.error(`weightgen worker: job ${job?.id ?? '?'} (${job?.name ?? '?'}) failed${refused}: ${e.message}`);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${signal}: finishing the job in hand, then stopping (send it again to stop now)`);
    worker.close().catch(() => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `weightgen worker` from its parsed flags (args.ts); `announce` prints the adapter once the flags are fine. */
export async function workerCli(
  o: FlagValues<(typeof QUEUE_COMMANDS)['worker']['flags']>,
  announce: () => Promise<void> = async () => {},
): Promise<void> {
  if (!o.queue) throw new UsageError('worker needs --queue URL (redis://host:port: the queue to take jobs from)');
  usableUrl(o.queue);
  await announce();
  return runWorker({ queue: o.queue, root: o.root, stalledSeconds: o['stalled-seconds'] });
}

/** A UsageError (exit status 2) for a --queue value that is not a Redis URL. */
export function usableUrl(url: string): void {
  try {
    parseQueueUrl(url);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
