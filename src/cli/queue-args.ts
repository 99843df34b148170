// The command-line tables of the job queue's commands (`weightgen zoo`, `weightgen worker`), declared as
// args.ts declares the others and spread into its COMMANDS. Not here: what they do (queue.ts, worker.ts).

import { ZOO_TRAINING } from '../models/zoo.js';
import { defineCommand } from './parser.js';

export const QUEUE_COMMANDS = {
  zoo: defineCommand({
    summary: 'a zoo of the Iris sets sharded over workers through a Redis job queue (BullMQ), merged when done',
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
    },
    notes: [
      'the merged zoo.safetensors is the file `iris zoo` writes with the same --models, --zoo-epochs and --seed,',
      'byte for byte, so `iris --run DIR` carries on from it; docs/many-machines.md: running it on a cluster',
    ],
  }),
  worker: defineCommand({
    summary: "train the zoo shards a Redis job queue hands out, one at a time, on this machine's adapter",
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
