// The shader generator (esbuild.config.mjs): every module is shaders/prelude.wgsl followed by its file, line
// for line, so that sourceLine (src/gpu/kernels.ts) can name the file and line of a compile error; a module
// that declares a prelude name keeps its own; the numeric `const`s of each file reach TypeScript. Node only:
// the files are read from disk, independently of the generated module.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { composeModule, shaderConsts } from '../esbuild.config.mjs';
import { sourceLine } from '../src/gpu/kernels.js';
import { PRELUDE_CONSTS, PRELUDE_LINES, SHADER_CONSTS, SHADERS } from '../src/gpu/shaders.gen.js';

const dir = fileURLToPath(new URL('../shaders', import.meta.url));
const prelude = readFileSync(join(dir, 'prelude.wgsl'), 'utf8');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.wgsl') && f !== 'prelude.wgsl')
  .map((f) => f.slice(0, -'.wgsl'.length));

describe('generated shader modules', () => {
  it('has one module per file of shaders/, and none for the prelude', () => {
    expect(Object.keys(SHADERS).sort()).toEqual([...files].sort());
    expect('prelude' in SHADERS).toBe(false);
    expect(PRELUDE_LINES).toBe(prelude.split('\n').length - 1);
  });

  it('maps every line of a module back to the line of the file it came from', () => {
    const preludeLines = prelude.split('\n');
    for (const name of files) {
      const own = readFileSync(join(dir, `${name}.wgsl`), 'utf8').split('\n');
      const lines = (SHADERS as Record<string, string>)[name]!.split('\n');
      expect(lines.length, name).toBe(PRELUDE_LINES + own.length);
      lines.forEach((text, i) => {
        const at = sourceLine(name, i + 1);
        if (i < PRELUDE_LINES) {
          expect(at.file).toBe('shaders/prelude.wgsl');
          // a prelude declaration the file makes itself is left out: a comment and blank lines stand in
          if (text !== preludeLines[i]) expect(text === '' || text.startsWith('// '), `${name}:${i + 1}`).toBe(true);
        } else {
          expect(at.file).toBe(`shaders/${name}.wgsl`);
          expect(text, `${name}:${i + 1}`).toBe(own[at.line - 1]);
        }
      });
    }
  });

  it('leaves a name registered by a test or a benchmark as it is', () => {
    expect(sourceLine('broken_test', 2)).toEqual({ file: 'broken_test', line: 2 });
  });

  it("exports each file's integer constants", () => {
    for (const name of files) {
      const text = readFileSync(join(dir, `${name}.wgsl`), 'utf8');
      const expected: Record<string, number> = {};
      for (const m of text.matchAll(/^const (\w+) = (\d+)u;/gm)) expected[m[1]!] = Number(m[2]);
      expect((SHADER_CONSTS as Record<string, Record<string, number>>)[name], name).toMatchObject(expected);
    }
    expect(PRELUDE_CONSTS.NAN_BITS).toBe(0x7fc00000);
  });
});

describe('the generator', () => {
  const pre = 'fn helper(q: u32) -> u32 {\n  let r = q;\n  return r;\n}\nconst K = 4u;\n';

  it("leaves out a prelude declaration the file makes itself, keeping the prelude's line count", () => {
    const file = 'fn helper(q: u32) -> u32 { return q + 1u; }\n';
    const { code, notes } = composeModule(pre, 'mine', file);
    const lines = code.split('\n');
    expect(lines.slice(0, 5)).toEqual(['// helper: declared by shaders/mine.wgsl', '', '', '', 'const K = 4u;']);
    expect(code.endsWith(file)).toBe(true);
    expect(code.match(/fn helper/g)).toHaveLength(1);
    expect(notes).toEqual([expect.stringMatching(/shaders\/mine\.wgsl declares helper/)]);
    expect(composeModule(pre, 'other', 'const J = 1u;\n').notes).toEqual([]);
  });

  it('refuses a prelude parameter or local named like a binding of the file', () => {
    const file = '@group(0) @binding(1) var<storage, read> r: array<f32>;\n';
    expect(() => composeModule(pre, 'mine', file)).toThrow(/binding of shaders\/mine\.wgsl \(r\)/);
  });

  it('evaluates literals, sums and products of constants, and skips the rest', () => {
    const text = [
      'const A = 3u;',
      'const B: u32 = A * (2u + K);',
      'const C = 0x10u;',
      'const D = 1.5;',
      'const E = vec2u(1u, 2u);',
      'const F = A / 2u;',
      '  const G = 7u; // not at module scope',
    ].join('\n');
    expect(shaderConsts(text, { K: 4 })).toEqual({ A: 3, B: 18, C: 16, D: 1.5 });
  });
});
