// What a training loop saves to resume where it stopped: epoch, loss history, generator position, model
// weights and optimizer state. The loops take a Checkpointer; where the bytes go (a file, atomically) is
// the caller's business (src/io/checkpoint.ts).

import type { Module, StateDict } from '../nn/index.js';
import type { Adam, AdamState } from '../optim/index.js';
import type { Rng } from '../tensor/index.js';

export interface TrainState {
  epoch: number; // epochs completed
  losses: number[];
  rngPosition: number;
  model: StateDict;
  optim: AdamState;
  extra: Record<string, number>; // e.g. a schedule's state
  source?: string; // where it was read from (a file), for errors
}

export interface Checkpointer {
  every: number; // epochs between saves (the last epoch is always saved)
  load(): TrainState | null;
  save(state: TrainState): void;
}

export async function captureState(
  epoch: number,
  losses: number[],
  rng: Rng | undefined,
  model: Module,
  opt: Adam,
  extra: Record<string, number> = {},
): Promise<TrainState> {
  return {
    epoch,
    losses: [...losses],
    rngPosition: rng?.position ?? 0,
    model: await model.stateDict(),
    optim: await opt.state(),
    extra,
  };
}

/** Puts a saved state back; returns the epoch to continue from and the loss history. */
export function restoreState(
  s: TrainState,
  rng: Rng | undefined,
  model: Module,
  opt: Adam,
): { epoch: number; losses: number[] } {
  model.loadStateDict(s.model, s.source);
  opt.loadState(s.optim, s.source);
  rng?.restore(s.rngPosition, s.source);
  return { epoch: s.epoch, losses: [...s.losses] };
}
