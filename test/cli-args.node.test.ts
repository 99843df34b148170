// Strict command-line parsing (src/cli/args.ts): the parser called directly for every rule, and the built
// CLI run as a process for what a user sees (exit status, message, nothing created, the heading).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMANDS,
  commandHelp,
  defineCommand,
  editDistance,
  helpText,
  nearest,
  parseCommand,
  splitCommand,
  UsageError,
} from '../src/cli/args.js';

const mlp = (...a: string[]) => parseCommand('iris-mlp', COMMANDS['iris-mlp'], a);
const iris = (...a: string[]) => parseCommand('iris', COMMANDS.iris, a);

/** The UsageError message of fn (fails the test if fn does not throw one). */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('the parser', () => {
  it('gives every default when no flag is given, with the types of the table', () => {
    const m = mlp();
    expect(m.values).toEqual({ epochs: 100, lr: 0.01, batch: 16, hidden: 16, seed: 0, profile: false });
    expect(m.step).toBeUndefined();
    const i = iris();
    expect(i.step).toBe('all');
    expect(i.values).toEqual({
      run: 'runs/iris',
      preset: 'default',
      models: 500,
      'zoo-epochs': 200,
      samples: 500,
      'vae-epochs': undefined,
      'evae-epochs': undefined,
      seed: 0,
      restart: undefined,
      profile: false,
    });
    expect(i.given.size).toBe(0);
  });

  it('reads every kind of value: int, number, string, choice, boolean, and the step', () => {
    const m = mlp('--epochs', '3', '--lr=0.5', '--hidden', '32', '--profile');
    expect(m.values).toMatchObject({ epochs: 3, lr: 0.5, hidden: 32, profile: true });
    expect([...m.given].sort()).toEqual(['epochs', 'hidden', 'lr', 'profile']);
    const i = iris('zoo', '--run', 'runs/x', '--preset', 'faithful', '--vae-epochs', '7', '--restart', 'vae');
    expect(i.step).toBe('zoo');
    expect(i.values).toMatchObject({ run: 'runs/x', preset: 'faithful', 'vae-epochs': 7, restart: 'vae' });
  });

  it('an unknown flag is an error that suggests the nearest valid flag', () => {
    const msg = usageError(() => mlp('--epoch', '3'));
    expect(msg).toMatch(/unknown flag --epoch; did you mean --epochs\?/);
    expect(usageError(() => iris('--zoo-epoch', '3'))).toMatch(/did you mean --zoo-epochs\?/);
    expect(usageError(() => iris('--sample', '3'))).toMatch(/did you mean --samples\?/);
    // nothing near: no guess, but the list of flags
    const far = usageError(() => mlp('--quux'));
    expect(far).not.toMatch(/did you mean/);
    expect(far).toMatch(/--epochs --lr --batch --hidden --seed --profile/);
  });

  it('a flag without its value, or with an empty one, is an error', () => {
    expect(usageError(() => iris('--run'))).toMatch(/--run needs a value: DIR, the run folder/);
    expect(usageError(() => iris('--run', '--models', '4'))).toMatch(/--run needs a value/);
    expect(usageError(() => iris('--zoo-epochs', ''))).toMatch(
      /--zoo-epochs '': an empty value; expected an integer >= 1/,
    );
    expect(usageError(() => iris('--run', ''))).toMatch(/--run '': an empty value/);
    expect(usageError(() => mlp('--lr', ' '))).toMatch(/--lr " ": an empty value/);
  });

  it('values out of range name the flag, the value and the range', () => {
    expect(usageError(() => mlp('--batch', '0'))).toMatch(/--batch 0: out of range; expected an integer in 1\.\.100/);
    expect(usageError(() => mlp('--hidden', '0'))).toMatch(
      /--hidden 0: out of range; expected an integer in 1\.\.4096/,
    );
    expect(usageError(() => iris('--models', '1'))).toMatch(/--models 1: out of range; expected an integer >= 2/);
    expect(usageError(() => iris('--samples', '0'))).toMatch(/--samples 0: out of range; expected an integer >= 1/);
    expect(usageError(() => mlp('--lr=0'))).toMatch(/--lr 0: out of range; expected a number > 0 and <= 10/);
    expect(usageError(() => mlp('--lr=-1'))).toMatch(/--lr -1: out of range/);
    expect(usageError(() => mlp('--seed', '-1'))).toMatch(/--seed needs a value.*written --seed=-1/);
    // the edges themselves are allowed
    expect(mlp('--batch', '100', '--hidden', '1').values).toMatchObject({ batch: 100, hidden: 1 });
    expect(iris('--models', '2', '--samples', '1').values).toMatchObject({ models: 2, samples: 1 });
  });

  it('wrong types, choices, repeats and stray words are errors', () => {
    expect(usageError(() => mlp('--epochs', '2.5'))).toMatch(/--epochs 2.5: not an integer/);
    expect(usageError(() => mlp('--epochs', '3x'))).toMatch(/--epochs 3x: not a number/);
    expect(usageError(() => mlp('--epochs', '0x10'))).toMatch(/not a number/);
    expect(usageError(() => mlp('--epochs', 'Infinity'))).toMatch(/not a number/);
    expect(usageError(() => iris('--preset', 'faithfull'))).toMatch(
      /--preset faithfull: not a choice \(did you mean faithful\?\); expected one of default, faithful/,
    );
    expect(usageError(() => iris('--restart', 'all'))).toMatch(/expected one of zoo, vae, sample, table1/);
    expect(usageError(() => mlp('--epochs', '3', '--epochs', '4'))).toMatch(/--epochs is given twice/);
    expect(usageError(() => mlp('--profile=yes'))).toMatch(/--profile takes no value/);
    expect(usageError(() => mlp('extra'))).toMatch(/unexpected argument 'extra'/);
    expect(usageError(() => iris('zooo'))).toMatch(/unknown step 'zooo'; did you mean zoo\?/);
    expect(usageError(() => iris('zoo', 'vae'))).toMatch(/unexpected argument 'vae'.*the step comes first/);
  });

  it('--help asks for the command help and parses nothing else', () => {
    expect(mlp('--epoch', '--help').help).toBe(true);
    expect(iris('-h').help).toBe(true);
    expect(commandHelp('iris', COMMANDS.iris)).toMatch(/--restart STEP/);
  });

  it('picks the command, the default one for flags alone, and suggests one for a typo', () => {
    expect(splitCommand([])).toEqual({ name: 'iris-mlp', args: [] });
    expect(splitCommand(['--epochs', '3'])).toEqual({ name: 'iris-mlp', args: ['--epochs', '3'] });
    expect(splitCommand(['iris', 'zoo'])).toEqual({ name: 'iris', args: ['zoo'] });
    expect(splitCommand(['--help']).name).toBe('help');
    expect(usageError(() => splitCommand(['iris-mpl']))).toMatch(/unknown command 'iris-mpl'; did you mean iris-mlp\?/);
  });

  it('the help text is generated from the tables: every flag, default and range', () => {
    const help = helpText();
    for (const [name, spec] of Object.entries(COMMANDS)) {
      expect(help).toContain(`  ${name}`);
      for (const flag of Object.keys(spec.flags)) expect(help).toMatch(new RegExp(`--${flag}\\b`));
    }
    expect(help).toMatch(/--batch N +rows per step \(default: 16; an integer in 1\.\.100\)/);
    expect(help).toMatch(/--models N +networks in each zoo set \(default: 500; an integer >= 2\)/);
  });

  it('a new command is a table: steps, flags limited to some steps, typed values', () => {
    const hypernet = defineCommand({
      summary: 'a hypernetwork',
      steps: { choices: ['train', 'sample', 'eval'] },
      flags: {
        run: { type: 'string', default: 'runs/h', value: 'DIR', help: 'the run folder' },
        lr: { type: 'number', default: 1e-3, above: 0, help: 'learning rate', steps: ['train'] },
      },
    });
    const p = parseCommand('hypernet', hypernet, ['train', '--lr', '0.01']);
    expect(p.step).toBe('train');
    expect(p.values.lr).toBe(0.01);
    expect(usageError(() => parseCommand('hypernet', hypernet, ['eval', '--lr', '0.01']))).toMatch(
      /hypernet eval: --lr is a flag of hypernet train only/,
    );
    expect(usageError(() => parseCommand('hypernet', hypernet, []))).toMatch(
      /which step\? Give one of train, sample, eval/,
    );
    expect(helpText({ hypernet })).toMatch(/--lr X +learning rate \(default: 0.001; a number > 0; train only\)/);
  });

  it('edit distance and the nearest candidate', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('epoch', 'epochs')).toBe(1);
    expect(nearest('epoch', ['epochs', 'lr'])).toBe('epochs');
    expect(nearest('zoo', ['zoo-epochs', 'samples'])).toBe('zoo-epochs'); // a prefix
    expect(nearest('xyz', ['epochs', 'lr'])).toBeNull();
  });
});

// ---- the built CLI as a process ----------------------------------------------------------------------

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/cli.js');
const cwd = mkdtempSync(join(tmpdir(), 'weightgen-cli-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the built CLI', () => {
  beforeAll(() => {
    const b = spawnSync(process.execPath, [join(root, 'esbuild.config.mjs')], { cwd: root, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
  });

  it('refuses an unknown flag with exit status 2 and the nearest flag, before any training', () => {
    const r = run('iris-mlp', '--epoch', '3');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/weightgen: iris-mlp: unknown flag --epoch; did you mean --epochs\?/);
    expect(r.stdout).toBe(''); // no adapter line: nothing started
  });

  it('--run without a value and --zoo-epochs "" are errors, and no folder is made', () => {
    const a = run('iris', '--run');
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--run needs a value/);
    const b = run('iris', 'zoo', '--zoo-epochs', '', '--run', 'x');
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--zoo-epochs '': an empty value/);
    const c = run('iris', '--models', '1');
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/--models 1: out of range; expected an integer >= 2/);
    expect(readdirSync(cwd)).toEqual([]);
    expect(existsSync(join(cwd, 'true'))).toBe(false);
  });

  it('help prints the generated text', () => {
    const r = run('help');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${helpText()}\n`);
  });

  it('the heading follows the options (--hidden 32 trains a 4-32-3 network)', () => {
    const r = run('iris-mlp', '--hidden', '32', '--epochs', '1', '--batch', '50');
    expect(r.status, r.stderr).toBe(0);
    // 4*32 + 32 + 32*3 + 3 = 259 parameters
    expect(r.stdout).toMatch(/Iris MLP 4-32-3 \(259 parameters\), Adam lr 0.01, batch 50, 1 epochs/);
  });
});
