// Training checkpoints as safetensors files, written atomically: model tensors under "model.<name>",
// Adam's moments under "optim.m" / "optim.v", the rest in the metadata. A checkpoint is checked as it is
// read: its metadata complete, every value finite; each error names the file and what to do.

import { existsSync } from 'node:fs';
import type { Checkpointer, TrainState } from '../models/checkpoint.js';
import { readSafetensors, writeSafetensors } from './files.js';
import type { SafeFile, SafeTensor } from './safetensors.js';

export function fileCheckpointer(path: string, every: number): Checkpointer {
  return {
    every,
    load: () => (existsSync(path) ? decodeTrainState(path) : null),
    save: (s) => {
      const tensors: Record<string, SafeTensor> = {};
      for (const [k, v] of Object.entries(s.model))
        tensors[`model.${k}`] = { dtype: 'F32', shape: v.shape, data: v.data };
      tensors['optim.m'] = { dtype: 'F32', shape: [s.optim.m.length], data: s.optim.m };
      tensors['optim.v'] = { dtype: 'F32', shape: [s.optim.v.length], data: s.optim.v };
      const meta = {
        epoch: s.epoch,
        losses: s.losses,
        rngPosition: s.rngPosition,
        t: s.optim.t,
        lr: s.optim.lr,
        extra: s.extra,
      };
      writeSafetensors(path, tensors, { state: JSON.stringify(meta) });
    },
  };
}

/** Throws, naming the file and the tensor, if any F32 tensor of `file` holds NaN or an infinity. */
export function assertFinite(file: SafeFile, path: string): void {
  for (const [name, t] of Object.entries(file.tensors)) {
    if (t.dtype !== 'F32') continue;
    const i = t.data.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) {
      throw new Error(
        `${path}: tensor '${name}' holds ${t.data[i]} at index ${i}; the file is unusable: delete it (or use --restart) to make it again`,
      );
    }
  }
}

function decodeTrainState(path: string): TrainState {
  const f = readSafetensors(path);
  const redo = 'delete the file to start that step over';
  let meta: {
    epoch: number;
    losses: number[];
    rngPosition: number;
    t: number;
    lr: number;
    extra?: Record<string, number>;
  };
  try {
    meta = JSON.parse(f.metadata.state ?? '');
  } catch {
    throw new Error(`${path}: checkpoint metadata is missing or corrupt; ${redo}`);
  }
  const whole = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  for (const key of ['epoch', 'rngPosition', 't'] as const) {
    if (!whole(meta[key])) {
      throw new Error(
        `${path}: checkpoint metadata '${key}' is ${JSON.stringify(meta[key])}, not a whole number >= 0; ${redo}`,
      );
    }
  }
  if (!Number.isFinite(meta.lr) || !Array.isArray(meta.losses) || meta.losses.some((l) => !Number.isFinite(l))) {
    throw new Error(`${path}: checkpoint metadata 'lr' or 'losses' is missing or not finite; ${redo}`);
  }
  assertFinite(f, path);
  const model: TrainState['model'] = {};
  for (const [k, t] of Object.entries(f.tensors)) {
    if (k.startsWith('model.')) model[k.slice(6)] = { shape: t.shape, data: t.data as Float32Array };
  }
  const m = f.tensors['optim.m'];
  const v = f.tensors['optim.v'];
  if (!m || !v) throw new Error(`${path}: checkpoint has no optimizer state; ${redo}`);
  return {
    epoch: meta.epoch,
    losses: meta.losses,
    rngPosition: meta.rngPosition,
    model,
    optim: { t: meta.t, lr: meta.lr, m: m.data as Float32Array, v: v.data as Float32Array },
    extra: meta.extra ?? {},
    source: path,
  };
}
