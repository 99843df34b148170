// weightgen's command line (Node). `weightgen help` lists the commands.

import { initGpu } from '../gpu/index.js';
import { trainIrisMlp } from '../models/iris-mlp.js';
import { Progress, textPlot } from './progress.js';

const HELP = `weightgen <command> [options]

commands:
  iris-mlp   train an MLP (4-16-3) on Iris on the GPU; print the loss curve and test accuracy (default)
             --epochs N (100)  --lr X (0.01)  --batch N (16)  --hidden N (16)  --seed N (0)  --profile
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
  console.log(`train accuracy ${(100 * r.trainAccuracy).toFixed(1)}%   test accuracy ${(100 * r.testAccuracy).toFixed(1)}% (50 rows)`);
  if (profile) console.log(`\n${gpu.profiler.table()}`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'iris-mlp', ...rest] = argv;
  switch (cmd) {
    case 'iris-mlp':
      return irisMlp(parseFlags(rest));
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
