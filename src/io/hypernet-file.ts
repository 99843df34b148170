// A trained hypernetwork as one safetensors file, for pages and other programs that only sample from it:
// its parameters and batch norm's running statistics (no optimizer state, no batch counters), with the
// model's description and the settings it was trained with in the metadata. `weightgen hypernet export`
// writes it; the hypernet demo fetches and loads it. Works on bytes (browser and Node); the file itself is
// written by the command line (src/cli/hypernet.ts). Not a training checkpoint: it cannot resume training.
//
//   metadata: format "weightgen hypernet v1", config (JSON: noise, code, extractorHidden, faithful, target),
//             settings (JSON: what `hypernet train` was run with)
//   tensors:  the Hypernet's state dict names (extractor.0.weight, ..., gen4.5.running_var), F32

import { Hypernet, type HypernetConfig } from '../models/hypernet.js';
import { layerShapes } from '../models/target-net.js';
import { Rng } from '../tensor/index.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from './safetensors.js';

export const HYPERNET_FILE_FORMAT = 'weightgen hypernet v1';

/** The state a sampler needs: parameters, and batch norm's running mean and variance. */
const KEPT = /(^|\.)(weight|bias|running_mean|running_var)$/;

/** The file's bytes for a trained hypernetwork; `settings` (plain JSON) records how it was trained. */
export async function encodeHypernetFile(net: Hypernet, settings: Record<string, unknown>): Promise<Uint8Array> {
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, e] of Object.entries(await net.stateDict())) {
    if (KEPT.test(name)) tensors[name] = { dtype: 'F32', shape: e.shape, data: e.data };
  }
  return encodeSafetensors(tensors, {
    format: HYPERNET_FILE_FORMAT,
    config: JSON.stringify(net.config),
    settings: JSON.stringify(settings),
  });
}

export interface HypernetFile {
  /** The hypernetwork, in evaluation mode; the caller disposes it. */
  net: Hypernet;
  /** What it was trained with (preset, steps, lambda, seed, ...), as recorded by the export. */
  settings: Record<string, unknown>;
}

/**
 * Builds the hypernetwork a file describes and loads its state. Errors name `source` (a file or URL), say
 * what is wrong and what to do.
 */
export function decodeHypernetFile(bytes: Uint8Array, source: string): HypernetFile {
  const file = decodeSafetensors(bytes, source);
  const redo = 'make it with `weightgen hypernet export --run DIR --out FILE` from a finished training run';
  const format = file.metadata.format;
  if (format !== HYPERNET_FILE_FORMAT) {
    const what = format === undefined ? 'has no format in its metadata' : `is a '${format}' file`;
    throw new Error(`${source}: ${what}, not a '${HYPERNET_FILE_FORMAT}' (an exported hypernetwork); ${redo}`);
  }
  let config: HypernetConfig;
  let settings: Record<string, unknown>;
  try {
    config = JSON.parse(file.metadata.config ?? '');
    settings = JSON.parse(file.metadata.settings ?? '{}');
    for (const k of ['noise', 'code', 'extractorHidden'] as const) {
      if (!Number.isInteger(config[k]) || config[k] < 1) throw new Error(`${k} is ${JSON.stringify(config[k])}`);
    }
    layerShapes(config.target); // checks the target's description
  } catch (e) {
    throw new Error(
      `${source}: its metadata 'config' or 'settings' is missing or invalid (${(e as Error).message}); ${redo}`,
    );
  }
  const net = new Hypernet(config, new Rng(0)); // initial values replaced below
  try {
    net.loadStateDict(file.tensors, source);
  } catch (e) {
    net.dispose();
    throw e;
  }
  net.eval();
  return { net, settings };
}
