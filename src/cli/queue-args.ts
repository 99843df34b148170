// The command-line tables of the job queue's commands (`weightgen zoo`, `weightgen worker`), declared as
// args.ts declares the others and spread into its COMMANDS, and the queue flags of `weightgen hypernet eval`
// and `hypernet sample` (HYPERNET_QUEUE_FLAGS, spread into hypernet's flags). Not here: what they do (queue.ts, worker.ts,
// hypernet-queue.ts).

import { ZOO_TRAINING } from '../models/zoo.js';
import { TABULAR } from './args-iris.js';
import { defineCommand, type FlagSpec } from './parser.js';

const EVAL: readonly string[] = ['eval', 'sample']; // the steps the queue flags go with

/** `weightgen hypernet eval|sample --shards N --queue URL --root DIR`: the eval or sample sharded over workers. */
export const HYPERNET_QUEUE_FLAGS = {
  shards: {
    type: 'int',
    min: 1,
    help: 'split the eval or sample into N jobs on --queue for `weightgen worker`s (each: a range of networks)',
    steps: EVAL,
  },
  queue: {
    type: 'string',
    value: 'URL',
    help: 'with --shards or --status: the queue, redis://[user:password@]host:port[/db] (rediss:// for TLS)',
    steps: EVAL,
  },
  root: {
    type: 'string',
    value: 'DIR',
    help: 'with --shards: where run folders are on this machine (the shared volume); --run is relative to it',
    steps: EVAL,
  },
  detach: { type: 'boolean', help: 'with --shards: enqueue and exit, without waiting to merge', steps: EVAL },
  merge: {
    type: 'boolean',
    help: "with --shards: merge the finished shards into eval's or sample's files (no queue needed)",
    steps: EVAL,
  },
  status: {
    type: 'boolean',
    help: "print the run folder's eval or sample jobs in the queue (shards done, networks per second)",
    steps: EVAL,
  },
} as const satisfies Record<string, FlagSpec>;

export const QUEUE_COMMANDS = {
  zoo: defineCommand({
    summary:
      "a zoo of the Iris sets (or, with --csv, a CSV's as `tabular zoo`) sharded over workers through a Redis job " +
      'queue (BullMQ), merged when done',
    flags: {
      shards: { type: 'int', min: 1, help: 'jobs to split the zoo into (each: a range of models of every set)' },
      queue: {
        type: 'string',
        value: 'URL',
        help: 'the queue: redis://[user:password@]host:port[/db], rediss:// for TLS',
      },
      run: {
        type: 'string',
        default: 'runs/iris',
        value: 'DIR',
        help: 'the run folder, relative to --root (workers find it under theirs)',
      },
      root: {
        type: 'string',
        default: '.',
        value: 'DIR',
        help: 'where run folders are on this machine (the shared volume)',
      },
      sets: { type: 'string', default: 'real,scrambled,real2', value: 'LIST', help: 'zoo sets, comma-separated' },
      models: { type: 'int', default: 500, min: 2, max: 2 ** 20, help: 'networks in each zoo set' },
      'zoo-epochs': {
        type: 'int',
        default: ZOO_TRAINING.epochs,
        min: 1,
        max: 1_000_000,
        help: 'epochs of each network',
      },
      seed: { type: 'int', default: 0, min: 0, max: 2 ** 28 - 1, help: 'random seed (the same zoo as `iris --seed`)' },
      detach: { type: 'boolean', help: 'enqueue and exit, without waiting to merge' },
      merge: {
        type: 'boolean',
        help: 'merge the finished shards in the run folder into zoo.safetensors (no queue needed)',
      },
      status: { type: 'boolean', help: "print the run folder's jobs in the queue (shards done, networks per second)" },
      csv: { ...TABULAR.flags.csv, help: "a CSV under --root: its zoo, as `tabular zoo` trains it (Iris's without)" },
      label: { ...TABULAR.flags.label, help: "with --csv: the label column's header name" },
      hidden: TABULAR.flags.hidden,
      'test-size': TABULAR.flags['test-size'],
      split: TABULAR.flags.split,
      'split-seed': TABULAR.flags['split-seed'],
      standardise: TABULAR.flags.standardise,
    },
    notes: [
      'the merged zoo.safetensors is the file `iris zoo` writes with the same --models, --zoo-epochs and --seed,',
      'byte for byte, so `iris --run DIR` carries on from it (with --csv: the file `tabular zoo` writes with the',
      'same data flags, and `tabular` carries on); docs/many-machines.md: running it on a cluster',
    ],
  }),
  worker: defineCommand({
    summary:
      "run the zoo and hypernetwork eval and sample shards a Redis job queue hands out, one at a time, on this machine's adapter",
    flags: {
      queue: {
        type: 'string',
        value: 'URL',
        help: 'the queue: redis://[user:password@]host:port[/db], rediss:// for TLS',
      },
      root: {
        type: 'string',
        default: '.',
        value: 'DIR',
        help: 'where run folders are on this machine (the shared volume)',
      },
      'stalled-seconds': {
        type: 'int',
        default: 30,
        min: 2,
        max: 3600,
        help: "how soon a dead worker's job goes to another (BullMQ's lock and stall check)",
      },
    },
  }),
};
