// A queue job's shard file, as every kind of shard writes and reads it (zoo-shards.ts, hypernet-shards.ts):
// written through a temporary name unique to this writer (host, process, random: workers on several machines
// share the run folder) and renamed into place, so a reader never sees half a file; read back only after
// checking that its metadata names exactly this job, and that every value is finite. Not here: a shard's
// tensors (each kind checks its own).

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { assertFinite } from './checkpoint.js';
import { readSafetensors, writeError } from './files.js';
import type { SafeFile } from './safetensors.js';

/** Writes `bytes` to `path` atomically, through a temporary name unique to this writer; returns the path. */
export function writeShardFile(path: string, bytes: Uint8Array): string {
  const tmp = `${path}.tmp-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(path, e);
  }
  return path;
}

/**
 * The shard file at `path`, or null when there is none; throws, naming the file, when its metadata's format
 * and job are not `want`'s (`remedy` says what to do) or a value is not finite.
 */
export function readShardFile(path: string, want: Record<string, string>, remedy: string): SafeFile | null {
  if (!existsSync(path)) return null;
  const f = readSafetensors(path);
  if (f.metadata.format !== want.format || f.metadata.job !== want.job) {
    throw new Error(
      `${path} was made for another job (${f.metadata.job ?? 'no settings recorded'}; this one is ${want.job}): ${remedy}`,
    );
  }
  assertFinite(f, path);
  return f;
}
