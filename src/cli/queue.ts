// `weightgen zoo --shards N --queue URL`: a zoo of the Iris sets (or, with --csv FILE --label COLUMN and
// `tabular`'s data flags, a CSV's, as `weightgen tabular zoo` trains it) split into N shard jobs (ranges of models)
// on a job queue (BullMQ on Redis) for `weightgen worker`s on any number of machines; the producer follows
// them and, when every shard's file is in the run folder, merges them into zoo.safetensors: the same bytes
// `weightgen iris zoo` writes for the same settings (model g's seed depends on g alone, models/zoo.ts), and
// the same manifest record, so `weightgen iris` carries on from it (a CSV's: `tabular zoo`'s file and record,
// and `weightgen tabular` carries on). A CSV's jobs name it relative to --root, with its SHA-256.
//
//   weightgen zoo --shards N --queue URL [--detach]   enqueue (again: only what is neither done nor queued)
//   weightgen zoo --shards N --merge                  merge the shards in the run folder (no queue needed)
//   weightgen zoo --status --queue URL                the run folder's jobs: shards done, networks/second
//
// The queue machinery here (connecting, enqueuing what is not done, following the shards, --status) serves
// every kind of shard job through a ShardKind; `weightgen hypernet eval|sample --shards` (hypernet-queue.ts)
// uses it too. Not here: --status's report (queue-status.ts), the worker (worker.ts), the jobs' schema
// (io/queue-jobs.ts), the shard files (io/zoo-shards.ts).

import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import { prepareRunFolder, readSafetensors, writeSafetensors } from '../io/files.js';
import { RunManifest, settingsDiff } from '../io/manifest.js';
import { parseQueueUrl, QUEUE_NAME, redactUrl, requireRedisClient } from '../io/queue-connection.js';
import {
  describeShard,
  JobRefused,
  planZooShards,
  RUN_RULE,
  resolveRunFolder,
  resolveUnderRoot,
  runPathProblem,
  shardFileName,
  validateZooShardJob,
  ZOO_SHARD,
  type ZooData,
  type ZooPlan,
  type ZooShardJob,
  zooJobId,
} from '../io/queue-jobs.js';
import type { SafeTensor } from '../io/safetensors.js';
import { mergeShards, readShard, ZOO_FILE, zooMetadata, zooSettings } from '../io/zoo-shards.js';
import type { Task } from '../models/task.js';
import { ZOO_SETS, ZOO_TRAINING } from '../models/zoo.js';
import { VERSION } from '../version.js';
import { type FlagValues, UsageError } from './parser.js';
import type { QUEUE_COMMANDS } from './queue-args.js';
import { Progress } from './progress.js';
import { queueStatus } from './queue-status.js';
import { loadTabularTask, type TabularData } from './tabular.js';
import { usableUrl } from './worker.js';

export interface ZooQueueOptions {
  queue?: string;
  shards?: number;
  run: string; // relative to root
  root: string;
  sets: string; // comma-separated
  models: number;
  epochs: number;
  seed: number;
  merge: boolean;
  status: boolean;
  detach: boolean;
  pollSeconds?: number; // how often the producer looks at its jobs, 1
  data?: TabularData; // a CSV's zoo (`tabular`'s data flags); absent: Iris
}

/** A CSV's zoo: its task, as `tabular` loads it, and its jobs' data (the CSV relative to --root). */
export function tabularData(o: ZooQueueOptions): { task: Task; data: ZooData } | undefined {
  const d = o.data;
  if (!d) return undefined;
  if (d.csv === undefined) throw new UsageError('zoo: --label and the data flags go with --csv FILE');
  const csv = relative(resolve(o.root), resolve(d.csv));
  try {
    resolveUnderRoot(o.root, csv, 'CSV');
  } catch (e) {
    throw new UsageError(`zoo: --csv ${d.csv}: ${(e as Error).message} (workers find it under their --root)`);
  }
  const task = loadTabularTask(d);
  const { sha256 } = task.source as { sha256: string };
  const [label, hidden, split] = [d.label!, d.hidden, d.split]; // (loadTabularTask refused a missing label)
  const [splitSeed, testSize, standardise] = [d['split-seed'], d['test-size'], d.standardise === 'yes'];
  return { task, data: { csv, sha256, label, hidden, split, splitSeed, testSize, standardise } };
}

export const JOB_OPTIONS = {
  attempts: 3, // an error (not a refusal) is retried twice, after 5 s and 10 s
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: false, // kept: the job id says the shard was done, and --status counts it
  removeOnFail: false,
} as const;

/** The zoo the flags describe; a UsageError for a bad set list or run folder. */
export function zooPlan(o: ZooQueueOptions, data?: ZooData): ZooPlan {
  const problem = runPathProblem(o.run);
  if (problem) {
    throw new UsageError(`zoo: --run ${o.run}: ${problem}; expected ${RUN_RULE} (workers find it under their --root)`);
  }
  const names = o.sets.split(',').map((s) => s.trim());
  const all = ZOO_SETS.map((s) => s.name);
  const bad = names.filter((n) => !all.includes(n));
  if (bad.length || new Set(names).size !== names.length) {
    throw new UsageError(`zoo: --sets ${o.sets}: expected distinct names among ${all.join(', ')}, comma-separated`);
  }
  const sets = all.filter((n) => names.includes(n));
  const { batch, lr } = ZOO_TRAINING;
  const plan = { version: VERSION, run: o.run, sets, models: o.models, epochs: o.epochs, batch, lr, seed: o.seed };
  return data ? { ...plan, data } : plan;
}

function runFolder(o: ZooQueueOptions): string {
  try {
    return resolveRunFolder(o.root, o.run);
  } catch (e) {
    throw new UsageError(`zoo: ${(e as Error).message}`);
  }
}

/**
 * The existing zoo.safetensors's tensors when it was made with this zoo's settings (or null when there is
 * none); throws, naming both settings, when it was made with others.
 */
function existingZoo(dir: string, plan: ZooPlan, task?: Task): Record<string, SafeTensor> | null {
  const path = join(dir, ZOO_FILE);
  if (!existsSync(path)) return null;
  const entry = RunManifest.open(dir).entry(ZOO_FILE);
  const diff = entry
    ? settingsDiff(entry.settings, zooSettings(plan, task))
    : ['no record of its settings in manifest.json'];
  if (diff.length) {
    throw new Error(
      `${path} was made with other settings (${diff.join('; ')}); refusing to overwrite it: use another --run ` +
        'folder, or delete it and what was made from it',
    );
  }
  return readSafetensors(path).tensors;
}

/** Connects to the queue, or fails within 10 s with what Redis said. */
export async function openQueue(url: string): Promise<Queue> {
  const connection = parseQueueUrl(url);
  requireRedisClient();
  const { Queue } = await import('bullmq');
  const queue = new Queue(QUEUE_NAME, { connection });
  let last = '';
  queue.on('error', (e) => {
    last = e.message;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const said = last ? `: ${last}` : '';
      reject(
        new Error(
          `cannot reach the queue at ${redactUrl(url)} within 10 s${said} (is Redis running, the password right?)`,
        ),
      );
    }, 10_000);
  });
  try {
    await Promise.race([queue.waitUntilReady(), timeout]);
  } catch (e) {
    queue.disconnect().catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return queue;
}

/** What the queue machinery needs to know of a kind of shard job. */
export interface ShardKind<J> {
  name: string; // the BullMQ job name
  validate: (data: unknown) => J; // throws JobRefused
  id: (job: J) => string;
  file: (job: J) => string; // the shard's file, relative to the run folder
  done: (dir: string, job: J) => boolean; // its file is there (and of this job: throws if of another)
  describe: (job: J) => string;
  run: (job: J) => string; // the run folder of the job
  networks: (job: J) => number; // networks the shard trains or evaluates
  /** The plan of a job: a key for grouping, and the line of --status (before the counts). */
  plan: (job: J) => { key: string; line: string; total: number };
  verb: string; // 'trained', 'evaluated'
}

export const ZOO_KIND: ShardKind<ZooShardJob> = {
  name: ZOO_SHARD,
  validate: validateZooShardJob,
  id: zooJobId,
  file: shardFileName,
  done: (dir, job) => readShard(dir, job) !== null,
  describe: describeShard,
  run: (job) => job.run,
  networks: (job) => job.count * job.sets.length,
  plan: (job) => {
    const { first: _f, count: _c, shard: _s, ...settings } = job;
    return {
      key: JSON.stringify(settings),
      line: `${job.models} models x ${job.sets.join(', ')} (${job.epochs} epochs, seed ${job.seed})`,
      total: job.models * job.sets.length,
    };
  },
  verb: 'trained',
};

/** Adds the jobs whose shard is neither in the run folder nor queued; retries failed ones. */
export async function enqueue<J>(queue: Queue, dir: string, jobs: J[], kind: ShardKind<J>): Promise<void> {
  const counts = { done: 0, queued: 0, added: 0, retried: 0 };
  for (const job of jobs) {
    if (kind.done(dir, job)) {
      counts.done++;
      continue;
    }
    const id = kind.id(job);
    const had = await queue.getJob(id);
    const state = had ? await had.getState() : 'missing';
    if (state === 'failed') {
      await had!.retry('failed');
      counts.retried++;
    } else if (state === 'completed' || state === 'missing' || state === 'unknown') {
      if (had) await had.remove(); // completed, but its file is gone: run it again
      await queue.add(kind.name, job, { ...JOB_OPTIONS, jobId: id });
      counts.added++;
    } else {
      counts.queued++;
    }
  }
  console.log(
    `${jobs.length} shards: ${counts.added} enqueued, ${counts.retried} failed ones retried, ` +
      `${counts.queued} already queued, ${counts.done} already in the run folder`,
  );
}

/** Waits until every shard's file is in the run folder; throws when a job has failed for good. */
export async function follow<J>(
  queue: Queue,
  dir: string,
  jobs: J[],
  kind: ShardKind<J>,
  title: string,
  pollSeconds: number,
): Promise<void> {
  const bar = new Progress(title, jobs.length);
  const t0 = Date.now();
  const missingSince = new Map<string, number>();
  for (;;) {
    let done = 0;
    let networks = 0;
    for (const job of jobs) {
      if (existsSync(join(dir, kind.file(job)))) {
        done++;
        networks += kind.networks(job);
        continue;
      }
      const id = kind.id(job);
      const j = await queue.getJob(id);
      const state = j ? await j.getState() : 'missing';
      if (state === 'failed') {
        throw new Error(
          `${kind.describe(job)} failed: ${j!.failedReason}; fix the cause, then run the same command again ` +
            '(it retries failed shards)',
        );
      }
      if (state === 'completed' || state === 'missing') {
        // done by a worker (or gone from the queue), but no file here: give a shared volume time to show it
        const since = missingSince.get(id) ?? Date.now();
        missingSince.set(id, since);
        if (Date.now() - since > 30_000) {
          throw new Error(
            `${kind.describe(job)} is ${state} in the queue but ${join(dir, kind.file(job))} is not here: ` +
              'is the run folder on the same shared volume for the workers and this machine (their --root)?',
          );
        }
      }
    }
    const secs = (Date.now() - t0) / 1000;
    bar.update(done, `${done} shards in the run folder (${(networks / Math.max(secs, 1e-3)).toFixed(1)} networks/s)`);
    if (done === jobs.length) return;
    await new Promise((r) => setTimeout(r, pollSeconds * 1000));
  }
}

/** Merges the plan's shards into zoo.safetensors and records it in the manifest (a CSV's: as `tabular zoo`). */
export function mergeZoo(dir: string, plan: ZooPlan, jobs: ZooShardJob[], task?: Task): void {
  const existing = existingZoo(dir, plan, task) ?? {};
  const tensors = mergeShards(dir, jobs, existing);
  writeSafetensors(join(dir, ZOO_FILE), tensors, zooMetadata(plan, task));
  RunManifest.open(dir).record(ZOO_FILE, zooSettings(plan, task));
  for (const name of plan.sets) {
    const acc = tensors[`${name}.test_accuracy`]!.data as Float32Array;
    const mean = acc.reduce((s, a) => s + a, 0) / acc.length;
    console.log(`zoo ${name}: ${plan.models} networks, mean test accuracy ${(100 * mean).toFixed(2)}%`);
  }
  console.log(`merged ${jobs.length} shards into ${join(dir, ZOO_FILE)}`);
}

/** `weightgen zoo`: enqueue and follow, or --merge, or --status. */
export async function zooCommand(o: ZooQueueOptions): Promise<void> {
  if (o.queue) usableUrl(o.queue);
  if (o.status) {
    if (!o.queue) throw new UsageError('zoo --status needs --queue URL (the queue the workers take jobs from)');
    const queue = await openQueue(o.queue);
    try {
      console.log(await queueStatus(queue, o.run, ZOO_KIND));
    } finally {
      await queue.close();
    }
    return;
  }
  if (o.shards === undefined) throw new UsageError('zoo needs --shards N (the number of jobs to split the zoo into)');
  const tabular = tabularData(o); // the CSV read and hashed before anything is written
  const plan = zooPlan(o, tabular?.data);
  let jobs: ZooShardJob[];
  try {
    jobs = planZooShards(plan, o.shards);
  } catch (e) {
    if (e instanceof JobRefused) throw new UsageError(`zoo: --shards ${o.shards}: ${e.message}`);
    throw e;
  }
  const dir = runFolder(o);
  if (o.merge) return mergeZoo(dir, plan, jobs, tabular?.task);
  if (!o.queue) throw new UsageError('zoo needs --queue URL (redis://host:port), or --merge to merge finished shards');
  prepareRunFolder(dir);
  const had = existingZoo(dir, plan, tabular?.task);
  if (had && plan.sets.every((s) => had[`${s}.weights`])) {
    console.log(`${join(dir, ZOO_FILE)} already holds ${plan.sets.join(', ')} with these settings: nothing to do`);
    return;
  }
  for (const j of jobs) readShard(dir, j); // a shard file of other settings: refuse before enqueuing anything
  const queue = await openQueue(o.queue);
  try {
    await enqueue(queue, dir, jobs, ZOO_KIND);
    if (o.detach) {
      console.log('detached: follow with `weightgen zoo --status`, merge with `weightgen zoo --merge` (same flags)');
      return;
    }
    const t0 = Date.now();
    await follow(queue, dir, jobs, ZOO_KIND, `zoo shards (${jobs.length} over the queue)`, o.pollSeconds ?? 1);
    console.log(`all ${jobs.length} shards done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await queue.close();
  }
  mergeZoo(dir, plan, jobs, tabular?.task);
}

/** The run folder's zoo jobs in the queue (queueStatus). */
export function zooStatus(queue: Queue, run: string): Promise<string> {
  return queueStatus(queue, run, ZOO_KIND);
}

/** `weightgen zoo` from its parsed flags (args.ts). */
export function zooCli(o: FlagValues<(typeof QUEUE_COMMANDS)['zoo']['flags']>): Promise<void> {
  return zooCommand({
    queue: o.queue,
    shards: o.shards,
    run: o.run,
    root: o.root,
    sets: o.sets,
    models: o.models,
    epochs: o['zoo-epochs'],
    seed: o.seed,
    merge: o.merge,
    status: o.status,
    detach: o.detach,
    data: o.csv === undefined && o.label === undefined ? undefined : o,
  });
}
