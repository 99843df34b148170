// A sharded hypernetwork eval's or sample's files: each shard's safetensors file (written by whichever worker
// ran the shard), checked when read back for the merge. Node only (files). Not here: the jobs (queue-jobs.ts,
// hypernet-sample-jobs.ts), the queue and the merges (cli/hypernet-queue.ts), computing the probabilities
// and the networks (cli/hypernet.ts).
//
//   eval-shards/networks-<first>-<last>.safetensors     probabilities (count, images, classes): network
//                                                       first + i's softmax outputs on the first `images`
//                                                       test images; the job's settings as metadata
//   sample-shards/networks-<first>-<last>.safetensors   net<g>.conv1.weight, ..., net<g>.fc2.bias for g in
//                                                       first .. last: the names, shapes and order of
//                                                       samples.safetensors; the job's settings as metadata
//
// A network's predicted class is the argmax of its row (ties to the lowest class), which is what every
// ensemble rule reads along with the probabilities themselves. A file is written under a temporary name
// unique to the writer (host, process, random) and renamed, so two workers that ran the same shard (a retry
// after a stall) each write whole files of the same bytes.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readShardFile, writeShardFile } from './shard-file.js';
import { evalShardFileName, type HypernetEvalShardJob } from './queue-jobs.js';
import { type HypernetSampleShardJob, sampleShardFileName } from './hypernet-sample-jobs.js';
import { encodeSafetensors, expectTensor, type SafeTensor } from './safetensors.js';
import { torchStateDict } from '../models/hypernet-export.js';
import { layerShapes, MNIST_TARGET } from '../models/target-net.js';

const SHARD_FORMAT = 'weightgen hypernet eval shard v1';
const SAMPLE_FORMAT = 'weightgen hypernet sample shard v1';

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
  const tensors = { probabilities: { dtype: 'F32' as const, shape: [job.count, job.images, classes], data: probs } };
  return writeShardFile(join(runDir, evalShardFileName(job)), encodeSafetensors(tensors, shardMeta(job)));
}

/**
 * The probabilities (count, images, classes) of the job's shard file in `runDir`, after checking that it was
 * made for exactly this job (settings, checkpoint and range), has that shape and is finite. Throws, naming
 * the file, when it is not; returns null when there is no file.
 */
export function readEvalShard(runDir: string, job: HypernetEvalShardJob, classes: number): Float32Array | null {
  const path = join(runDir, evalShardFileName(job));
  const f = readShardFile(path, shardMeta(job), 'delete it (or the eval-shards folder), or use another --run folder');
  if (!f) return null;
  return expectTensor(f, 'probabilities', [job.count, job.images, classes], path).data as Float32Array;
}

/** The names and shapes of one generated network's tensors, in samples.safetensors' order (conv1.weight, ...). */
export function sampleLayout(): [string, number[]][] {
  const blank = layerShapes(MNIST_TARGET).map((s) => ({
    kernel: new Float32Array(s.units * s.fanIn),
    bias: new Float32Array(s.units),
  }));
  return Object.entries(torchStateDict(MNIST_TARGET, blank, 0)).map(([name, t]) => [name, t.shape]);
}

/** What a sample shard file's metadata records: everything that decides its bytes. */
function sampleMeta(job: HypernetSampleShardJob): Record<string, string> {
  const { version, preset, lambda, steps, faithful, seed, checkpoint, block, first, count } = job;
  return {
    format: SAMPLE_FORMAT,
    job: JSON.stringify({ version, preset, lambda, steps, faithful, seed, checkpoint, block, first, count }),
  };
}

/** Throws, naming `source`, unless `tensors` are exactly the job's networks' (net<g>.<name>), in order. */
function checkSampleTensors(tensors: Record<string, SafeTensor>, job: HypernetSampleShardJob, source: string) {
  const layout = sampleLayout();
  const names = Object.keys(tensors);
  let k = 0;
  for (let g = job.first; g < job.first + job.count; g++) {
    for (const [n, shape] of layout) {
      const name = `net${g}.${n}`;
      const t = tensors[names[k] ?? ''];
      if (names[k] !== name || t?.dtype !== 'F32' || t.shape.join() !== shape.join()) {
        const found = t ? `${names[k]} (${t.dtype} [${t.shape}])` : 'nothing';
        throw new Error(`${source}: tensor ${k} should be ${name} (F32 [${shape}]), found ${found}`);
      }
      k++;
    }
  }
  if (names.length !== k) {
    throw new Error(
      `${source}: ${names.length} tensors, expected ${k} (networks ${job.first}..${job.first + job.count - 1})`,
    );
  }
}

/**
 * Writes a sample shard's file atomically into `runDir`; returns its path. `tensors`: networks
 * first..first+count-1 as samples.safetensors names them (net<g>.conv1.weight, ...), in that order.
 */
export function writeSampleShard(
  runDir: string,
  job: HypernetSampleShardJob,
  tensors: Record<string, SafeTensor>,
): string {
  checkSampleTensors(tensors, job, 'writeSampleShard');
  return writeShardFile(join(runDir, sampleShardFileName(job)), encodeSafetensors(tensors, sampleMeta(job)));
}

/**
 * The tensors of the job's sample shard file in `runDir` (in the file's order), after checking that it was
 * made for exactly this job, holds exactly its networks' tensors in order and is finite. Throws, naming the
 * file, when it is not; returns null when there is no file.
 */
export function readSampleShard(runDir: string, job: HypernetSampleShardJob): Record<string, SafeTensor> | null {
  const path = join(runDir, sampleShardFileName(job));
  const f = readShardFile(
    path,
    sampleMeta(job),
    'delete it (or the sample-shards folder), or use another --run folder',
  );
  if (!f) return null;
  checkSampleTensors(f.tensors, job, path);
  return f.tensors;
}
