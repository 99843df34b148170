// A strict parser of declarative command tables, on Node's util.parseArgs: the tables' types, the parser, the
// help text of one command, and suggestions for typos. Generic: it knows no command of weightgen (args.ts
// declares them).
//
// Strict means: an unknown flag is an error that suggests the nearest valid one; a flag without its value,
// an empty value, a value of the wrong type or out of range, a flag given twice, or a stray argument is an
// error naming the flag, the value and what is allowed. Errors are UsageErrors (main.ts exits with 2).

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

// ---- help text of a command -----------------------------------------------------------------------------

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
  const hi = f.max !== undefined && f.max !== Number.MAX_SAFE_INTEGER ? `<= ${f.max}` : ''; // no real bound
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

/** The step: the first word if it is not a flag (it must be one of the steps), else the default. */
function parseStep(cmd: string, spec: CommandSpec, args: string[]): string | undefined {
  if (!spec.steps) return undefined;
  const choices = spec.steps.choices;
  if (args[0] !== undefined && !args[0].startsWith('-')) {
    const step = args.shift()!;
    if (!choices.includes(step)) {
      const guess = nearest(step, choices);
      throw new UsageError(
        `${cmd}: unknown step '${step}'${guess ? `; did you mean ${guess}?` : ''} (steps: ${choices.join(', ')})`,
      );
    }
    return step;
  }
  if (spec.steps.default !== undefined) return spec.steps.default;
  throw new UsageError(
    `${cmd}: which step? Give one of ${choices.join(', ')} first, e.g. weightgen ${cmd} ${choices[0]}`,
  );
}

/** util.parseArgs's error as a UsageError that names the flag and says what it takes. */
function usageErrorOf(cmd: string, spec: CommandSpec, err: Error & { code?: string }): UsageError {
  const name = optionIn(err.message);
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const guess = nearest(name, Object.keys(spec.flags));
    const dashes = /'--/.test(err.message) ? '--' : '-';
    const more = `\`weightgen ${cmd} --help\` lists them`;
    return new UsageError(
      `${cmd}: unknown flag ${dashes}${name}${guess ? `; did you mean --${guess}?` : ''} (flags of ${cmd}: ${flagsOf(spec)}; ${more})`,
    );
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const f = spec.flags[name];
    if (f?.type === 'boolean') return new UsageError(`${cmd}: --${name} takes no value (give it or leave it out)`);
    const dash = /ambiguous/.test(err.message) ? ` (a value that starts with '-' is written --${name}=-1)` : '';
    const example = f?.default !== undefined ? `, e.g. --${name} ${f.default}` : '';
    const what = !f ? 'a value' : f.type === 'string' ? `${valueName(f)}, ${f.help}` : allowedText(f);
    return new UsageError(`${cmd}: --${name} needs a value: ${what}${example}${dash}`);
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const word = /argument '([^']*)'/.exec(err.message)?.[1] ?? '?';
    const where = spec.steps ? `; the step comes first (weightgen ${cmd} ${spec.steps.choices[0]} --flag value)` : '';
    return new UsageError(`${cmd}: unexpected argument '${word}' (flags look like --name value${where})`);
  }
  return new UsageError(`${cmd}: ${err.message}`);
}

/** The flags' raw values from util.parseArgs (strict), each given at most once. */
function parseFlags(cmd: string, spec: CommandSpec, args: string[]): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, f] of Object.entries(spec.flags))
    options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string' };
  let result: ReturnType<typeof parseArgs>;
  try {
    result = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    throw usageErrorOf(cmd, spec, e as Error & { code?: string });
  }
  const seen = new Set<string>();
  for (const t of result.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) throw new UsageError(`${cmd}: --${t.name} is given twice; give it once`);
    seen.add(t.name);
  }
  return result.values as Record<string, string | boolean | undefined>;
}

/**
 * Parses a command's arguments (what follows the command's name) against its table. Throws a UsageError
 * for anything the table does not allow.
 */
export function parseCommand<C extends CommandSpec>(cmd: string, spec: C, argv: readonly string[]): Parsed<C> {
  const args = [...argv];
  const parsed = { given: new Set<string>(), help: false } as Parsed<C>;
  if (args.includes('--help') || args.includes('-h')) {
    parsed.help = true;
    return parsed;
  }
  const step = parseStep(cmd, spec, args);
  (parsed as { step: unknown }).step = step;
  const raw = parseFlags(cmd, spec, args);
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    const text = raw[name];
    if (text === undefined) {
      values[name] = f.type === 'boolean' ? (f.default ?? false) : f.default;
      continue;
    }
    if (f.steps && step !== undefined && !f.steps.includes(step)) {
      throw new UsageError(
        `${cmd} ${step}: --${name} is a flag of ${f.steps.map((s) => `${cmd} ${s}`).join(', ')} only`,
      );
    }
    parsed.given.add(name);
    values[name] = f.type === 'boolean' ? text : convertValue(cmd, name, f, text as string);
  }
  parsed.values = values as FlagValues<C['flags']>;
  return parsed;
}
