// Build script: the one way WGSL reaches the code, and the bundles.
//
//   node esbuild.config.mjs shaders   writes src/gpu/shaders.gen.ts from shaders/*.wgsl
//   node esbuild.config.mjs           the above, then dist/cli.js (Node) and dist/weightgen.js (browser)
//
// Every consumer (Node CLI, vitest in Node and in Chromium, the browser bundle) imports the generated
// module, so the shader text is the same everywhere and no loader plugin is needed. The module holds:
//   SHADERS          each kernel module's WGSL: shaders/prelude.wgsl (the helpers every module shares; WGSL
//                    has no include), then shaders/<name>.wgsl; PRELUDE_LINES says where the file begins
//   SHADER_CONSTS    each file's numeric module-scope `const`s (op codes, tile sizes), so that the TypeScript
//                    that must agree with a constant reads it instead of restating it; PRELUDE_CONSTS the
//                    prelude's. (`override` constants are set by the TypeScript per pipeline instead.)
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

const PRELUDE = 'prelude';

/** The module-scope names a WGSL text declares (fn, const, override, struct, alias, var), by their line at column 0. */
function topLevelNames(text) {
  const names = new Set();
  for (const line of text.split('\n')) {
    const m =
      /^(?:fn|const|override|struct|alias)\s+(\w+)/.exec(line) ?? /^(?:@.*\s)?var(?:<[^>]*>)?\s+(\w+)/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

/** The bindings (`var<storage ...>`, `var<uniform>`) a WGSL text declares. */
function bindingNames(text) {
  return [...text.matchAll(/^@group\(\d+\)\s*@binding\(\d+\)\s*var(?:<[^>]*>)?\s+(\w+)/gm)].map((m) => m[1]);
}

/** The prelude's declarations: name -> [first line, last line] (0-based), a function to its closing brace. */
function preludeDeclarations(prelude) {
  const lines = prelude.split('\n');
  const out = new Map();
  lines.forEach((line, i) => {
    const m = /^(fn|const)\s+(\w+)/.exec(line);
    if (!m) return;
    let j = i;
    if (m[1] === 'fn') {
      let depth = 0;
      for (; j < lines.length; j++) {
        depth += (lines[j].match(/\{/g) ?? []).length - (lines[j].match(/\}/g) ?? []).length;
        if (depth === 0 && lines[j].includes('}')) break;
      }
    } else {
      while (j < lines.length && !lines[j].includes(';')) j++;
    }
    out.set(m[2], [i, j]);
  });
  return out;
}

/** The parameters and locals of the prelude's functions (they must not be named like a binding). */
function preludeLocals(prelude) {
  const names = new Set();
  for (const m of prelude.matchAll(/^fn\s+\w+\s*\(([^)]*)\)/gm))
    for (const p of m[1].split(',')) if (p.trim()) names.add(p.trim().split(/\s*:/)[0]);
  for (const m of prelude.matchAll(/^\s+(?:let|var)\s+(\w+)/gm)) names.add(m[1]);
  for (const m of prelude.matchAll(/\bfor\s*\(\s*(?:var|let)\s+(\w+)/g)) names.add(m[1]);
  return names;
}

/**
 * Module `name`'s WGSL: the prelude, then the file's text. A prelude declaration the file makes itself is
 * left out (its lines become a comment and blanks, so that line numbers stay put) and reported in `notes`
 * (printed when the generated module is written).
 * Throws when a prelude parameter or local is named like one of the file's bindings.
 */
export function composeModule(prelude, name, text) {
  const own = topLevelNames(text);
  const lines = prelude.split('\n');
  const notes = [];
  for (const [decl, [first, last]] of preludeDeclarations(prelude)) {
    if (!own.has(decl)) continue;
    notes.push(
      `shaders/${name}.wgsl declares ${decl}, which shaders/prelude.wgsl has: its own is used (delete it to share the prelude's)`,
    );
    for (let i = first; i <= last; i++) lines[i] = i === first ? `// ${decl}: declared by shaders/${name}.wgsl` : '';
  }
  const locals = preludeLocals(prelude);
  const clash = bindingNames(text).filter((b) => locals.has(b));
  if (clash.length) {
    throw new Error(
      `shaders/prelude.wgsl names a parameter or local like a binding of shaders/${name}.wgsl (${clash.join(', ')}); ` +
        'wgsl_reflect would take it for a use of the binding: rename it in the prelude',
    );
  }
  return { code: lines.join('\n') + text, notes };
}

/**
 * The numeric module-scope `const`s of a WGSL text: literals (0u, 32u, 1.5, 0x7fc00000u) and sums and
 * products of them and of constants declared before (`known` holds those of the prelude). Any other constant
 * (a vector, a division, a call) is not exported.
 */
export function shaderConsts(text, known = {}) {
  const values = { ...known };
  const out = {};
  for (const m of text.matchAll(/^const\s+(\w+)\s*(?::\s*\w+\s*)?=\s*([^;]+);/gm)) {
    const tokens =
      m[2].trim().match(/0x[0-9a-f]+[ui]?|\d+\.?\d*(?:e[+-]?\d+)?[uif]?|\.\d+(?:e[+-]?\d+)?f?|\w+|\S/gi) ?? [];
    const js = tokens.map((t) => {
      if (/^(0x[0-9a-f]+|\d|\.\d)/i.test(t)) return String(Number(t.replace(/[uif]$/i, '')));
      if (/^\w+$/.test(t)) return t in values ? `(${values[t]})` : null;
      return '+-*()'.includes(t) ? t : null;
    });
    if (js.includes(null)) continue;
    const v = Function(`return ${js.join(' ')};`)();
    if (Number.isFinite(v)) values[m[1]] = out[m[1]] = v;
  }
  return out;
}

/** Writes src/gpu/shaders.gen.ts (only when its text changes); returns the number of kernel modules. */
export function generateShaders() {
  const dir = join(root, 'shaders');
  const prelude = readFileSync(join(dir, `${PRELUDE}.wgsl`), 'utf8');
  if (!prelude.endsWith('\n')) throw new Error('shaders/prelude.wgsl must end with a newline');
  const preludeLines = prelude.split('\n').length - 1;
  const preludeConsts = shaderConsts(prelude);
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.wgsl') && f !== `${PRELUDE}.wgsl`)
    .map((f) => basename(f, '.wgsl'))
    .sort();
  const modules = [];
  const consts = [];
  const notes = [];
  for (const name of names) {
    const text = readFileSync(join(dir, `${name}.wgsl`), 'utf8');
    const { code, notes: said } = composeModule(prelude, name, text);
    notes.push(...said);
    modules.push(`  ${JSON.stringify(name)}: ${JSON.stringify(code)},`);
    consts.push(`  ${JSON.stringify(name)}: ${JSON.stringify(shaderConsts(text, preludeConsts))},`);
  }
  const lines = [
    '// Generated by esbuild.config.mjs from shaders/*.wgsl. Do not edit: edit the .wgsl file.',
    '',
    '/** Lines of shaders/prelude.wgsl at the top of every module: line n > PRELUDE_LINES is line n - PRELUDE_LINES of the file. */',
    `export const PRELUDE_LINES = ${preludeLines};`,
    '',
    '/** Each kernel module: shaders/prelude.wgsl, then shaders/<name>.wgsl. */',
    'export const SHADERS = {',
    ...modules,
    '} as const;',
    '',
    'export type ShaderName = keyof typeof SHADERS;',
    '',
    '/** The numeric module-scope `const`s of shaders/prelude.wgsl. */',
    `export const PRELUDE_CONSTS = ${JSON.stringify(preludeConsts)} as const;`,
    '',
    '/** The numeric module-scope `const`s of each shaders/<name>.wgsl, for the TypeScript that must agree with them. */',
    'export const SHADER_CONSTS = {',
    ...consts,
    '} as const;',
    '',
  ];
  const out = join(root, 'src/gpu/shaders.gen.ts');
  const text = lines.join('\n');
  if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
    writeFileSync(out, text);
    for (const n of notes) console.log(`note: ${n}`);
  }
  return names.length;
}

async function bundle() {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: join(root, 'dist/cli.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: ['webgpu'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
  await esbuild.build({
    entryPoints: [join(root, 'src/index.ts')],
    outfile: join(root, 'dist/weightgen.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = generateShaders();
  if (process.argv[2] !== 'shaders') {
    await bundle();
    console.log(`built dist/cli.js and dist/weightgen.js (${n} shaders)`);
  }
}
