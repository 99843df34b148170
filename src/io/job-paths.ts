// Paths in the job queue's jobs (io/queue-jobs.ts re-exports all of this): a run folder or a data file named
// relative to a worker's --root, checked by name (plain folder names, no '/', '.' or '..' parts) and by where
// it really is (a symbolic link inside the root cannot lead out of it); the refusal a worker answers a bad job
// with; and how a value appears in a message. Pure but for looking at the file system (existsSync,
// realpathSync). Not here: the jobs' fields (queue-jobs.ts), the queue (cli/queue.ts).

import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A job a worker will not run: the message says which field was wrong and what is allowed. */
export class JobRefused extends Error {
  override name = 'JobRefused';
}

const RUN_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/; // one folder name: no '.', '..', slash or space
export const RUN_RULE =
  "a relative path of folder names made of letters, digits, '.', '_' and '-' (no leading '/', no '.' or '..', at most 200 characters)";

/** A value as it appears in a message: short, on one line. */
export function shown(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Why `run` (a run folder, or a file's path) is not an allowed relative path, or null. */
export function runPathProblem(run: string): string | null {
  if (run.length === 0 || run.length > 200) return `${run.length} characters`;
  if (isAbsolute(run) || run.includes('\\')) return 'not a relative POSIX path';
  const parts = run.split('/');
  if (parts.length > 16) return 'more than 16 folders deep';
  const bad = parts.find((p) => !RUN_PATTERN.test(p));
  return bad === undefined ? null : `the part ${shown(bad)} is not a plain folder name`;
}

/**
 * `path` under `root`, as an absolute path that is inside root: the name is checked (runPathProblem), and so
 * is where its deepest existing part really is, so that a symbolic link inside the shared volume cannot lead
 * a job out of it. `what` names it in messages ('run folder', 'CSV'). Throws JobRefused.
 */
export function resolveUnderRoot(root: string, path: string, what: string): string {
  const problem = runPathProblem(path);
  if (problem) throw new JobRefused(`${what} ${shown(path)}: ${problem}; expected ${RUN_RULE}`);
  const base = resolve(root);
  const full = resolve(base, path);
  let existing = full;
  while (!existsSync(existing) && existing !== base) existing = dirname(existing);
  const real = existsSync(existing) ? realpathSync(existing) : existing;
  const realBase = existsSync(base) ? realpathSync(base) : base;
  const rel = relative(realBase, real);
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new JobRefused(`${what} ${shown(path)} leads to ${real}, outside ${realBase} (a symbolic link?); refused`);
  }
  return join(base, path);
}

/** The run folder `run` under `root` (resolveUnderRoot). Throws JobRefused. */
export function resolveRunFolder(root: string, run: string): string {
  return resolveUnderRoot(root, run, 'run folder');
}
