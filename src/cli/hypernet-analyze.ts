// `weightgen hypernet analyze NAME --run DIR [--compare DIR] [--scale default|paper] [sizes]`: the paper's
// analyses of a trained run folder (hypernet-analyses.ts), and `report`, the page of them all
// (hypernet-report.ts). The flags are declared in args.ts (HYPERNET_ANALYZE); main.ts routes
// `hypernet analyze ...` here. Node only.

import { existsSync } from 'node:fs';
import { initGpu } from '../gpu/index.js';
import { prepareRunFolder } from '../io/files.js';
import { commandHelp, type FlagValues, HYPERNET_ANALYZE, parseCommand } from './args.js';
import { ANALYSES, type AnalysisName } from './hypernet-analyses.js';
import { type AnalyzeOptions, openTrainedRun } from './hypernet-analysis-run.js';
import { hypernetReport } from './hypernet-report.js';

export type AnalyzeName = (typeof HYPERNET_ANALYZE)['steps']['choices'][number];

// every name the command line accepts is an analysis or the report (a compile error otherwise)
const RUNS: Record<AnalyzeName, (o: AnalyzeOptions) => Promise<unknown>> = {
  ...(Object.fromEntries(
    (Object.keys(ANALYSES) as AnalysisName[]).map((n) => [
      n,
      (o: AnalyzeOptions) => ANALYSES[n].run(openTrainedRun(o.run), o),
    ]),
  ) as Record<AnalysisName, (o: AnalyzeOptions) => Promise<void>>),
  report: (o) => hypernetReport(o),
};

/** Runs one analysis (or the report) on a run folder. */
export async function hypernetAnalyze(name: AnalyzeName, o: AnalyzeOptions): Promise<void> {
  const run = RUNS[name];
  if (!run) throw new Error(`hypernet analyze: no analysis '${name}' (${Object.keys(RUNS).join(', ')})`);
  await run(o);
}

export function analyzeOptions(o: FlagValues<(typeof HYPERNET_ANALYZE)['flags']>): AnalyzeOptions {
  return {
    run: o.run,
    compare: o.compare,
    scale: o.scale,
    sizes: {
      images: o.images,
      networks: o.networks,
      ensembles: o.ensembles,
      ensembleSize: o['ensemble-size'],
      pairs: o.pairs,
      points: o.points,
      samples: o.samples,
      filter: o.filter,
      pcaNetworks: o['pca-networks'],
      attackImages: o['attack-images'],
      members: o.members,
    },
  };
}

/** The command line after `hypernet analyze`. */
export async function hypernetAnalyzeCommand(argv: readonly string[]): Promise<void> {
  const p = parseCommand('hypernet analyze', HYPERNET_ANALYZE, argv);
  if (p.help) {
    console.log(`weightgen hypernet analyze\n${commandHelp('hypernet analyze', HYPERNET_ANALYZE)}`);
    return;
  }
  const o = analyzeOptions(p.values);
  if (existsSync(o.run)) prepareRunFolder(o.run); // a missing folder: openTrainedRun says what to do
  const a = (await initGpu()).adapter;
  console.log(
    `adapter: ${a.vendor || '?'} ${a.description || a.architecture || ''} (${a.backend}${a.fallback ? ', CPU fallback' : ''})`,
  );
  console.log(`run folder: ${o.run}`);
  const t0 = Date.now();
  await hypernetAnalyze(p.step, o);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
