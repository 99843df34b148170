// Builds the benchmark: src/gpu/shaders.gen.ts from shaders/ (as every npm script does), then two bundles
// of the same harness: dist/bench.js (Node, Dawn) and dist/bench-page.js (the page that `--browser` opens
// in headless Chromium). Kept apart from esbuild.config.mjs so that the library's build never pulls in
// TensorFlow.js, which the benchmark alone uses.
//
//   node bench/build.mjs && node dist/bench.js [--browser] [--quick] [--only NAME] [--sweep] ...

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { generateShaders } from '../esbuild.config.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

generateShaders();
await esbuild.build({
  entryPoints: [join(root, 'bench/main.ts')],
  outfile: join(root, 'dist/bench.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['webgpu', 'playwright-core'],
  // TF.js's ES modules, as in the browser bundle: one copy of tfjs-core, which the gradient registrations
  // (imported from its dist/ tree) must share.
  mainFields: ['module', 'main'],
  // CommonJS parts of TF.js (the wasm backend's loader) want require and __dirname.
  banner: {
    js: [
      "import { createRequire as __cr } from 'node:module';",
      "import { dirname as __dn } from 'node:path';",
      "import { fileURLToPath as __fu } from 'node:url';",
      'const require = __cr(import.meta.url);',
      'const __filename = __fu(import.meta.url);',
      'const __dirname = __dn(__filename);',
    ].join(' '),
  },
  logLevel: 'warning',
});
await esbuild.build({
  entryPoints: [join(root, 'bench/page.ts')],
  outfile: join(root, 'dist/bench-page.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});
