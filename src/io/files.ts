// Files in Node: atomic writes (a crash leaves the old file or the new one, never half of one) and
// safetensors files. Not for the browser.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type SafeFile, type SafeTensor } from './safetensors.js';

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeSafetensors(
  path: string,
  tensors: Record<string, SafeTensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(path: string): SafeFile {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  return decodeSafetensors(readFileSync(path), path);
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message}); delete it to start over`);
  }
}
