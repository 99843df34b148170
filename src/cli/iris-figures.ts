// The last steps of `weightgen iris all` (what `npm start` runs), after Table 1: the figures made from a
// finished run, at the defaults of `weightgen iris tsne` and `weightgen iris finetune` (args.ts: IRIS_TSNE,
// IRIS_FINETUNE), scaled down only where the run holds fewer networks than those defaults ask for. Each is
// skipped when the folder already holds it with the same settings; a run folder made with other settings is
// refused by those commands, naming what differs.
//
// Not here: the t-SNE and fine-tuning themselves (iris-tsne.ts, iris-finetune.ts), or their own commands'
// options (run them on the folder afterwards to redraw at other settings).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { IRIS_FINETUNE, IRIS_TSNE, parseCommand } from './args.js';
import type { IrisOptions } from './iris.js';
import { FINETUNE_FILES, irisFinetune } from './iris-finetune.js';
import { irisTsne, TSNE_FILES } from './iris-tsne.js';

/** The figures a run folder holds after `iris all`, as paths (SVG, and PNG where one is written). */
export function figureFiles(run: string): string[] {
  return [...TSNE_FILES, ...FINETUNE_FILES]
    .filter((f) => /\.(svg|png)$/.test(f) && existsSync(join(run, f)))
    .map((f) => join(run, f));
}

/** t-SNE (Figure 3, redone) and fine-tuning from sampled weights with the memorisation check, on a finished run. */
export async function irisFigures(opts: IrisOptions): Promise<string[]> {
  const t = parseCommand('iris tsne', IRIS_TSNE, ['--run', opts.run]).values;
  // a figure holds 2 or 3 sets of `networks` points: perplexity must stay below that
  const networks = Math.min(t.networks, opts.models, opts.samples);
  await irisTsne({
    run: opts.run,
    networks,
    perplexity: Math.min(t.perplexity, networks),
    iterations: t.iterations,
    seed: opts.seed,
    paperVariant: false,
    restart: false,
    skipIfDone: true,
  });
  const f = parseCommand('iris finetune', IRIS_FINETUNE, ['--run', opts.run]).values;
  await irisFinetune({ ...f, samples: Math.min(f.samples, opts.models), seed: opts.seed, skipIfDone: true });
  return figureFiles(opts.run);
}
