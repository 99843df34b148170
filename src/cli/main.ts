// weightgen's command line (Node). `weightgen help` lists the commands.

import { initGpu } from '../gpu/index.js';
import { trainIrisMlp } from '../models/iris-mlp.js';
import { type IrisOptions, irisAll, irisSample, irisTable1, irisVae, irisZoo } from './iris.js';
import { Progress, textPlot } from './progress.js';

const HELP = `weightgen <command> [options]

commands:
  iris-mlp   train an MLP (4-16-3) on Iris on the GPU; print the loss curve and test accuracy (default)
             --epochs N (100)  --lr X (0.01)  --batch N (16)  --hidden N (16)  --seed N (0)  --profile
  iris <step>  the weight-VAE paper's pipeline on Iris; step: zoo | vae | sample | table1 | all (default)
             --run DIR (runs/iris)  --preset default|faithful  --models N (500)  --zoo-epochs N (200)
             --samples N (500)  --vae-epochs N  --evae-epochs N (override the preset)  --seed N (0)
             every step resumes from what DIR holds; delete a file there to redo its step
  info       print the WebGPU adapter in use
  help       this text

environment:
  WEIGHTGEN_ADAPTER=auto|hardware|swiftshader   which adapter (auto: a GPU if there is one, else SwiftShader)
  WEIGHTGEN_SWIFTSHADER_ICD=path                where SwiftShader's vk_swiftshader_icd.json is`;

function parseFlags(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}' (flags look like --epochs 50)`);
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--')) flags.set(a.slice(2), 'true');
    else flags.set(a.slice(2), args[++i]!);
  }
  return flags;
}

function num(flags: Map<string, string>, name: string, fallback: number, integer = false): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x)) || x < 0) {
    throw new Error(`--${name} ${v}: expected a ${integer ? 'whole ' : ''}number >= 0`);
  }
  return x;
}

async function adapterLine(): Promise<string> {
  const g = await initGpu();
  const a = g.adapter;
  return `adapter: ${a.vendor || '?'} ${a.architecture || ''} (${a.description || a.device || 'no description'}), ${a.backend}${a.fallback ? ', CPU fallback' : ''}`;
}

async function irisMlp(flags: Map<string, string>): Promise<void> {
  console.log(await adapterLine());
  const epochs = num(flags, 'epochs', 100, true);
  const profile = flags.has('profile');
  const gpu = await initGpu();
  if (profile) gpu.setProfiling(true);
  const bar = new Progress('training', epochs);
  const t0 = Date.now();
  const r = await trainIrisMlp({
    epochs,
    lr: num(flags, 'lr', 0.01),
    batchSize: num(flags, 'batch', 16, true),
    hidden: num(flags, 'hidden', 16, true),
    seed: num(flags, 'seed', 0, true),
    onEpoch: (e, loss) => bar.update(e + 1, `loss ${loss.toFixed(4)}`),
  });
  const secs = (Date.now() - t0) / 1000;
  console.log(`\nIris MLP 4-16-3 (${r.parameters} parameters), Adam, ${epochs} epochs in ${secs.toFixed(1)} s`);
  console.log('training loss per epoch:');
  console.log(textPlot(r.losses));
  console.log(`final loss ${r.losses.at(-1)?.toFixed(4)}`);
  console.log(
    `train accuracy ${(100 * r.trainAccuracy).toFixed(1)}%   test accuracy ${(100 * r.testAccuracy).toFixed(1)}% (50 rows)`,
  );
  if (profile) console.log(`\n${gpu.profiler.table()}`);
}

async function iris(args: string[]): Promise<void> {
  const steps = ['zoo', 'vae', 'sample', 'table1', 'all'] as const;
  const step = (args[0] && !args[0].startsWith('--') ? args.shift() : 'all') as (typeof steps)[number];
  if (!steps.includes(step)) throw new Error(`iris: unknown step '${step}'; one of ${steps.join(', ')}`);
  const flags = parseFlags(args);
  const preset = flags.get('preset') ?? 'default';
  if (preset !== 'default' && preset !== 'faithful')
    throw new Error(`--preset ${preset}: expected default or faithful`);
  const opts: IrisOptions = {
    run: flags.get('run') ?? 'runs/iris',
    preset,
    models: num(flags, 'models', 500, true),
    zooEpochs: num(flags, 'zoo-epochs', 200, true),
    samples: num(flags, 'samples', 500, true),
    vaeEpochs: flags.has('vae-epochs') ? num(flags, 'vae-epochs', 0, true) : undefined,
    evaeEpochs: flags.has('evae-epochs') ? num(flags, 'evae-epochs', 0, true) : undefined,
    seed: num(flags, 'seed', 0, true),
  };
  console.log(await adapterLine());
  console.log(`run folder: ${opts.run} (preset ${opts.preset})`);
  const t0 = Date.now();
  if (step === 'zoo') await irisZoo(opts);
  else if (step === 'vae') await irisVae(opts);
  else if (step === 'sample') await irisSample(opts);
  else if (step === 'table1') irisTable1(opts);
  else await irisAll(opts);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'iris-mlp', ...rest] = argv;
  switch (cmd) {
    case 'iris-mlp':
      return irisMlp(parseFlags(rest));
    case 'iris':
      return iris(rest);
    case 'info': {
      console.log(await adapterLine());
      const g = await initGpu();
      console.log(`features: ${g.adapter.features.join(', ')}`);
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return;
    default:
      throw new Error(`unknown command '${cmd}'\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    console.error(`weightgen: ${(e as Error).message}`);
    process.exit(1);
  },
);
