// Builds the browser demos: every folder under demos/ with a main.ts becomes dist/demos/<name>/, its
// main.ts bundled by esbuild (browser, ESM) into main.js beside a copy of each of its other files
// (index.html, .css, .wgsl, data). A demo that needs files made at build time (a slice of MNIST, say) has a
// prepare.mjs exporting `prepare(outDir)`, run after the copy. dist/demos/index.html lists the demos.
//
//   node demos/build.mjs            all demos (after `node esbuild.config.mjs shaders`, which npm run demos does)
//   node demos/build.mjs iris-vae   one demo
//
// It is not a server (demos/serve.mjs is), and it never downloads anything.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
export const DEMOS_OUT = join(root, 'dist/demos');

/** The demos: folders of demos/ holding a main.ts. */
export function demoNames() {
  return readdirSync(here)
    .filter((d) => statSync(join(here, d)).isDirectory() && existsSync(join(here, d, 'main.ts')))
    .sort();
}

/** The first line of a demo's index.html <title>, for the list page. */
function titleOf(name) {
  const html = readFileSync(join(here, name, 'index.html'), 'utf8');
  return /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? name;
}

function copyTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) {
    const src = join(from, f);
    if (statSync(src).isDirectory()) copyTree(src, join(to, f));
    else if (!/\.(ts|mjs)$/.test(f)) copyFileSync(src, join(to, f));
  }
}

/** Builds the named demos (all by default) into dist/demos; returns their names. */
export async function buildDemos(names = demoNames()) {
  const esbuild = await import('esbuild');
  const known = demoNames();
  for (const name of names) {
    if (!known.includes(name)) {
      throw new Error(
        `demos/build.mjs: no demo "${name}" (a demo is a folder of demos/ with a main.ts); there are: ${known.join(', ')}`,
      );
    }
    if (!existsSync(join(here, name, 'index.html'))) throw new Error(`demos/${name} has a main.ts but no index.html`);
    const out = join(DEMOS_OUT, name);
    copyTree(join(here, name), out);
    await esbuild.build({
      entryPoints: [join(here, name, 'main.ts')],
      outfile: join(out, 'main.js'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      sourcemap: true,
      loader: { '.wgsl': 'text' },
      logLevel: 'warning',
    });
    const prepare = join(here, name, 'prepare.mjs');
    if (existsSync(prepare)) await (await import(pathToFileURL(prepare).href)).prepare(out);
  }
  mkdirSync(join(DEMOS_OUT, 'common'), { recursive: true });
  copyFileSync(join(here, 'common/style.css'), join(DEMOS_OUT, 'common/style.css'));
  const all = demoNames();
  const items = all.map((n) => `    <li><a href="${n}/">${titleOf(n)}</a></li>`).join('\n');
  writeFileSync(
    join(DEMOS_OUT, 'index.html'),
    `<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n  <title>weightgen demos</title>\n` +
      `  <link rel="stylesheet" href="common/style.css">\n</head>\n<body>\n  <h1>weightgen demos</h1>\n` +
      `  <p>Each trains or samples on this browser's WebGPU adapter.</p>\n  <ul>\n${items}\n  </ul>\n</body>\n</html>\n`,
  );
  return names;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  const built = await buildDemos(names.length ? names : undefined);
  console.log(`built ${built.length} demo(s) into dist/demos: ${built.join(', ')}`);
}
