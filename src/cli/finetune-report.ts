// What `weightgen iris finetune` (iris-finetune.ts) writes for people: finetune.md, the tables like the
// hyper-representations paper's (methods as rows, epochs as columns) with the memorisation medians, and
// finetune.svg, the accuracy curves. Not here: computing the report (iris-finetune.ts: finetuneReport) or
// the memorisation figure (src/analysis/memorisation.ts).

import { type LineSeries, lineSpec, type TopLevelSpec } from '../analysis/figures.js';
import { panelsSpec } from '../analysis/figures-panels.js';
import { COPY_RATIO, ZOO_REFERENCE } from '../analysis/memorisation.js';
import { ZOO_TRAINING } from '../models/zoo.js';
import type { FinetuneReport } from './iris-finetune.js';

/**
 * finetune.md: one table per VAE, like the paper's (methods as rows, epochs as columns), with the medians;
 * `data` names the rows (default Iris's).
 */
export function formatFinetune(
  rep: FinetuneReport,
  data: { name: string; testRows: number; trainRows: number } = { name: 'Iris', testRows: 50, trainRows: 100 },
): string {
  const ep = rep.epochs;
  const out = [
    `Fine-tuning from sampled weights: test accuracy (%) on ${data.name}'s ${data.testRows} test rows after E epochs on the ${data.trainRows} ` +
      `training rows (Adam ${ZOO_TRAINING.lr}, batch ${ZOO_TRAINING.batch}, as the zoo trained), mean +- ` +
      `population std over n networks per method. Memorisation, at epoch 0: each network's distance to its ` +
      `nearest zoo network in weight space (hidden units in canonical order) and the share of test rows on ` +
      `which the nearest zoo network by predictions disagrees, medians over the set; copies: networks closer ` +
      `to their nearest zoo network than ${COPY_RATIO} of that network's distance to its nearest other zoo network.`,
  ];
  for (const [arch, a] of Object.entries(rep.archs)) {
    const spread = a.embeddings;
    const collapsed =
      spread.meanStd < 0.01 * spread.posteriorStd
        ? ': posterior collapse, the latent samplers decode nearly one network'
        : '';
    out.push(
      '',
      `${arch}: ${a.networks} (n=${a.rows[0]!.n} per method; best 30% = ${a.best.count} zoo networks by training-row accuracy)`,
      `Encoder means over the zoo: largest std of a dimension ${spread.meanStd.toPrecision(2)}; mean posterior std ${spread.posteriorStd.toPrecision(2)}${collapsed}.`,
      '',
      `| method | initialisation | ${ep.map((e) => `ep ${e}`).join(' | ')} | weights to nearest zoo net | test rows predicted differently (%) | copies (%) |`,
      `| --- | --- | ${ep.map(() => '---').join(' | ')} | --- | --- | --- |`,
    );
    const mem = (m: { weightMedian: number; disagreementMedian: number }) =>
      `${m.weightMedian.toFixed(3)} | ${(100 * m.disagreementMedian).toFixed(1)}`;
    for (const r of a.rows) {
      const cells = r.accuracy.map((c) => `${c.mean.toFixed(2)} +- ${c.std.toFixed(2)}`);
      out.push(
        `| ${r.sampler} | ${r.what} | ${cells.join(' | ')} | ${mem(r.memorisation)} | ${(100 * r.memorisation.copies).toFixed(1)} |`,
      );
    }
    out.push(
      `| ${ZOO_REFERENCE} | each zoo network to its nearest other one | ${ep.map(() => '').join(' | ')} | ${mem(a.zoo)} | ${(100 * a.zoo.copies).toFixed(1)} |`,
    );
  }
  return out.join('\n');
}

/** finetune.svg: mean test accuracy of each sampler against the epoch, one panel per VAE. */
export function finetuneSpec(rep: FinetuneReport): TopLevelSpec {
  const specs = Object.entries(rep.archs).map(([arch, a]) => {
    const series: LineSeries[] = a.rows.map((r) => ({
      name: r.sampler,
      x: r.accuracy.map((c) => c.epoch),
      y: r.accuracy.map((c) => c.mean),
    }));
    const spec = lineSpec({
      title: `${arch}: ${a.networks}`,
      series,
      xTitle: 'fine-tuning epoch',
      yTitle: 'mean test accuracy (%)',
      points: true,
    });
    // a symlog epoch axis, ticks at the epochs read: 0, 1 and 5 apart, 25 and 50 still in view
    type Layered = { layer: { encoding: { x: object } }[] };
    const layer = (spec as unknown as Layered).layer.map((l) => ({
      ...l,
      encoding: { ...l.encoding, x: { ...l.encoding.x, scale: { type: 'symlog' }, axis: { values: rep.epochs } } },
    }));
    return { ...spec, layer } as unknown as TopLevelSpec;
  });
  return panelsSpec({
    title: 'Fine-tuning from sampled weights (mean over the networks of each method)',
    panels: specs,
  });
}
