// weightgen's command line (Node). `weightgen help` lists the commands; their flags, defaults and ranges
// are declared in args.ts, which parses them strictly before anything runs.

import { initGpu } from '../gpu/index.js';
import { prepareRunFolder } from '../io/files.js';
import { trainIrisMlp } from '../models/iris-mlp.js';
import {
  COMMANDS,
  type CommandName,
  commandHelp,
  type FlagValues,
  helpText,
  parseCommand,
  splitCommand,
  UsageError,
} from './args.js';
import { hypernetAll, hypernetEval, hypernetExport, hypernetSample, hypernetTrain } from './hypernet.js';
import { hypernetAnalyzeCommand } from './hypernet-analyze.js';
import { hypernetOptions, hypernetQueueAsked, hypernetQueueCli } from './hypernet-queue.js';
import { type IrisOptions, irisAll, irisSample, irisTable1, irisVae, irisZoo } from './iris.js';
import { irisFigures } from './iris-figures.js';
import { irisFinetuneCommand } from './iris-finetune.js';
import { irisTsneCommand } from './iris-tsne.js';
import { Progress, textPlot } from './progress.js';
import { zooCli } from './queue.js';
import { tabularCommand } from './tabular.js';
import { toyMixture } from './toy.js';
import { workerCli } from './worker.js';

// Our own process: let Node wait for Dawn without spinning a core (src/gpu/node.ts), unless told otherwise.
process.env.WEIGHTGEN_POLL ??= 'patient';

async function adapterLine(): Promise<string> {
  const g = await initGpu();
  const a = g.adapter;
  return `adapter: ${a.vendor || '?'} ${a.architecture || ''} (${a.description || a.device || 'no description'}), ${a.backend}${a.fallback ? ', CPU fallback' : ''}`;
}

async function irisMlp(o: FlagValues<(typeof COMMANDS)['iris-mlp']['flags']>): Promise<void> {
  console.log(await adapterLine());
  const gpu = await initGpu();
  if (o.profile) gpu.setProfiling(true);
  const bar = new Progress('training', o.epochs);
  const t0 = Date.now();
  const r = await trainIrisMlp({
    epochs: o.epochs,
    lr: o.lr,
    batchSize: o.batch,
    hidden: o.hidden,
    seed: o.seed,
    onEpoch: (e, loss) => bar.update(e + 1, `loss ${loss.toFixed(4)}`),
  });
  const secs = (Date.now() - t0) / 1000;
  console.log(
    `\nIris MLP 4-${o.hidden}-3 (${r.parameters} parameters), Adam lr ${o.lr}, batch ${o.batch}, ` +
      `${o.epochs} epochs in ${secs.toFixed(1)} s`,
  );
  console.log('training loss per epoch:');
  console.log(textPlot(r.losses));
  console.log(`final loss ${r.losses.at(-1)?.toFixed(4)}`);
  console.log(
    `train accuracy ${(100 * r.trainAccuracy).toFixed(1)}%   test accuracy ${(100 * r.testAccuracy).toFixed(1)}% (50 rows)`,
  );
  if (o.profile) console.log(`\n${gpu.profiler.table()}`);
}

/** Runs `work` with every kernel timed on the GPU when `on` (--profile), then prints the table. */
async function profiled<T>(on: boolean | undefined, work: () => Promise<T>): Promise<T> {
  if (!on) return work();
  const gpu = await initGpu();
  gpu.profiler.reset();
  gpu.setProfiling(true);
  try {
    return await work();
  } finally {
    gpu.setProfiling(false);
    console.log(`\nGPU time by kernel (--profile):\n${gpu.profiler.table()}`);
  }
}

async function iris(
  step: 'zoo' | 'vae' | 'sample' | 'table1' | 'all',
  o: FlagValues<(typeof COMMANDS)['iris']['flags']>,
): Promise<void> {
  const opts: IrisOptions = {
    run: o.run,
    preset: o.preset,
    models: o.models,
    zooEpochs: o['zoo-epochs'],
    samples: o.samples,
    vaeEpochs: o['vae-epochs'],
    evaeEpochs: o['evae-epochs'],
    seed: o.seed,
    restart: o.restart,
  };
  prepareRunFolder(opts.run);
  console.log(await adapterLine());
  console.log(`run folder: ${opts.run} (preset ${opts.preset})`);
  const t0 = Date.now();
  await profiled(o.profile, async () => {
    if (step === 'zoo') await irisZoo(opts);
    else if (step === 'vae') await irisVae(opts);
    else if (step === 'sample') await irisSample(opts);
    else if (step === 'table1') irisTable1(opts);
    else {
      await irisAll(opts);
      console.log(`Table 1 after ${((Date.now() - t0) / 1000).toFixed(1)} s; now the figures (t-SNE, fine-tuning)`);
      const figures = await irisFigures(opts);
      console.log(`figures:\n${figures.map((f) => `  ${f}`).join('\n')}`);
    }
  });
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function hypernet(
  step: 'train' | 'sample' | 'eval' | 'all' | 'export',
  o: FlagValues<(typeof COMMANDS)['hypernet']['flags']>,
): Promise<void> {
  if (step === 'eval' && hypernetQueueAsked(o)) return hypernetQueueCli(o); // sharded over workers: no GPU here
  if (step === 'sample' && hypernetQueueAsked(o)) return hypernetQueueCli(o, 'sample'); // the same, sampling
  const opts = hypernetOptions(o);
  prepareRunFolder(opts.run);
  console.log(await adapterLine());
  console.log(`run folder: ${opts.run} (preset ${opts.preset}${opts.faithful ? ', faithful' : ''})`);
  const t0 = Date.now();
  await profiled(o.profile, async () => {
    if (step === 'train') await hypernetTrain(opts);
    else if (step === 'sample') await hypernetSample(opts);
    else if (step === 'eval') await hypernetEval(opts);
    else if (step === 'export') await hypernetExport(opts);
    else await hypernetAll(opts);
  });
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function toy(o: FlagValues<(typeof COMMANDS)['toy-mixture']['flags']>): Promise<void> {
  prepareRunFolder(o.run);
  console.log(await adapterLine());
  console.log(`run folder: ${o.run}`);
  const t0 = Date.now();
  const r = await toyMixture({ run: o.run, seed: o.seed, steps: o.steps });
  const { trained, untrained, radiusSigmas, grid } = r.reach;
  console.log(
    `peaks reached (a point of the curve within ${radiusSigmas} sigma of the mean, over ${grid} z in [-1, 1]): ` +
      `${trained.count} of ${trained.reached.length} (untrained: ${untrained.count})`,
  );
  if (r.last)
    console.log(
      `last round: loss ${r.last.loss.toFixed(4)}, mean f ${r.last.f.toFixed(4)}, H ${r.last.entropy.toFixed(4)}`,
    );
  console.log(`written: ${o.run}/curve.json, curve.svg, curve.png, training.svg`);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function main(argv: string[]): Promise<void> {
  const { name, args } = splitCommand(argv);
  const help = (cmd: CommandName) => console.log(`weightgen ${cmd}\n${commandHelp(cmd, COMMANDS[cmd])}`);
  switch (name) {
    case 'iris-mlp': {
      const p = parseCommand(name, COMMANDS[name], args);
      return p.help ? help(name) : irisMlp(p.values);
    }
    case 'iris': {
      // tsne and finetune have flag tables of their own (args.ts: IRIS_TSNE, IRIS_FINETUNE)
      if (args[0] === 'tsne') return void (await irisTsneCommand(args.slice(1)));
      if (args[0] === 'finetune') return void (await irisFinetuneCommand(args.slice(1)));
      const p = parseCommand(name, COMMANDS[name], args);
      return p.help ? help(name) : iris(p.step, p.values);
    }
    case 'hypernet': {
      if (args[0] === 'analyze') return hypernetAnalyzeCommand(args.slice(1)); // its own flags (args.ts)
      const p = parseCommand(name, COMMANDS[name], args);
      return p.help ? help(name) : hypernet(p.step, p.values);
    }
    case 'zoo': {
      const p = parseCommand(name, COMMANDS[name], args);
      return p.help ? help(name) : zooCli(p.values);
    }
    case 'worker': {
      const p = parseCommand(name, COMMANDS[name], args);
      return p.help ? help(name) : workerCli(p.values, async () => console.log(await adapterLine()));
    }
    case 'toy-mixture': {
      const p = parseCommand(name, COMMANDS[name], args);
      return p.help ? help(name) : toy(p.values);
    }
    case 'tabular':
      return void (await tabularCommand(args)); // parses its own flags (args.ts COMMANDS.tabular)
    case 'info': {
      if (parseCommand(name, COMMANDS[name], args).help) return help(name);
      console.log(await adapterLine());
      const g = await initGpu();
      console.log(`features: ${g.adapter.features.join(', ')}`);
      return;
    }
    case 'help':
      parseCommand(name, COMMANDS[name], args);
      console.log(helpText());
      return;
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    console.error(`weightgen: ${(e as Error).message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
