// `weightgen hypernet analyze report`: one self-contained HTML page for a run folder (DIR/analyses/report.html):
// the training curves, `hypernet eval`'s numbers, and every analysis with its figure inline and its numbers in
// tables; what is missing, or was made from another training (stale), is listed with the command that makes it.
// Reads only what the run folder holds; computes nothing. Node only (files).

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ReportFigure, type ReportSection, type ReportTable, reportHtml } from '../analysis/report.js';
import { readJson, writeFileAtomic, writeJson } from '../io/files.js';
import { RunManifest, type Settings, settingsDiff } from '../io/manifest.js';
import { HYPERNET_PRESETS, type HypernetProgress } from '../models/hypernet-train.js';
import { ANALYSES, type AnalysisName } from './hypernet-analyses.js';
import {
  type AnalysisDef,
  type AnalyzeOptions,
  OUT,
  openTrainedRun,
  outFile,
  PRESET_KEYS,
  pct,
  SIZE_FLAGS,
  type TrainedRun,
} from './hypernet-analysis-run.js';
import { CKPT } from './hypernet.js';

function figureOf(path: string, alt: string): ReportFigure[] {
  if (!existsSync(path)) return [];
  const mime = path.endsWith('.png') ? 'image/png' : 'image/svg+xml';
  return [{ alt, mime, base64: readFileSync(path).toString('base64') }];
}

/**
 * The flags `hypernet train|eval` need to find this run's settings again: the preset, and what differs from it
 * (preset values other than lambda and steps have no flag: they were tuned in code, which the command says).
 */
function trainFlags(run: TrainedRun): string {
  const s = run.settings;
  const o = run.options;
  const preset = HYPERNET_PRESETS[o.preset];
  const differ = PRESET_KEYS.filter((k) => s[k] !== preset[k]);
  const parts = [`--run ${run.dir}`, `--preset ${o.preset}`];
  for (const k of differ) if (k === 'lambda' || k === 'steps') parts.push(`--${k} ${s[k]}`);
  if (o.seed !== 0) parts.push(`--seed ${o.seed}`);
  if (o.faithful) parts.push('--faithful');
  if (s.data !== 'mnist-data') parts.push(`--data ${s.data}`);
  const tuned = differ.filter((k) => k !== 'lambda' && k !== 'steps');
  if (tuned.length) parts.push(`(and, with no flag, ${tuned.map((k) => `${k} ${s[k]}`).join(', ')})`);
  return parts.join(' ');
}

function trainingSection(run: TrainedRun): ReportSection {
  const log = join(run.dir, 'train-log.jsonl');
  const lines = existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
    : [];
  const last = lines.length ? (JSON.parse(lines.at(-1)!) as HypernetProgress) : undefined;
  const s = run.settings;
  const tables: ReportTable[] = [
    {
      caption: 'training',
      head: ['preset', 'steps', 'networks x images', 'lambda', 'lr', 'seed', 'faithful'],
      rows: [
        [
          String(s.preset),
          String(s.steps),
          `${s.networks} x ${s.images}`,
          run.lambda,
          `${s.lr} x ${s.lrDecay}/step`,
          String(s.seed),
          String(s.faithful),
        ],
      ],
    },
  ];
  if (last) {
    tables.push({
      caption: 'the last validation',
      head: ['step', 'loss', 'cross-entropy', 'entropy H', 'validation accuracy'],
      rows: [[last.step, last.loss.toFixed(1), last.ce.toFixed(4), last.entropy.toFixed(1), pct(last.valAccuracy)]],
    });
  }
  return {
    id: 'training',
    title: 'training',
    status: 'made',
    command: `weightgen hypernet train ${trainFlags(run)}`,
    figures: figureOf(join(run.dir, 'training.svg'), 'training curves'),
    tables,
    settings: s,
  };
}

interface EvalJson {
  networks: number;
  images: number;
  accuracy: { mean: number; std: number; min: number; max: number };
  ensembles: { size: number; count: number; vote: number[]; mean: number[]; confident: number[] };
}

function evalSection(run: TrainedRun, manifest: RunManifest): ReportSection {
  const command = `weightgen hypernet eval ${trainFlags(run)}`;
  const j = readJson<EvalJson>(join(run.dir, 'eval.json'));
  if (!j) return { id: 'eval', title: 'eval: generated networks and ensembles', status: 'missing', command };
  const avg = (v: number[]) => pct(v.reduce((a, b) => a + b, 0) / v.length);
  const e = j.ensembles;
  return {
    id: 'eval',
    title: 'eval: generated networks and ensembles',
    status: 'made',
    command,
    figures: figureOf(join(run.dir, 'accuracy.svg'), 'eval: accuracy histogram'),
    tables: [
      {
        caption: `${j.networks} generated networks on the first ${j.images} test images; ${e.count} disjoint ensembles of ${e.size}`,
        head: ['networks: mean +- std', 'min', 'max', 'majority vote', 'mean probabilities', 'most confident'],
        rows: [
          [
            `${pct(j.accuracy.mean)} +- ${pct(j.accuracy.std)}`,
            pct(j.accuracy.min),
            pct(j.accuracy.max),
            avg(e.vote),
            avg(e.mean),
            avg(e.confident),
          ],
        ],
      },
    ],
    settings: manifest.entry('eval.json')?.settings,
  };
}

/** The command that made an analysis, from its recorded settings; or the one that makes it. */
function analyzeCommand(name: AnalysisName, dir: string, recorded?: Settings): string {
  const def: AnalysisDef = ANALYSES[name];
  const parts = [`weightgen hypernet analyze ${name} --run ${dir}`];
  const compare = (recorded?.compare as { run?: string } | undefined)?.run;
  if (def.compare) parts.push(`--compare ${compare ?? 'OTHER_RUN'}`);
  if (recorded) {
    parts.push(`--scale ${recorded.scale}`);
    for (const k of def.sizes) if (recorded[k] !== undefined) parts.push(`--${SIZE_FLAGS[k]} ${recorded[k]}`);
  }
  return parts.join(' ');
}

/** Why an analysis made from `recorded` settings no longer matches the run (and its comparison), if it does not. */
function staleness(run: TrainedRun, recorded: Settings): string[] {
  const why = settingsDiff(recorded.train, run.settings).map((d) => `this run's training changed: ${d}`);
  const compare = recorded.compare as { run: string; train: Settings } | undefined;
  if (compare) {
    try {
      const now = openTrainedRun(compare.run).settings;
      why.push(...settingsDiff(compare.train, now).map((d) => `the --compare run ${compare.run} changed: ${d}`));
    } catch (e) {
      why.push(`the --compare run ${compare.run} cannot be opened: ${(e as Error).message}`);
    }
  }
  return why;
}

function analysisSection(run: TrainedRun, manifest: RunManifest, name: AnalysisName): ReportSection {
  const def: AnalysisDef = ANALYSES[name];
  const base = join(run.dir, OUT, name);
  const figure = `${base}.${def.figure}`;
  const recorded = manifest.entry(outFile(`${name}.json`))?.settings;
  const j = readJson<unknown>(`${base}.json`);
  const title = `${name}: ${def.help}`;
  if (!j || !existsSync(figure)) {
    return { id: name, title, status: 'missing', command: analyzeCommand(name, run.dir) };
  }
  const why = recorded
    ? staleness(run, recorded)
    : [`${join(run.dir, 'manifest.json')} has no record of how it was made`];
  let tables: ReportTable[] = [];
  try {
    tables = def.tables(j);
  } catch (e) {
    why.push(`${base}.json does not read as this analysis's numbers (${(e as Error).message}): run it again`);
  }
  return {
    id: name,
    title,
    status: why.length ? 'stale' : 'made',
    command: analyzeCommand(name, run.dir, recorded),
    notes: why,
    figures: figureOf(figure, name),
    tables,
    settings: recorded,
  };
}

/** Writes DIR/analyses/report.html (and report.json: each section's status); returns the sections. */
export async function hypernetReport(o: AnalyzeOptions, extra: ReportSection[] = []): Promise<ReportSection[]> {
  const run = openTrainedRun(o.run);
  const manifest = RunManifest.open(run.dir);
  const sections = [
    trainingSection(run),
    evalSection(run, manifest),
    ...(Object.keys(ANALYSES) as AnalysisName[]).map((n) => analysisSection(run, manifest, n)),
    ...extra,
  ];
  const html = reportHtml({
    title: `hypernetwork run ${run.dir}`,
    intro: [
      `${CKPT}: preset ${run.settings.preset}, lambda ${run.lambda}, ${run.settings.steps} steps; page made ${new Date().toISOString()}`,
      'Figures and numbers as the run folder holds them; a missing or stale section names the command that makes it.',
    ],
    sections,
  });
  mkdirSync(join(run.dir, OUT), { recursive: true });
  const path = join(run.dir, OUT, 'report.html');
  writeFileAtomic(path, html);
  writeJson(join(run.dir, OUT, 'report.json'), {
    sections: sections.map((s) => ({
      id: s.id,
      status: s.status,
      command: s.command,
      figures: s.figures?.length ?? 0,
    })),
  });
  manifest.record(outFile('report.html'), { train: run.settings });
  const by = (st: string) => sections.filter((s) => s.status === st).map((s) => s.id);
  console.log(
    `report: made ${by('made').join(', ') || 'none'}; missing ${by('missing').join(', ') || 'none'}; stale ${by('stale').join(', ') || 'none'}`,
  );
  for (const s of sections) if (s.status !== 'made') console.log(`  ${s.id}: ${s.command}`);
  console.log(`written: ${path}`);
  return sections;
}
