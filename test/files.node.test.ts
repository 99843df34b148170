// Writing files (src/io/files.ts): every failed write names its file and what to do and leaves no temporary
// file; stale temporary files of dead processes are cleaned; a run folder is checked before any training.
// A full disk and a read-only mount are real small tmpfs mounts where this process may mount (root, as in
// the development container); elsewhere (CI) those two tests skip, and a full disk is simulated by an
// injected writer, which always runs.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanStaleTemps,
  type FileWriter,
  prepareRunFolder,
  readJson,
  readSafetensors,
  writeFileAtomic,
  writeJson,
  writeSafetensors,
} from '../src/io/files.js';

const base = mkdtempSync(join(tmpdir(), 'weightgen-files-'));
afterAll(() => {
  chmodAll(base);
  rmSync(base, { recursive: true, force: true });
});

function chmodAll(dir: string): void {
  if (!existsSync(dir)) return;
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) chmodAll(join(dir, e.name));
}

let n = 0;
const fresh = () => {
  const d = join(base, `case-${n++}`);
  mkdirSync(d);
  return d;
};

/** A writer that fails as a full disk does, after writing part of the file (as a real one would). */
const fullDisk: FileWriter = (path, data) => {
  writeFileSync(path, typeof data === 'string' ? data.slice(0, 3) : data.subarray(0, 3));
  throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', errno: -28 });
};

/** A pid that no process has: a child's, once it has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** Mounts a tmpfs of `size` at dir; returns an unmount function, or the reason it cannot. */
function mountTmpfs(dir: string, options: string): (() => void) | string {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return `mount -t tmpfs is not permitted here (${(r.stderr || r.error?.message || '').trim()})`;
  return () => spawnSync('umount', [dir]);
}

describe('atomic writes', () => {
  it('writes, replaces, and leaves no temporary file', () => {
    const d = fresh();
    const p = join(d, 'sub', 'a.json');
    writeJson(p, { x: 1 });
    writeJson(p, { x: 2 });
    expect(readJson(p)).toEqual({ x: 2 });
    expect(readdirSync(join(d, 'sub'))).toEqual(['a.json']);
  });

  it('a full disk (simulated): the error names the file and what to do; the temp file is removed, the old file kept', () => {
    const d = fresh();
    const p = join(d, 'model.safetensors');
    writeFileAtomic(p, 'old contents');
    const t = { w: { dtype: 'F32' as const, shape: [2], data: Float32Array.of(1, 2) } };
    expect(() => writeSafetensors(p, t, {}, fullDisk)).toThrow(
      `${p}: cannot write (ENOSPC: no space left on device); free space or choose another --run`,
    );
    expect(readdirSync(d)).toEqual(['model.safetensors']);
    expect(readFileSync(p, 'utf8')).toBe('old contents');
  });

  it('a full disk (a real 64 KiB tmpfs)', (ctx) => {
    const d = fresh();
    const mounted = mountTmpfs(d, 'size=64k');
    if (typeof mounted === 'string') return ctx.skip(mounted);
    try {
      const p = join(d, 'zoo.safetensors');
      const big = { w: { dtype: 'F32' as const, shape: [40_000], data: new Float32Array(40_000) } }; // 160 kB
      let err: Error | null = null;
      try {
        writeSafetensors(p, big);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).toBe(
        `${p}: cannot write (ENOSPC: no space left on device); free space or choose another --run`,
      );
      expect(readdirSync(d)).toEqual([]); // the partial temporary file is gone
      writeJson(join(d, 'small.json'), { ok: true }); // and the space it held is free again
    } finally {
      mounted();
    }
  });

  it('reading names the file', () => {
    const d = fresh();
    expect(() => readSafetensors(join(d, 'none.safetensors'))).toThrow(/none\.safetensors: no such file/);
    expect(() => readSafetensors(d)).toThrow(`${d}: cannot read (EISDIR: illegal operation on a directory)`);
    writeFileSync(join(d, 'bad.json'), '{');
    expect(() => readJson(join(d, 'bad.json'))).toThrow(/bad\.json: not valid JSON .*; delete it to start over/);
  });
});

describe('stale temporary files', () => {
  it('removes those of dead processes and keeps those of live ones', () => {
    const d = fresh();
    const dead = deadPid();
    const stale = `zoo.safetensors.tmp-${dead}`;
    const mine = `table1.json.tmp-${process.pid}`;
    const parent = `a.json.tmp-${process.ppid}`;
    for (const f of [stale, mine, parent, 'zoo.safetensors', 'notes.tmp-x']) writeFileSync(join(d, f), 'x');
    expect(cleanStaleTemps(d)).toEqual([stale]);
    expect(readdirSync(d).sort()).toEqual([parent, 'notes.tmp-x', mine, 'zoo.safetensors'].sort());
    expect(cleanStaleTemps(join(d, 'missing'))).toEqual([]);
  });
});

describe('prepareRunFolder', () => {
  it('creates the folder and cleans stale temporary files', () => {
    const d = join(fresh(), 'runs', 'x');
    expect(prepareRunFolder(d)).toEqual([]);
    expect(existsSync(d)).toBe(true);
    const stale = `vae-m1.ckpt.safetensors.tmp-${deadPid()}`;
    writeFileSync(join(d, stale), 'half a file');
    expect(prepareRunFolder(d)).toEqual([stale]);
    expect(readdirSync(d)).toEqual([]); // nor is the probe file left behind
  });

  it('a path that is a regular file gets its own message', () => {
    const d = fresh();
    const f = join(d, 'iris');
    writeFileSync(f, 'not a folder');
    expect(() => prepareRunFolder(f)).toThrow(
      `${f}: is a file, not a folder; choose another --run (or move the file away)`,
    );
    expect(() => prepareRunFolder(join(f, 'sub'))).toThrow(
      /iris[/\\]sub: cannot create the run folder \(ENOTDIR: not a directory\); a part of the path is a file/,
    );
  });

  it('a folder without write permission is refused before any training (by its mode, which binds root too)', () => {
    const d = fresh();
    chmodSync(d, 0o555);
    try {
      expect(() => prepareRunFolder(d)).toThrow(
        `${d}: the run folder is read-only (no write permission for anyone); make it writable (chmod u+w ${d}) or choose another --run`,
      );
    } finally {
      chmodSync(d, 0o755);
    }
  });

  it('a folder the probe cannot write to is refused (a full disk, simulated)', () => {
    const d = fresh();
    expect(() => prepareRunFolder(d, fullDisk)).toThrow(
      `${d}: the run folder is not writable (ENOSPC: no space left on device); free space or choose another --run`,
    );
    expect(readdirSync(d)).toEqual([]);
  });

  it('a read-only mount is refused (a real read-only tmpfs)', (ctx) => {
    const d = fresh();
    const mounted = mountTmpfs(d, 'size=64k,ro');
    if (typeof mounted === 'string') return ctx.skip(mounted);
    try {
      expect(() => prepareRunFolder(d)).toThrow(
        `${d}: the run folder is not writable (EROFS: read-only file system); the file system is mounted read-only; choose another --run`,
      );
    } finally {
      mounted();
    }
  });
});
