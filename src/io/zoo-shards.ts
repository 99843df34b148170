// A sharded zoo's files: each shard's safetensors file (written by whichever worker ran the shard) and the
// merge of a plan's shards into the run folder's zoo.safetensors, byte for byte the file `weightgen iris
// zoo` writes for the same settings (so the Iris pipeline carries on from it), or, for a job of a CSV's
// data, the file `weightgen tabular zoo` writes (its networks' widths follow the data). Node only. Not here:
// the jobs (queue-jobs.ts), the queue (cli/queue.ts), training (models/zoo.ts).
//
//   zoo-shards/models-<first>-<last>.safetensors   <set>.weights (count, P), <set>.test_accuracy (count),
//                                                  and the job's settings as metadata
//
// A shard file is written under a temporary name unique to the writer (host, process, random) and renamed,
// so two workers that ran the same shard (a retry after a stall) each write whole files of the same bytes.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { layoutText, type Task, taskZooSets } from '../models/task.js';
import { vectorLength, ZOO_SETS, ZOO_TRAINING, type ZooSet } from '../models/zoo.js';
import { readShardFile, writeShardFile } from './shard-file.js';
import { type ZooPlan, type ZooShardJob, shardFileName } from './queue-jobs.js';
import { encodeSafetensors, expectTensor, type SafeTensor } from './safetensors.js';

export const ZOO_FILE = 'zoo.safetensors';
const SHARD_FORMAT = 'weightgen zoo shard v1';

/** One set's part of a shard: the trained vectors (count, P) and their test accuracies (count). */
export interface ShardPart {
  vectors: Float32Array;
  testAccuracy: Float32Array;
}

/** What a shard file's metadata records: everything that decides its bytes (not the shard's index). */
function shardMeta(job: ZooShardJob): Record<string, string> {
  const { version, sets, models, first, count, epochs, batch, lr, seed, data } = job;
  const settings = { version, sets, models, first, count, epochs, batch, lr, seed };
  return { format: SHARD_FORMAT, job: JSON.stringify(data ? { ...settings, data } : settings) };
}

function setOf(name: string): ZooSet {
  const set = ZOO_SETS.find((s) => s.name === name);
  if (!set) throw new Error(`no zoo set '${name}' (sets: ${ZOO_SETS.map((s) => s.name).join(', ')})`);
  return set;
}

/** Writes a shard's file atomically into `runDir`; returns its path. */
export function writeShard(runDir: string, job: ZooShardJob, parts: Record<string, ShardPart>): string {
  const tensors: Record<string, SafeTensor> = {};
  for (const name of job.sets) {
    const p = parts[name]!;
    const P = p.vectors.length / job.count; // the set's vector length (a CSV's widths follow its data)
    tensors[`${name}.weights`] = { dtype: 'F32', shape: [job.count, P], data: p.vectors };
    tensors[`${name}.test_accuracy`] = { dtype: 'F32', shape: [job.count], data: p.testAccuracy };
  }
  return writeShardFile(join(runDir, shardFileName(job)), encodeSafetensors(tensors, shardMeta(job)));
}

/**
 * The parts of the job's shard file in `runDir`, after checking that it was made for exactly this job (its
 * settings and range), holds each set's tensors in their shapes, and is finite. Throws, naming the file,
 * when it is not; returns null when there is no file.
 */
export function readShard(runDir: string, job: ZooShardJob): Record<string, ShardPart> | null {
  const path = join(runDir, shardFileName(job));
  const f = readShardFile(path, shardMeta(job), 'delete it, or use another --run folder');
  if (!f) return null;
  const parts: Record<string, ShardPart> = {};
  for (const name of job.sets) {
    const P = job.data ? -1 : vectorLength(setOf(name).arch); // a CSV's: as its data (recorded) makes them
    parts[name] = {
      vectors: expectTensor(f, `${name}.weights`, [job.count, P], path).data as Float32Array,
      testAccuracy: expectTensor(f, `${name}.test_accuracy`, [job.count], path).data as Float32Array,
    };
  }
  return parts;
}

type ZooSettings = Pick<ZooPlan, 'models' | 'epochs' | 'seed'>;

/**
 * The manifest settings of the zoo file: those `weightgen iris zoo` records for the same zoo, or, with a
 * task of a CSV's data, those `weightgen tabular zoo` records (the data's source first).
 */
export function zooSettings(plan: ZooSettings, task?: Task): Record<string, unknown> {
  const data = task?.source;
  return { ...(data ? { data } : {}), ...ZOO_TRAINING, models: plan.models, epochs: plan.epochs, seed: plan.seed };
}

/** The metadata of zoo.safetensors, as `weightgen iris zoo` (or, with a task, `tabular zoo`) writes it. */
export function zooMetadata(plan: ZooSettings, task?: Task): Record<string, string> {
  return {
    format: 'weightgen iris zoo v1',
    layout: task
      ? layoutText(task)
      : 'M1: the 3x5 matrix [W | b] row-major; M2: W1 (5x4) row-major, b1, W2 (3x5) row-major, b2',
    sets: JSON.stringify(task ? taskZooSets(task) : ZOO_SETS),
    training: JSON.stringify(zooSettings(plan, task)),
  };
}

/**
 * The zoo's tensors from a plan's shards: each set's models 0..models-1 taken from exactly one shard each
 * (the jobs of one plan tile the range; this checks it, so that no model is lost or counted twice), in
 * ZOO_SETS order after any other set `existing` holds. Throws, naming the shard files, when one is missing.
 */
export function mergeShards(
  runDir: string,
  jobs: readonly ZooShardJob[],
  existing: Record<string, SafeTensor> = {},
): Record<string, SafeTensor> {
  const sorted = [...jobs].sort((a, b) => a.first - b.first);
  const models = sorted[0]?.models ?? 0;
  let next = 0;
  for (const j of sorted) {
    if (j.first !== next || j.models !== models) {
      throw new Error(`the shards do not tile models 0..${models - 1}: ${j.first} follows ${next - 1}`);
    }
    next += j.count;
  }
  if (next !== models) throw new Error(`the shards end at model ${next - 1} of ${models}`);
  const missing = sorted.filter((j) => !existsSync(join(runDir, shardFileName(j))));
  if (missing.length) {
    const names = missing.map((j) => shardFileName(j));
    throw new Error(
      `${missing.length} of ${jobs.length} shards are not in ${runDir} yet (${names.slice(0, 4).join(', ')}` +
        `${names.length > 4 ? ', ...' : ''}): wait for the workers (\`weightgen zoo --status\`), or enqueue them again`,
    );
  }
  const parts = sorted.map((j) => readShard(runDir, j)!);
  const out: Record<string, SafeTensor> = {};
  const sets = sorted[0]?.sets ?? [];
  for (const [name, t] of Object.entries(existing)) if (!sets.includes(name.split('.')[0]!)) out[name] = t;
  for (const set of ZOO_SETS.filter((s) => sets.includes(s.name))) {
    const P = parts[0]![set.name]!.vectors.length / sorted[0]!.count;
    const other = sorted.findIndex((j, k) => parts[k]![set.name]!.vectors.length !== j.count * P);
    if (other >= 0) throw new Error(`${shardFileName(sorted[other]!)}: ${set.name}'s vectors are not of length ${P}`);
    const w = new Float32Array(models * P);
    const acc = new Float32Array(models);
    sorted.forEach((j, k) => {
      w.set(parts[k]![set.name]!.vectors, j.first * P);
      acc.set(parts[k]![set.name]!.testAccuracy, j.first);
    });
    out[`${set.name}.weights`] = { dtype: 'F32', shape: [models, P], data: w };
    out[`${set.name}.test_accuracy`] = { dtype: 'F32', shape: [models], data: acc };
  }
  return out;
}
