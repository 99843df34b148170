// Build script: the one way WGSL reaches the code, and the bundles.
//
//   node esbuild.config.mjs shaders   writes src/gpu/shaders.gen.ts from shaders/*.wgsl
//   node esbuild.config.mjs           the above, then dist/cli.js (Node), the library (npm run build):
//                                     dist/weightgen.js (src/index.ts, one ES module for browsers and Node),
//                                     dist/reference.js (src/reference.ts, the float64 CPU references) and
//                                     their types, dist/types/ (tsc with tsconfig.build.json)
//
// Every consumer (Node CLI, vitest in Node and in Chromium, the browser bundle) imports the generated
// module, so the shader text is the same everywhere and no loader plugin is needed. The module holds:
//   SHADERS          each kernel module's WGSL: shaders/prelude.wgsl (the helpers every module shares; WGSL
//                    has no include), then shaders/<name>.wgsl; PRELUDE_LINES says where the file begins
//   SHADER_CONSTS    each file's numeric module-scope `const`s (op codes, tile sizes), so that the TypeScript
//                    that must agree with a constant reads it instead of restating it; PRELUDE_CONSTS the
//                    prelude's. (`override` constants are set by the TypeScript per pipeline instead.)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
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

/**
 * Writes `data` to `path` unless the file holds it already, through a temporary file and a rename, so that a
 * process reading it (a test, while another test rebuilds) sees the old file or the new, never half of one.
 */
function writeIfChanged(path, data) {
  const bytes =
    typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (existsSync(path) && readFileSync(path).equals(bytes)) return;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

async function bundle() {
  const esbuild = await import('esbuild');
  const build = async (o) => {
    const r = await esbuild.build({
      bundle: true,
      format: 'esm',
      sourcemap: true,
      logLevel: 'warning',
      write: false,
      ...o,
    });
    for (const f of r.outputFiles) writeIfChanged(f.path, f.contents);
  };
  await build({
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: join(root, 'dist/cli.js'),
    platform: 'node',
    target: 'node20',
    external: ['webgpu'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  // The library: platform 'browser', and Node runs the same file. Nothing in it imports a node: module by a
  // name esbuild can see; in Node, src/gpu/node.ts imports Dawn (`webgpu`, resolved from the importing
  // package's node_modules) and node:fs by computed names, and only when initGpu() finds no navigator.gpu.
  for (const name of ['weightgen', 'reference']) {
    await build({
      entryPoints: [join(root, name === 'weightgen' ? 'src/index.ts' : `src/${name}.ts`)],
      outfile: join(root, `dist/${name}.js`),
      platform: 'browser',
      target: 'es2022',
    });
  }
}

/** Every file under `dir`, recursively. */
function walk(dir) {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
}

// What a consumer's compiler needs besides the emitted files, referenced from each entry's .d.ts: the WebGPU
// types (GPUDevice, ...), and the module path src/gpu/kernels.ts imports wgsl_reflect by, which
// src/types.d.ts declares for our own build (tsc does not copy a .d.ts; that file declares more).
const AMBIENT = "declare module 'wgsl_reflect/wgsl_reflect.module.js' {\n  export * from 'wgsl_reflect';\n}\n";
const ENTRY_REFERENCES = '/// <reference types="@webgpu/types" />\n/// <reference path="./ambient.d.ts" />\n';

/**
 * dist/types/: the library's .d.ts files (tsconfig.build.json: declarations only, for src/index.ts and
 * src/reference.ts and what they import). Skipped when no file of src/ or tsconfig*.json changed since the
 * last emit (a hash of them is kept in dist/types/.inputs); a .d.ts no longer emitted is removed. Type errors
 * are `npm run check`'s to report; an error of the declaration emit itself fails the build.
 */
async function emitTypes() {
  const out = join(root, 'dist/types');
  const stamp = join(out, '.inputs');
  const inputs = [...walk(join(root, 'src')), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')].sort();
  const hash = createHash('sha256');
  for (const f of inputs) hash.update(relative(root, f)).update(readFileSync(f));
  const digest = hash.digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest && existsSync(join(out, 'index.d.ts'))) return false;
  const ts = (await import('typescript')).default;
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  };
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), {}, host);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const written = new Set([join(out, 'ambient.d.ts')]);
  writeIfChanged(join(out, 'ambient.d.ts'), AMBIENT);
  const entries = ['index.d.ts', 'reference.d.ts'].map((f) => join(out, f));
  const result = program.emit(undefined, (path, text) => {
    written.add(path);
    writeIfChanged(path, entries.includes(path) ? ENTRY_REFERENCES + text : text);
  });
  if (result.diagnostics.length) {
    const format = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    throw new Error(
      `the declaration emit (tsconfig.build.json) failed:\n${ts.formatDiagnostics(result.diagnostics, format)}`,
    );
  }
  for (const f of walk(out)) if (f.endsWith('.d.ts') && !written.has(f)) rmSync(f);
  writeIfChanged(stamp, digest);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = generateShaders();
  if (process.argv[2] !== 'shaders') {
    await bundle();
    const typed = await emitTypes();
    console.log(
      `built dist/cli.js, dist/weightgen.js and dist/reference.js (${n} shaders); ` +
        `dist/types/ ${typed ? 'written' : 'up to date'}`,
    );
  }
}
