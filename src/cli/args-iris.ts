// The flags of the Iris pipeline's analysis commands (`iris tsne`, `iris finetune`) and of `tabular`, the
// same pipeline on any CSV: declarative tables as in args.ts (which re-exports them and lists `tabular` among
// its commands). Not here: what the commands do (iris-tsne.ts, iris-finetune.ts, tabular.ts).

import { ZOO_TRAINING } from '../models/zoo.js';
import { defineCommand, type FlagSpec } from './parser.js';

const SEED_MAX = Number.MAX_SAFE_INTEGER; // Rng seeds are integers in [0, 2^53)

/** The pipeline's training flags, shared by `iris` (args.ts) and `tabular`. */
export const PIPELINE_FLAGS = {
  preset: {
    type: 'choice',
    choices: ['default', 'faithful'],
    default: 'default',
    help: "the VAEs' settings: ours, or those of the paper's code",
  },
  models: {
    type: 'int',
    default: 500,
    min: 2,
    help: 'networks in each zoo set',
    why: 'Table 1 reports their spread',
  },
  'zoo-epochs': { type: 'int', default: ZOO_TRAINING.epochs, min: 1, help: 'epochs of each zoo network' },
  samples: { type: 'int', default: 500, min: 1, help: 'networks sampled from each VAE' },
  'vae-epochs': { type: 'int', min: 1, help: "the VAE's epochs (overrides the preset)" },
  'evae-epochs': { type: 'int', min: 1, help: "the enhanced VAE's epochs (overrides the preset)" },
} as const satisfies Record<string, FlagSpec>;

/** `weightgen tabular`: the Iris pipeline on any CSV (main.ts routes it; tabular.ts runs it). */
export const TABULAR = defineCommand({
  summary: "the Iris commands' whole pipeline on any CSV of numeric features and a label column",
  steps: { choices: ['zoo', 'vae', 'sample', 'table1', 'tsne', 'finetune', 'all'], default: 'all' },
  flags: {
    csv: {
      type: 'string',
      value: 'FILE',
      help: 'the CSV: a header line, then rows of numeric features and one label cell (required)',
    },
    label: { type: 'string', value: 'COLUMN', help: "the label column's header name (required)" },
    hidden: { type: 'int', default: 5, min: 1, max: 4096, help: "hidden units of the Real-2 zoo's d-h-k networks" },
    'test-size': {
      type: 'number',
      default: 0.33,
      above: 0,
      max: 0.9,
      help: 'the share of rows held out as test rows',
      why: 'both sides need rows',
    },
    split: {
      type: 'choice',
      choices: ['stratified', 'shuffle'],
      default: 'stratified',
      help: "stratified by class, or shuffled as scikit-learn's train_test_split(random_state=S)",
    },
    'split-seed': {
      type: 'int',
      default: 42,
      min: 0,
      max: 2 ** 32 - 1,
      help: "the split's seed (numpy's RandomState)",
    },
    standardise: {
      type: 'choice',
      choices: ['yes', 'no'],
      default: 'yes',
      help: "scale each feature by the training rows' mean and std (no: the CSV's values)",
    },
    run: { type: 'string', default: 'runs/tabular', value: 'DIR', help: 'the run folder' },
    ...PIPELINE_FLAGS,
    seed: {
      type: 'int',
      default: 0,
      min: 0,
      max: 2 ** 28 - 1,
      help: 'random seed of every step (the split has its own)',
    },
    'tsne-networks': { type: 'int', default: 25, min: 2, max: 100_000, help: 'networks of each set in t-SNE' },
    perplexity: {
      type: 'number',
      default: 17,
      above: 0,
      max: 10_000,
      help: "t-SNE's perplexity; less than the networks of a figure",
    },
    'tsne-iterations': { type: 'int', default: 1000, min: 250, max: 1_000_000, help: "t-SNE's iterations" },
    'finetune-samples': {
      type: 'int',
      default: 500,
      min: 2,
      max: 2 ** 19,
      help: 'networks per sampler and per VAE to fine-tune',
    },
    'finetune-epochs': {
      type: 'int',
      default: 50,
      min: 1,
      max: 100_000,
      help: 'fine-tuning epochs (test accuracy at 0, 1, 5, 25, 50 up to it, and at the last)',
    },
    bandwidth: { type: 'number', above: 0, max: 100, help: "the KDEs' bandwidth factor (default: Scott's rule)" },
    restart: {
      type: 'choice',
      choices: ['zoo', 'vae', 'sample', 'table1', 'tsne', 'finetune'],
      value: 'STEP',
      help: 'delete what the run folder holds for STEP and what was made from it, then run',
    },
  },
  notes: [
    'writes what `weightgen iris all`, `iris tsne` and `iris finetune` write, into DIR; Table 1 has no published',
    "column (the paper's is Iris's); manifest.json records the CSV's path, SHA-256, label, split and options, so",
    'a changed CSV or option is refused like any changed setting: use another --run or --restart STEP',
    "Iris as a CSV with --split shuffle --split-seed 42 --standardise no gives `weightgen iris`'s numbers",
  ],
});

/** `weightgen iris tsne`: a command within `iris` (main.ts routes it; iris-tsne.ts runs it). */
export const IRIS_TSNE = defineCommand({
  summary:
    "Figure 3 of the weight-VAE paper, redone: t-SNE of a finished run's networks (R1, S1, G1; R2, G2) on " +
    'spectral-norm distances in raw weight space, on the GPU',
  flags: {
    run: {
      type: 'string',
      default: 'runs/iris',
      value: 'DIR',
      help: 'the run folder with zoo.safetensors and generated.safetensors (its manifest gives the settings)',
    },
    networks: {
      type: 'int',
      default: 25,
      min: 2,
      max: 100_000,
      help: "networks of each set, evenly spaced (every 20th of 500, as the paper's code)",
    },
    perplexity: {
      type: 'number',
      default: 17,
      above: 0,
      max: 10_000,
      help: "t-SNE's perplexity (the paper's code: 17); less than the networks of a figure",
    },
    iterations: {
      type: 'int',
      default: 1000,
      min: 250,
      max: 1_000_000,
      help: "t-SNE's iterations (scikit-learn's n_iter)",
    },
    seed: { type: 'int', default: 0, min: 0, max: SEED_MAX, help: "seed of t-SNE's random initial embedding" },
    'paper-variant': {
      type: 'boolean',
      help: "also tsne-paper.svg: the paper's code's choices (G1 in the VAE's [0, 1] space, distance rows as features)",
    },
    restart: {
      type: 'boolean',
      help: "delete the run folder's t-SNE files first (other settings are refused otherwise)",
    },
  },
  notes: [
    'M2 distance: the sum over both layers of ||[W|b]_i - [W|b]_j||_2, hidden units in canonical order',
    'writes DIR/tsne.json (points, KL, trustworthiness, mean distances between sets), tsne-m1.svg, tsne-m2.svg (.png)',
  ],
});

/** `weightgen iris finetune`: a command within `iris` (main.ts routes it; iris-finetune.ts runs it). */
export const IRIS_FINETUNE = defineCommand({
  summary:
    "fine-tune networks sampled from a finished run's VAEs (the hyper-representations paper's samplers and " +
    'baselines), and check them for copies of the zoo',
  flags: {
    run: {
      type: 'string',
      default: 'runs/iris',
      value: 'DIR',
      help: 'the finished run folder (its manifest gives the settings)',
    },
    samples: { type: 'int', default: 500, min: 2, max: 2 ** 19, help: 'networks per sampler and per VAE' },
    epochs: {
      type: 'int',
      default: 50,
      min: 1,
      max: 100_000,
      help: 'fine-tuning epochs: test accuracy at 0, 1, 5, 25, 50 up to it, and at the last',
    },
    seed: { type: 'int', default: 0, min: 0, max: 2 ** 28 - 1, help: 'random seed of the samplers and batch orders' },
    bandwidth: {
      type: 'number',
      above: 0,
      max: 100,
      help: "the KDEs' bandwidth factor (default: Scott's rule n^(-1/(d+4)), as scipy's gaussian_kde)",
    },
  },
  notes: [
    'samplers: prior, S_U, S_KDE, S_KDE30, S_Neigh (latent); baselines: B_T, B_F, B_KDE30 (src/models/samplers.ts)',
    'writes DIR/finetune.json, .md, .svg, memorisation.svg and finetune.safetensors; records them in manifest.json',
  ],
});
