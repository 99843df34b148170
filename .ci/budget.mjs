// The size budget `npm run check` holds the code to: no source file over FILE_LINES lines, no function over
// FUNCTION_LINES (tinygrad keeps its core small the same way). Reads src/ and shaders/ (TypeScript through
// the compiler's parser: functions, methods, arrow functions; WGSL by `fn` to its closing brace at column 0).
// Prints what is over and exits 1; an exception needs a reason, in EXCEPTIONS below.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const FILE_LINES = 400;
const FUNCTION_LINES = 60;
const root = new URL('..', import.meta.url).pathname;
/** file or file:function -> why it may be longer. */
const EXCEPTIONS = {
  'src/gpu/shaders.gen.ts': 'generated from shaders/*.wgsl',
  'shaders/matmul.wgsl': 'its six kernels share the Matmul uniforms, bindings and epilogue; WGSL has no include to split them by',
};

function files(dir, ext) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

const over = [];
const lines = (text) => text.split('\n').length;
for (const path of [...files(join(root, 'src'), '.ts'), ...files(join(root, 'shaders'), '.wgsl')]) {
  const rel = relative(root, path);
  if (EXCEPTIONS[rel]) continue;
  const text = readFileSync(path, 'utf8');
  if (lines(text) > FILE_LINES) over.push(`${rel}: ${lines(text)} lines (budget ${FILE_LINES})`);
  const check = (name, start, end) => {
    const n = end - start + 1;
    if (n > FUNCTION_LINES && !EXCEPTIONS[`${rel}:${name}`]) over.push(`${rel}:${start + 1} ${name}: ${n} lines (budget ${FUNCTION_LINES})`);
  };
  if (path.endsWith('.wgsl')) {
    const ls = text.split('\n');
    ls.forEach((l, i) => {
      const m = /^fn (\w+)/.exec(l);
      if (!m) return;
      let j = i;
      while (j < ls.length && ls[j] !== '}') j++;
      check(m[1], i, j);
    });
    continue;
  }
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const visit = (node, owner) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const name = node.name?.getText(sf) ?? (owner ? `${owner} (arrow)` : '(anonymous)');
      const at = (p) => sf.getLineAndCharacterOfPosition(p).line;
      check(owner && node.name ? `${owner}.${name}` : name, at(node.getStart(sf)), at(node.end));
    }
    const next = ts.isClassDeclaration(node) && node.name ? node.name.text : ts.isVariableDeclaration(node) ? node.name.getText(sf) : owner;
    ts.forEachChild(node, (c) => visit(c, next));
  };
  visit(sf, undefined);
}
if (over.length) {
  console.error(`size budget: ${over.length} over (split by meaning, or add a reason to EXCEPTIONS in .ci/budget.mjs):`);
  for (const o of over) console.error(`  ${o}`);
  process.exit(1);
}
console.log(`size budget: every file <= ${FILE_LINES} lines, every function <= ${FUNCTION_LINES}`);
