// A sharded hypernetwork eval's files: each shard's safetensors file (written by whichever worker ran the
// shard), checked when read back for the merge. Node only (files). Not here: the jobs (queue-jobs.ts), the
// queue and the merge (cli/hypernet-queue.ts), computing the probabilities (cli/hypernet.ts).
//
//   eval-shards/networks-<first>-<last>.safetensors   probabilities (count, images, classes): network
//                                                     first + i's softmax outputs on the first `images`
//                                                     test images; the job's settings as metadata
//
// A network's predicted class is the argmax of its row (ties to the lowest class), which is what every
// ensemble rule reads along with the probabilities themselves. The file is written under a temporary name
// unique to the writer (host, process, random) and renamed, so two workers that ran the same shard (a retry
// after a stall) each write whole files of the same bytes.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { assertFinite } from './checkpoint.js';
import { readSafetensors, writeError } from './files.js';
import { evalShardFileName, type HypernetEvalShardJob } from './queue-jobs.js';
import { encodeSafetensors, expectTensor } from './safetensors.js';

const SHARD_FORMAT = 'weightgen hypernet eval shard v1';

/** What a shard file's metadata records: everything that decides its bytes (not the run or the plan). */
function shardMeta(job: HypernetEvalShardJob): Record<string, string> {
  const { version, preset, lambda, steps, faithful, seed, checkpoint, images, block, first, count } = job;
  return {
    format: SHARD_FORMAT,
    job: JSON.stringify({ version, preset, lambda, steps, faithful, seed, checkpoint, images, block, first, count }),
  };
}

/** SHA-256 (hex) of a file: how a job names the checkpoint it was made for. */
export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Writes a shard's file atomically into `runDir`; returns its path. probs: (count, images, classes). */
export function writeEvalShard(
  runDir: string,
  job: HypernetEvalShardJob,
  probs: Float32Array,
  classes: number,
): string {
  if (probs.length !== job.count * job.images * classes) {
    throw new Error(
      `writeEvalShard: ${probs.length} probabilities, expected ${job.count} x ${job.images} x ${classes}`,
    );
  }
  const path = join(runDir, evalShardFileName(job));
  const tmp = `${path}.tmp-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const tensors = { probabilities: { dtype: 'F32' as const, shape: [job.count, job.images, classes], data: probs } };
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, encodeSafetensors(tensors, shardMeta(job)));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(path, e);
  }
  return path;
}

/**
 * The probabilities (count, images, classes) of the job's shard file in `runDir`, after checking that it was
 * made for exactly this job (settings, checkpoint and range), has that shape and is finite. Throws, naming
 * the file, when it is not; returns null when there is no file.
 */
export function readEvalShard(runDir: string, job: HypernetEvalShardJob, classes: number): Float32Array | null {
  const path = join(runDir, evalShardFileName(job));
  if (!existsSync(path)) return null;
  const f = readSafetensors(path);
  const want = shardMeta(job);
  if (f.metadata.format !== want.format || f.metadata.job !== want.job) {
    throw new Error(
      `${path} was made for another job (${f.metadata.job ?? 'no settings recorded'}; this one is ${want.job}): ` +
        'delete it (or the eval-shards folder), or use another --run folder',
    );
  }
  assertFinite(f, path);
  return expectTensor(f, 'probabilities', [job.count, job.images, classes], path).data as Float32Array;
}
