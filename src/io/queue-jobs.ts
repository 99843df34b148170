// The job queue's jobs as data (`weightgen zoo --shards N --queue URL`, `weightgen hypernet eval --shards N
// --queue URL`, `weightgen worker`): what a zoo shard job and a hypernetwork eval shard job may say, checked
// field by field before a worker acts on them; the producers' plans of shards; the jobs' ids; and the folders
// their files go to (job-paths.ts, re-exported here). Pure: no Redis, no BullMQ (cli/queue.ts,
// cli/hypernet-queue.ts), no training (models/zoo.ts), no shard files (zoo-shards.ts, hypernet-shards.ts). The
// hypernetwork's sample shard jobs are checked with these fields in hypernet-sample-jobs.ts.
//
// A queue is a door into every worker. A job is plain JSON data: a run folder named relative to the
// worker's --root, zoo set names or a hypernetwork's settings, a model range and the training settings (a
// CSV's zoo: the CSV named relative to the root, its SHA-256 and `tabular`'s data flags); never code, a
// module to load, or a path outside the root. Anything else (an unknown or missing field, a
// value of the wrong type or out of range, a path that climbs out) is refused with a JobRefused that names
// the field, the value and what is allowed; the worker fails that job alone and keeps running.

import { createHash } from 'node:crypto';
import { HYPERNET_PRESETS } from '../models/hypernet-train.js';
import { modelSeed, ZOO_SETS } from '../models/zoo.js';
import { JobRefused, RUN_RULE, runPathProblem, shown } from './job-paths.js';

export { JobRefused, RUN_RULE, resolveRunFolder, resolveUnderRoot, runPathProblem } from './job-paths.js';

/** The BullMQ job names: a zoo shard, a hypernetwork eval or sample shard (the only kinds a worker runs). */
export const ZOO_SHARD = 'zoo-shard';
export const HYPERNET_EVAL_SHARD = 'hypernet-eval-shard';
export const HYPERNET_SAMPLE_SHARD = 'hypernet-sample-shard'; // its schema: hypernet-sample-jobs.ts
export const JOB_KINDS: readonly string[] = [ZOO_SHARD, HYPERNET_EVAL_SHARD, HYPERNET_SAMPLE_SHARD];

/** Models [first, first + count) of each named set, trained as one population per set. */
export interface ZooShardJob {
  version: string; // the weightgen version of the producer; a worker runs only its own version's jobs
  run: string; // the run folder, relative to the worker's --root (the shared volume)
  sets: string[]; // names of ZOO_SETS, in that order
  models: number; // models per set in the whole zoo
  first: number;
  count: number;
  shard: number; // this shard's index, 0..shards-1 (for messages)
  shards: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number; // the run's seed (modelSeed)
  data?: ZooData; // a tabular CSV's zoo (`weightgen tabular zoo`); absent: Iris
}

/**
 * The data of a tabular CSV's zoo: what `weightgen tabular` reads, splits and standardises (its flags), with
 * the CSV named relative to the worker's --root and identified by its SHA-256.
 */
export interface ZooData {
  csv: string; // relative to the worker's --root, as run folders are
  sha256: string; // of the CSV's bytes when the job was made; a worker refuses another file
  label: string; // the label column's header name
  hidden: number; // the Real-2 networks' hidden width
  split: 'stratified' | 'shuffle';
  splitSeed: number;
  testSize: number;
  standardise: boolean;
}

const MODEL_LIMIT = 2 ** 20; // modelSeed's model indices
const SEED_LIMIT = 2 ** 28; // modelSeed's run seeds

export type Check = (v: unknown) => string | null; // null: fine; else what is wrong

export const int =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? null
      : `expected an integer in ${min}..${max}`;

const SET_NAMES = ZOO_SETS.map((s) => s.name);

/** Every field of a job, in the order of the canonical form (the job id hashes that form). */
const FIELDS: Record<keyof ZooShardJob, Check> = {
  version: (v) => (typeof v === 'string' && /^[0-9A-Za-z.+-]{1,40}$/.test(v) ? null : 'expected a version string'),
  run: (v) => (typeof v === 'string' && runPathProblem(v) === null ? null : `expected ${RUN_RULE}`),
  sets: (v) => {
    const want = `expected a list of distinct zoo set names, in the order ${SET_NAMES.join(', ')}`;
    if (!Array.isArray(v) || v.length < 1 || v.length > SET_NAMES.length) return want;
    const at = v.map((s) => (typeof s === 'string' ? SET_NAMES.indexOf(s) : -1));
    return at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)) ? null : want;
  },
  models: int(1, MODEL_LIMIT),
  first: int(0, MODEL_LIMIT - 1),
  count: int(1, MODEL_LIMIT),
  shard: int(0, MODEL_LIMIT - 1),
  shards: int(1, MODEL_LIMIT),
  epochs: int(1, 1_000_000),
  batch: int(1, 100), // the training set has 100 rows
  lr: (v) =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 10 ? null : 'expected a number > 0 and <= 10',
  seed: int(0, SEED_LIMIT - 1),
  data: () => null, // optional, checked by validateZooShardJob (DATA_FIELDS)
};
const FIELD_NAMES = Object.keys(FIELDS).filter((f) => f !== 'data') as (keyof ZooShardJob)[];

/** The fields of a job's data (the flags of `weightgen tabular` that choose the rows), in canonical order. */
const DATA_FIELDS: Record<keyof ZooData, Check> = {
  csv: (v) => (typeof v === 'string' && runPathProblem(v) === null ? null : `expected ${RUN_RULE}`),
  sha256: (v) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? null : 'expected a SHA-256 in hex'),
  label: (v) =>
    typeof v === 'string' && v.length >= 1 && v.length <= 200 && !/[\p{Cc}]/u.test(v)
      ? null
      : 'expected a column name of 1 to 200 characters, no control characters',
  hidden: int(1, 4096),
  split: (v) => (v === 'stratified' || v === 'shuffle' ? null : "expected 'stratified' or 'shuffle'"),
  splitSeed: int(0, 2 ** 32 - 1),
  testSize: (v) =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 0.9 ? null : 'expected a number > 0 and <= 0.9',
  standardise: (v) => (typeof v === 'boolean' ? null : 'expected true or false'),
};

/**
 * `data` as a job of `kind` with exactly `fields`, each value of its type and range, in the canonical order
 * of `fields` (a fresh object: nothing of the input's is kept). Throws JobRefused otherwise.
 */
export function checkFields<T>(kind: string, fields: Record<string, Check>, data: unknown): T {
  if (
    typeof data !== 'object' ||
    data === null ||
    Array.isArray(data) ||
    Object.getPrototypeOf(data) !== Object.prototype
  ) {
    throw new JobRefused(`a ${kind} job's data must be a JSON object; got ${shown(data)}`);
  }
  const names = Object.keys(fields);
  const keys = Object.keys(data);
  const unknown = keys.filter((k) => !names.includes(k));
  if (unknown.length) {
    throw new JobRefused(
      `unknown field ${unknown.map((k) => `'${k}'`).join(', ')} (a ${kind} job has: ${names.join(', ')})`,
    );
  }
  const record = data as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of names) {
    if (!Object.hasOwn(record, f))
      throw new JobRefused(`missing field '${f}' (a ${kind} job has: ${names.join(', ')})`);
    const problem = fields[f]!(record[f]);
    if (problem) throw new JobRefused(`field '${f}': ${shown(record[f])} is not allowed; ${problem}`);
    out[f] = Array.isArray(record[f]) ? [...(record[f] as unknown[])] : record[f];
  }
  return out as T;
}

/**
 * The job in `data`, checked: exactly the fields of ZooShardJob with values of their type and range, a
 * model range inside the zoo and a shard index inside the plan. Throws JobRefused otherwise.
 */
export function validateZooShardJob(data: unknown): ZooShardJob {
  const tabular = typeof data === 'object' && data !== null && Object.hasOwn(data, 'data');
  const fields: Record<string, Check> = { ...FIELDS };
  if (!tabular) delete fields.data; // an Iris job: exactly the fields it always had
  const job = checkFields<ZooShardJob>(ZOO_SHARD, fields, data);
  try {
    if (tabular) job.data = checkFields<ZooData>(`${ZOO_SHARD} data`, DATA_FIELDS, job.data);
  } catch (e) {
    throw new JobRefused(`field 'data': ${(e as Error).message}`);
  }
  if (job.first + job.count > job.models) {
    throw new JobRefused(
      `models ${job.first}..${job.first + job.count - 1} are outside the zoo of ${job.models} (fields first, count, models)`,
    );
  }
  if (job.shard >= job.shards || job.shards > job.models) {
    throw new JobRefused(
      `shard ${job.shard} of ${job.shards} in a zoo of ${job.models}: expected shard < shards <= models`,
    );
  }
  modelSeed(1, job.first + job.count - 1, job.seed); // in range by the checks above; throws if not
  return job;
}

/**
 * A copy with the fields in their canonical order (a fresh object: nothing of the input's is kept); `data`
 * last, and only when there is one, so that an Iris job's form (and its id) is what it always was.
 */
function canonical(job: ZooShardJob): ZooShardJob {
  const out: Record<string, unknown> = {};
  for (const f of FIELD_NAMES) out[f] = f === 'sets' ? [...job.sets] : job[f];
  const data = job.data;
  if (data) out.data = Object.fromEntries(Object.keys(DATA_FIELDS).map((f) => [f, data[f as keyof ZooData]]));
  return out as unknown as ZooShardJob;
}

/** What a sharded zoo is: the same settings as `weightgen iris zoo` (ZOO_TRAINING for batch and lr). */
export interface ZooPlan {
  version: string;
  run: string;
  sets: string[];
  models: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  data?: ZooData; // a tabular CSV's zoo; absent: Iris
}

/** The zoo as `shards` jobs of contiguous model ranges whose sizes differ by at most one, checked. */
export function planZooShards(plan: ZooPlan, shards: number): ZooShardJob[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > plan.models) {
    throw new JobRefused(`${shards} shards of a zoo of ${plan.models} models: expected 1..${plan.models} shards`);
  }
  const base = Math.floor(plan.models / shards);
  const extra = plan.models % shards;
  const jobs: ZooShardJob[] = [];
  let first = 0;
  for (let shard = 0; shard < shards; shard++) {
    const count = base + (shard < extra ? 1 : 0);
    const { data, ...rest } = plan;
    const job = { ...rest, sets: [...plan.sets], first, count, shard, shards };
    jobs.push(validateZooShardJob(data ? { ...job, data: { ...data } } : job));
    first += count;
  }
  return jobs;
}

/** The job's id in the queue: a hash of its canonical form, so enqueuing the same shard twice adds it once. */
export function zooJobId(job: ZooShardJob): string {
  const hash = createHash('sha256')
    .update(JSON.stringify(canonical(job)))
    .digest('hex');
  return `${ZOO_SHARD}-${hash.slice(0, 24)}`;
}

/** "shard 2/4 (models 6..11 of real, real2)", "... of real, real2 on data/wine.csv)" */
export function describeShard(job: ZooShardJob): string {
  const models = `models ${job.first}..${job.first + job.count - 1} of ${job.sets.join(', ')}`;
  return `shard ${job.shard + 1}/${job.shards} (${models}${job.data ? ` on ${job.data.csv}` : ''})`;
}

/** The shard's file, relative to its run folder. */
export function shardFileName(job: Pick<ZooShardJob, 'first' | 'count'>): string {
  const pad = (n: number) => String(n).padStart(7, '0');
  return `zoo-shards/models-${pad(job.first)}-${pad(job.first + job.count - 1)}.safetensors`;
}

// ---- hypernetwork eval shards ----

/**
 * Networks [first, first + count) of a `weightgen hypernet eval` of `networks` networks, generated by the
 * trained hypernetwork of the run folder (its checkpoint identified by its SHA-256) and run on the first
 * `images` test images in blocks of `block` networks; their class probabilities go into one shard file.
 */
export interface HypernetEvalShardJob {
  version: string;
  run: string;
  preset: string; // a name of HYPERNET_PRESETS
  lambda: number; // the preset's, or --lambda
  steps: number; // the preset's, or --steps
  faithful: boolean;
  seed: number; // the run's seed: network g's noise depends on it and on g alone
  checkpoint: string; // SHA-256 (hex) of RUN/hypernet.ckpt.safetensors when the job was made
  networks: number;
  images: number;
  block: number; // networks generated at once (EVAL_BLOCK of cli/hypernet.ts); shards start on a block
  first: number;
  count: number;
  shard: number;
  shards: number;
}

/** Networks x images in one shard at most: its file holds 10 float32 probabilities each (335 MB). */
export const EVAL_SHARD_LIMIT = 2 ** 23;
const NETWORK_LIMIT = 2 ** 20;
const TEST_IMAGES = 10_000; // MNIST's test set

const bool: Check = (v) => (typeof v === 'boolean' ? null : 'expected true or false');

export const EVAL_FIELDS: Record<keyof HypernetEvalShardJob, Check> = {
  version: FIELDS.version,
  run: FIELDS.run,
  preset: (v) =>
    typeof v === 'string' && Object.hasOwn(HYPERNET_PRESETS, v)
      ? null
      : `expected one of ${Object.keys(HYPERNET_PRESETS).join(', ')}`,
  lambda: (v) =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1e12 ? null : 'expected a number > 0 and <= 1e12',
  steps: int(1, 100_000_000),
  faithful: bool,
  seed: int(0, 2 ** 48 - 1), // the noise's seed is seed * 16 + 3, a safe integer
  checkpoint: (v) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? null : 'expected a SHA-256 in hex'),
  networks: int(1, NETWORK_LIMIT),
  images: int(1, TEST_IMAGES),
  block: int(1, 1024),
  first: int(0, NETWORK_LIMIT - 1),
  count: int(1, NETWORK_LIMIT),
  shard: int(0, NETWORK_LIMIT - 1),
  shards: int(1, NETWORK_LIMIT),
};

/**
 * The job in `data`, checked: exactly the fields of HypernetEvalShardJob with values of their type and range,
 * a network range inside the eval that starts on a block and ends on one (or at the last network), at most
 * EVAL_SHARD_LIMIT networks x images, and a shard index inside the plan. Throws JobRefused otherwise.
 */
export function validateHypernetEvalJob(data: unknown): HypernetEvalShardJob {
  const job = checkFields<HypernetEvalShardJob>(HYPERNET_EVAL_SHARD, EVAL_FIELDS, data);
  const end = job.first + job.count;
  if (end > job.networks) {
    throw new JobRefused(
      `networks ${job.first}..${end - 1} are outside the eval of ${job.networks} (fields first, count, networks)`,
    );
  }
  if (job.first % job.block !== 0 || (end % job.block !== 0 && end !== job.networks)) {
    throw new JobRefused(
      `networks ${job.first}..${end - 1} do not start and end on blocks of ${job.block} (fields first, count, block)`,
    );
  }
  if (job.count * job.images > EVAL_SHARD_LIMIT) {
    throw new JobRefused(
      `${job.count} networks x ${job.images} images is more than ${EVAL_SHARD_LIMIT} in one shard (fields count, images)`,
    );
  }
  if (job.shard >= job.shards || job.shards > Math.ceil(job.networks / job.block)) {
    throw new JobRefused(
      `shard ${job.shard} of ${job.shards} in an eval of ${job.networks} networks in blocks of ${job.block}: ` +
        'expected shard < shards <= blocks',
    );
  }
  return job;
}

/** What a sharded eval is: everything of a job but its range. */
export type HypernetEvalPlan = Omit<HypernetEvalShardJob, 'first' | 'count' | 'shard' | 'shards'>;

/**
 * The eval as `shards` jobs of contiguous whole blocks, the shards' block counts differing by at most one;
 * JobRefused when there are more shards than blocks or a shard would be over EVAL_SHARD_LIMIT.
 */
export function planHypernetEvalShards(plan: HypernetEvalPlan, shards: number): HypernetEvalShardJob[] {
  const blocks = Math.ceil(plan.networks / plan.block);
  if (!Number.isInteger(shards) || shards < 1 || shards > blocks) {
    throw new JobRefused(
      `${shards} shards of ${plan.networks} networks in blocks of ${plan.block}: expected 1..${blocks} shards ` +
        '(a shard is whole blocks)',
    );
  }
  const per = Math.ceil(blocks / shards) * plan.block;
  if (Math.min(per, plan.networks) * plan.images > EVAL_SHARD_LIMIT) {
    const least = Math.ceil(blocks / Math.max(1, Math.floor(EVAL_SHARD_LIMIT / plan.images / plan.block)));
    throw new JobRefused(
      `${shards} shards of ${plan.networks} networks x ${plan.images} images hold up to ${per} networks each, ` +
        `more than ${EVAL_SHARD_LIMIT} networks x images: use at least ${least} shards`,
    );
  }
  const base = Math.floor(blocks / shards);
  const extra = blocks % shards;
  const jobs: HypernetEvalShardJob[] = [];
  let first = 0;
  for (let shard = 0; shard < shards; shard++) {
    const end = Math.min(plan.networks, first + (base + (shard < extra ? 1 : 0)) * plan.block);
    jobs.push(validateHypernetEvalJob({ ...plan, first, count: end - first, shard, shards }));
    first = end;
  }
  return jobs;
}

/** The job's id in the queue: a hash of its canonical form. */
export function hypernetEvalJobId(job: HypernetEvalShardJob): string {
  const canonicalJob = Object.fromEntries(Object.keys(EVAL_FIELDS).map((f) => [f, job[f as keyof typeof job]]));
  const hash = createHash('sha256').update(JSON.stringify(canonicalJob)).digest('hex');
  return `${HYPERNET_EVAL_SHARD}-${hash.slice(0, 24)}`;
}

/** "shard 2/4 (networks 64..127 of 256)" */
export function describeEvalShard(job: HypernetEvalShardJob): string {
  return `shard ${job.shard + 1}/${job.shards} (networks ${job.first}..${job.first + job.count - 1} of ${job.networks})`;
}

/** The shard's file, relative to its run folder. */
export function evalShardFileName(job: Pick<HypernetEvalShardJob, 'first' | 'count'>): string {
  const pad = (n: number) => String(n).padStart(7, '0');
  return `eval-shards/networks-${pad(job.first)}-${pad(job.first + job.count - 1)}.safetensors`;
}
