// `npm run bench -- --browser`: the same cases in headless Chromium. A tiny node:http server on 127.0.0.1
// serves the page bundle (dist/bench-page.js, built by bench/build.mjs) and TF.js's .wasm files;
// playwright-core drives the system's Chromium (never a downloaded one) with WebGPU enabled, relays the
// page's progress lines and collects its report.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import type { Report } from './report.js';
import type { SuiteOptions } from './suite.js';
import { LOG_PREFIX } from './util.js';

export type BrowserOptions = SuiteOptions & { dawnFlags: string | null };

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>weightgen bench</title>
<script type="module" src="/bench-page.js"></script>
`;

function serve(root: string): Promise<{ url: string; close: () => void }> {
  const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let file: string | null = null;
    let type = 'text/html';
    if (path === '/') {
      res.writeHead(200, { 'content-type': type }).end(PAGE);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/bench-page.js' || path === '/bench-page.js.map') {
      file = join(root, 'dist', path.slice(1));
      type = path.endsWith('.js') ? 'text/javascript' : 'application/json';
    } else if (path.startsWith('/wasm/') && path.endsWith('.wasm')) {
      file = join(wasmDir, basename(path));
      type = 'application/wasm';
    }
    try {
      if (!file) throw new Error('not found');
      res.writeHead(200, { 'content-type': type }).end(readFileSync(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => server.close() });
    });
  });
}

export async function runInBrowser(root: string, options: BrowserOptions): Promise<Report> {
  const executablePath = process.env.WEIGHTGEN_CHROMIUM ?? '/usr/bin/chromium';
  const { chromium } = await import('playwright-core');
  const { url, close } = await serve(root);
  const args = [
    '--enable-unsafe-webgpu',
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
    '--enable-features=Vulkan',
    '--use-angle=swiftshader',
    // headless tabs are not in the background, but keep Chrome from throttling timers anyway
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
  ];
  if (options.dawnFlags) args.push(`--enable-dawn-features=${options.dawnFlags}`);
  const browser = await chromium.launch({ executablePath, headless: true, args });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      const t = m.text();
      if (t.startsWith(LOG_PREFIX)) console.log(t.slice(LOG_PREFIX.length));
      else if (m.type() === 'error') console.log(`page: ${t}`);
    });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    console.log(`Chromium ${browser.version()} (${executablePath}), page ${url}`);
    await page.goto(`${url}?o=${encodeURIComponent(JSON.stringify(options))}`);
    const handle = await page.waitForFunction(() => (window as any).__benchDone, null, {
      timeout: 0,
      polling: 500,
    });
    const done = (await handle.jsonValue()) as { report?: Report; error?: string };
    if (done.error) throw new Error(`the bench page failed: ${done.error}`);
    const report = done.report!;
    report.dawnFlags = options.dawnFlags ?? "(Chrome's defaults)";
    return report;
  } finally {
    await browser.close();
    close();
  }
}
