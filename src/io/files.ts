// Files in Node: atomic writes (a crash leaves the old file or the new one, never half of one), safetensors
// and JSON files, and the checks a run folder gets before any training. Not for the browser.
//
// A write goes to `<path>.tmp-<pid>` and is renamed over `path`. When it fails (a full disk, a read-only
// folder), the temporary file is removed and the error names the file and says what to do; a temporary file
// left by a process that died mid-write is removed by cleanStaleTemps (prepareRunFolder calls it).

import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type SafeFile, type SafeTensor } from './safetensors.js';

/** Writes bytes or text to a path: writeFileSync, or a stand-in that fails on purpose in tests. */
export type FileWriter = (path: string, data: Uint8Array | string) => void;

const TEMP = /\.tmp-(\d+)$/;

/** What to do about a failed write, by error code. */
const ADVICE: Record<string, string> = {
  ENOSPC: 'free space or choose another --run',
  EDQUOT: 'free space (the disk quota is used up) or choose another --run',
  EROFS: 'the file system is mounted read-only; choose another --run',
  EACCES: 'make the folder writable (chmod u+w) or choose another --run',
  EPERM: 'make the folder writable (chmod u+w) or choose another --run',
  ENOTDIR: 'a part of the path is a file, not a folder; choose another --run',
  EEXIST: 'a part of the path is a file, not a folder; choose another --run',
  EISDIR: 'a folder is in the way of the file; move it or choose another --run',
};

/** "ENOSPC: no space left on device" from a Node system error (its message ends in ", write" and the path). */
function describe(e: unknown): { code: string; what: string } {
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? 'error';
  const what = err.code ? (err.message.split(',')[0] ?? err.message) : err.message;
  return { code, what };
}

/** The error for a failed write of `path`: the file, the system's reason, and what to do. */
export function writeError(path: string, e: unknown): Error {
  const { code, what } = describe(e);
  const advice = ADVICE[code] ?? 'check the folder, or choose another --run';
  return new Error(`${path}: cannot write (${what}); ${advice}`, { cause: e });
}

/** The error for a failed read of `path`. */
function readError(path: string, e: unknown): Error {
  const { what } = describe(e);
  return new Error(`${path}: cannot read (${what})`, { cause: e });
}

/**
 * Writes `data` to `path` atomically: to a temporary file next to it, then renamed over it. On failure the
 * temporary file is removed and the error names `path`. `write` replaces writeFileSync (tests inject a
 * failing one).
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, write: FileWriter = writeFileSync): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    write(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(path, e);
  }
}

export function writeSafetensors(
  path: string,
  tensors: Record<string, SafeTensor>,
  metadata: Record<string, string> = {},
  write?: FileWriter,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata), write);
}

export function readSafetensors(path: string): SafeFile {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw readError(path, e);
  }
  return decodeSafetensors(bytes, path);
}

export function writeJson(path: string, value: unknown, write?: FileWriter): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, write);
}

export function readJson<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw readError(path, e);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message}); delete it to start over`);
  }
}

/** Whether process `pid` is alive (one of another user's counts as alive). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the `*.tmp-<pid>` files in `dir` (not its subfolders) whose process is gone: what a process
 * killed mid-write leaves. Returns the names removed. Files of live processes, this one included, stay.
 */
export function cleanStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed; // no folder, nothing to clean
  }
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    try {
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    } catch {
      // left for the next run: a file we cannot remove is reported when a write fails
    }
  }
  return removed;
}

/**
 * Makes `dir` ready to hold a run's files, before any training: it must be a folder (or creatable as
 * one) and writable. Removes stale temporary files. Writability is checked twice: by the mode bits (no
 * write bit for anyone is a read-only folder, even to root, whom permission bits do not stop) and by writing
 * and removing a probe file (a read-only mount, a full disk, another user's folder). Returns the names of
 * the stale files removed.
 */
export function prepareRunFolder(dir: string, write: FileWriter = writeFileSync): string[] {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new Error(`${dir}: is a file, not a folder; choose another --run (or move the file away)`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const { code, what } = describe(e);
    const advice = ADVICE[code] ?? 'choose another --run';
    throw new Error(`${dir}: cannot create the run folder (${what}); ${advice}`, { cause: e });
  }
  const removed = cleanStaleTemps(dir);
  if ((statSync(dir).mode & 0o222) === 0) {
    throw new Error(
      `${dir}: the run folder is read-only (no write permission for anyone); make it writable ` +
        `(chmod u+w ${dir}) or choose another --run`,
    );
  }
  const probe = join(dir, `.write-probe.tmp-${process.pid}`);
  try {
    accessSync(dir, constants.W_OK);
    write(probe, 'weightgen write probe\n');
  } catch (e) {
    rmSync(probe, { force: true });
    const { code, what } = describe(e);
    throw new Error(`${dir}: the run folder is not writable (${what}); ${ADVICE[code] ?? 'choose another --run'}`, {
      cause: e,
    });
  }
  rmSync(probe, { force: true });
  return removed;
}
