// A run folder's manifest (manifest.json): for each file a step wrote, the settings it was made with and the
// weightgen version that made it. A step whose file exists checks the settings it would use against the
// recorded ones and refuses to reuse, resume or overwrite the file when they differ, naming both; so one run
// folder never mixes the results of different settings. Settings are plain JSON values; a step's settings
// include those of the files it reads, so a change upstream is seen downstream. Node only (files).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../version.js';
import { readJson, writeJson } from './files.js';

export type Settings = Record<string, unknown>;

export interface ManifestEntry {
  settings: Settings;
  version: string;
  written: string; // ISO time
}

interface ManifestFile {
  format: 'weightgen run manifest v1';
  files: Record<string, ManifestEntry>;
}

export const MANIFEST = 'manifest.json';

export class RunManifest {
  private constructor(
    readonly dir: string,
    private files: Record<string, ManifestEntry>,
  ) {}

  static open(dir: string): RunManifest {
    const path = join(dir, MANIFEST);
    const m = readJson<ManifestFile>(path);
    if (m && (m.format !== 'weightgen run manifest v1' || typeof m.files !== 'object' || m.files === null)) {
      throw new Error(`${path}: not a weightgen run manifest; move it away or use another --run folder`);
    }
    return new RunManifest(dir, m?.files ?? {});
  }

  entry(file: string): ManifestEntry | undefined {
    return this.files[file];
  }

  /**
   * Throws unless `file` is absent from the folder or was made with exactly `settings`. `redo` says how to
   * make the file again with the new settings (e.g. "--restart zoo").
   */
  check(file: string, settings: Settings, redo: string): void {
    if (!existsSync(join(this.dir, file))) return;
    const e = this.files[file];
    const fix = `use another --run folder, or ${redo} to delete it and what was made from it`;
    if (!e) {
      throw new Error(
        `${join(this.dir, file)} exists but ${MANIFEST} has no record of the settings it was made with ` +
          `(made by an older weightgen, or copied in); ${fix}`,
      );
    }
    const diff = settingsDiff(e.settings, settings);
    if (diff.length) {
      throw new Error(
        `${join(this.dir, file)} was made with other settings (weightgen ${e.version}, ${e.written}): ` +
          `${diff.join('; ')}. Refusing to reuse or overwrite it: ${fix}`,
      );
    }
  }

  /** Records that `file` was (re)written with `settings`. */
  record(file: string, settings: Settings): void {
    this.files[file] = { settings, version: VERSION, written: new Date().toISOString() };
    this.save();
  }

  forget(file: string): void {
    delete this.files[file];
    this.save();
  }

  private save(): void {
    const m: ManifestFile = { format: 'weightgen run manifest v1', files: this.files };
    writeJson(join(this.dir, MANIFEST), m);
  }
}

/** "key: a in the file, b now" for every setting (dotted path) that differs. */
export function settingsDiff(was: unknown, now: unknown, path = ''): string[] {
  if (isObject(was) && isObject(now)) {
    const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => settingsDiff(was[k], now[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(was) === JSON.stringify(now)) return [];
  return [`${path || 'settings'}: ${show(was)} in the file, ${show(now)} now`];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? '(not set)' : JSON.stringify(v);
}
