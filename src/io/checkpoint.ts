// Training checkpoints as safetensors files, written atomically: model tensors under "model.<name>",
// Adam's moments under "optim.m" / "optim.v", the rest in the metadata.

import type { Checkpointer, TrainState } from '../models/checkpoint.js';
import { readSafetensors, writeSafetensors } from './files.js';
import type { SafeTensor } from './safetensors.js';
import { existsSync } from 'node:fs';

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

function decodeTrainState(path: string): TrainState {
  const f = readSafetensors(path);
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
    throw new Error(`${path}: checkpoint metadata is missing or corrupt; delete the file to start that step over`);
  }
  const model: TrainState['model'] = {};
  for (const [k, t] of Object.entries(f.tensors)) {
    if (k.startsWith('model.')) model[k.slice(6)] = { shape: t.shape, data: t.data as Float32Array };
  }
  const m = f.tensors['optim.m'];
  const v = f.tensors['optim.v'];
  if (!m || !v) throw new Error(`${path}: checkpoint has no optimizer state; delete the file to start that step over`);
  return {
    epoch: meta.epoch,
    losses: meta.losses,
    rngPosition: meta.rngPosition,
    model,
    optim: { t: meta.t, lr: meta.lr, m: m.data as Float32Array, v: v.data as Float32Array },
    extra: meta.extra ?? {},
  };
}
