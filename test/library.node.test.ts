// weightgen as a user meets the library: package.json's exports resolve from Node (`weightgen`,
// `weightgen/reference`), the main entry holds every op but no CPU reference and nothing that needs node:fs,
// the emitted .d.ts type-check a consumer, and the README's two examples ("Use as a library") run exactly
// as printed: the Node one as a child process, the page one in Debian's headless chromium. Node only: it
// builds dist/ (node esbuild.config.mjs) and drives child processes and a browser.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../demos/serve.mjs';
import * as main from '../src/index.js';
import * as ops from '../src/ops/index.js';
import { cpuMatmul } from '../src/ops/matmul.js';
import * as reference from '../src/reference.js';
import * as tensors from '../src/tensor/index.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.mjs';
import { expectClose } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'scratch', `library-test-${process.pid}`); // inside the package: `weightgen` resolves

/** Runs node with `args` in the repository; returns stdout, failing with stderr when it exits non-zero. */
function node(args: string[], timeout = 120_000): string {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stderr}`);
  return r.stdout;
}

/** The README's "Use as a library" section: its one js block (Node) and its one html block (a page). */
function readmeExamples(): { nodeCode: string; pageHtml: string } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Use as a library\n');
  if (start < 0) throw new Error('README.md has no "## Use as a library" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2]! }));
  const only = (lang: string) => {
    const found = blocks.filter((b) => b.lang === lang);
    if (found.length !== 1) throw new Error(`README "Use as a library": ${found.length} \`\`\`${lang} blocks, not 1`);
    return found[0]!.code;
  };
  return { nodeCode: only('js'), pageHtml: only('html') };
}

/** The product the code prints, from its own `const a = tensor([...], [r, c])` lines and `matmul(a, b)`. */
function expectedProduct(code: string): number[] {
  const defs = new Map(
    [...code.matchAll(/const (\w+) = tensor\((\[[^\]]*\]), (\[[^\]]*\])\)/g)].map((m) => [
      m[1],
      { data: JSON.parse(m[2]!) as number[], shape: JSON.parse(m[3]!) as number[] },
    ]),
  );
  const call = /matmul\((\w+), (\w+)\)/.exec(code);
  const [a, b] = [defs.get(call?.[1] ?? ''), defs.get(call?.[2] ?? '')];
  if (!a || !b) throw new Error('README example: no matmul(a, b) of two tensor([...], [...]) constants found');
  return Array.from(cpuMatmul(a.data, a.shape, b.data, b.shape).data);
}

/** The numbers of the example's output: the line `x @ w = ...` and the losses of `step i: loss v`. */
function parseOutput(text: string): { product: number[]; losses: number[] } {
  const line = text.split('\n').find((l) => l.includes(' @ ') && l.includes('='));
  const product = (line?.split('=')[1]?.match(/-?\d+(\.\d+)?(e[-+]?\d+)?/g) ?? []).map(Number);
  const losses = [...text.matchAll(/^step (\d+): loss (\S+)$/gm)].map((m) => Number(m[2]));
  return { product, losses };
}

function expectTraining(out: { product: number[]; losses: number[] }, product: number[], where: string) {
  expectClose(out.product, product, 1e-6, 1e-6, `${where}: the printed product`);
  expect(out.losses, `${where}: three losses`).toHaveLength(3);
  for (const l of out.losses) expect(Number.isFinite(l), `${where}: loss ${l}`).toBe(true);
  expect(out.losses[1]!, `${where}: step 2 below step 1`).toBeLessThan(out.losses[0]!);
  expect(out.losses[2]!, `${where}: step 3 below step 2`).toBeLessThan(out.losses[1]!);
}

/** What a page shows (innerText: textContent would hold its module script's own text too). */
// biome-ignore lint/performance/useDomNodeTextContent: what the page shows, as said
const shownText = () => document.body.innerText;

beforeAll(() => {
  node(['esbuild.config.mjs'], 290_000);
  mkdirSync(work, { recursive: true });
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the entries', () => {
  it('the main entry has every op, the reference entry every CPU reference, neither has both', () => {
    const isReference = (k: string) => /^cpu[A-Z]|^reference[A-Z]/.test(k);
    for (const [from, mod] of [
      ['src/ops/index.ts', ops],
      ['src/tensor/index.ts', tensors],
    ] as const) {
      for (const k of Object.keys(mod)) {
        if (isReference(k)) {
          expect(k in reference, `${k} (${from}) in src/reference.ts`).toBe(true);
          expect(k in main, `${k} (${from}) left out of src/index.ts`).toBe(false);
        } else expect(k in main, `${k} (${from}) in src/index.ts`).toBe(true);
      }
    }
    for (const k of Object.keys(reference)) expect(k.startsWith('cpu') && k in main, k).toBe(false);
  });

  it('package.json exports resolve from Node to the bundles, and Dawn loads only with initGpu', () => {
    const script = `
      const m = await import('weightgen');
      const r = await import('weightgen/reference');
      console.log(JSON.stringify({
        main: import.meta.resolve('weightgen'), ref: import.meta.resolve('weightgen/reference'),
        mainKeys: Object.keys(m), refKeys: Object.keys(r), dawn: typeof globalThis.GPUBufferUsage,
      }));`;
    const got = JSON.parse(node(['--input-type=module', '-e', script]));
    expect(fileURLToPath(got.main)).toBe(join(root, 'dist/weightgen.js'));
    expect(fileURLToPath(got.ref)).toBe(join(root, 'dist/reference.js'));
    expect(got.dawn, 'Dawn (which sets GPUBufferUsage) loaded by a plain import').toBe('undefined');
    const wanted = ['initGpu', 'matmul', 'WeightVae', 'EnhancedVae', 'trainZoo', 'Hypernet', 'trainHypernet'];
    wanted.push('decodeSafetensors', 'encodeSafetensors', 'parseIdx', 'irisSplit', 'klEntropy', 'lineSpec');
    for (const k of wanted) expect(got.mainKeys, `weightgen exports ${k}`).toContain(k);
    for (const k of ['cpuMatmul', 'referenceValue', 'writeFileAtomic', 'readSafetensors', 'loadMnist', 'renderSvg']) {
      expect(got.mainKeys, `weightgen leaves ${k} out`).not.toContain(k);
    }
    expect([...got.refKeys].sort()).toEqual(Object.keys(reference).sort());
  });

  it('the bundle imports no node: module by a name a browser would follow', () => {
    const text = readFileSync(join(root, 'dist/weightgen.js'), 'utf8');
    expect(text).not.toMatch(/(from|import\(|require\()\s*["']node:/);
  });

  it('the .d.ts files exist and type-check a consumer (browser settings: DOM lib, no ambient types)', () => {
    for (const f of ['index.d.ts', 'reference.d.ts', 'ambient.d.ts', 'gpu/device.d.ts', 'models/weight-vae.d.ts']) {
      expect(existsSync(join(root, 'dist/types', f)), `dist/types/${f}`).toBe(true);
    }
    const dir = join(work, 'consumer');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'use.ts'),
      [
        "import { type GpuOptions, initGpu, matmul, type Tensor, tensor, WeightVae } from 'weightgen';",
        "import { cpuMatmul } from 'weightgen/reference';",
        '// @ts-expect-error the CPU references are not in the main entry',
        "import { cpuSoftmax } from 'weightgen';",
        "const o: GpuOptions = { poll: 'spin', adapterChoice: 'swiftshader' };",
        '// @ts-expect-error poll is patient or spin',
        "const bad: GpuOptions = { poll: 'sometimes' };",
        'export async function run(device: GPUDevice): Promise<number[]> {',
        '  await initGpu({ device });',
        '  const a: Tensor = tensor([1, 2, 3, 4], [2, 2]);',
        '  const vae: typeof WeightVae = WeightVae;',
        '  const ref: Float64Array = cpuMatmul([1, 2, 3, 4], [2, 2], [1, 2, 3, 4], [2, 2]).data;',
        '  return [...(await matmul(a, a).data()), ...ref, vae.length, o ? 1 : 0, bad ? 1 : 0, cpuSoftmax ? 1 : 0];',
        '}',
      ].join('\n'),
    );
    const options = {
      target: 'ES2022',
      module: 'ESNext',
      moduleResolution: 'Bundler',
      lib: ['ES2022', 'DOM'],
      types: [],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['use.ts'] }));
    const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], {
      cwd: root,
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(`${r.stdout}${r.stderr}`.trim(), 'tsc on a consumer of dist/types').toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the README examples, exactly as printed', () => {
  const { nodeCode, pageHtml } = readmeExamples();
  let nodeLosses: number[] = [];

  it('Node', () => {
    const file = join(work, 'node-example.mjs');
    writeFileSync(file, nodeCode);
    const out = parseOutput(node([file]));
    expectTraining(out, expectedProduct(nodeCode), 'README Node example');
    nodeLosses = out.losses;
  });

  it('a page, in headless Chromium (WebGPU on SwiftShader here)', async () => {
    const dir = join(work, 'page');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), pageHtml);
    copyFileSync(join(root, 'dist/weightgen.js'), join(dir, 'weightgen.js'));
    const server = await serve(dir, 0);
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    const errors: string[] = [];
    try {
      const page = await browser.newPage();
      page.on('console', (m) => void (m.type() === 'error' && errors.push(`console: ${m.text()}`)));
      page.on('pageerror', (e) => void errors.push(`page: ${e.message}`));
      page.on('response', (r) => void (r.status() >= 400 && errors.push(`http ${r.status()}: ${r.url()}`)));
      await page.goto(server.url);
      // Until it prints the third step, fails, or 100 s pass.
      let text = '';
      for (const deadline = Date.now() + 100_000; !/^step 3: /m.test(text); ) {
        if (errors.length || Date.now() > deadline) {
          throw new Error(
            `the page example printed no "step 3" (${errors.join('; ') || 'in 100 s'}); it shows:\n${text}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
        text = await page.evaluate(shownText);
      }
      expectTraining(parseOutput(text), expectedProduct(pageHtml), 'README page example');
      // Same code, same seeds: the page trains as Node did, to float32 rounding.
      if (nodeLosses.length) expectClose(parseOutput(text).losses, nodeLosses, 1e-4, 1e-6, 'page vs Node losses');
    } finally {
      await browser.close();
      await server.close();
    }
    expect(errors).toEqual([]);
  });
});
