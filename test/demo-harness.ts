// Opens a demo in headless Chromium as a person would: builds it (demos/build.mjs), serves dist/demos on a
// free loopback port (demos/serve.mjs), loads the page in Debian's chromium (WebGPU on SwiftShader here),
// and waits until the page says the GPU is up. Every console error and uncaught page error is collected:
// a demo test ends with `expect(demo.errors).toEqual([])`. Screenshots go to screenshots/demos/ (git-ignored):
// look at them.
//
// Not a test file itself; used by test/demo-*.node.test.ts (Node only: they drive a browser from Node).
import { mkdirSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { buildDemos } from '../demos/build.mjs';
import { serve } from '../demos/serve.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.mjs';

export interface DemoPage {
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  /** The demo's URL. */
  url: string;
  /** Saves a full-page screenshot as screenshots/demos/<demo>-<label>.png; returns its path. */
  screenshot(label: string): Promise<string>;
  close(): Promise<void>;
}

/** Builds, serves and opens demos/<name>; resolves once body[data-ready] is set (throws on body[data-error]). */
export async function openDemo(name: string, readyTimeoutMs = 120_000): Promise<DemoPage> {
  await buildDemos([name]);
  const server = await serve();
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`http ${r.status()}: ${r.url()}`);
  });
  const url = `${server.url}${name}/`;
  const close = async () => {
    await browser.close();
    await server.close();
  };
  try {
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"], body[data-error]', { timeout: readyTimeoutMs });
    const failed = await page.getAttribute('body', 'data-error');
    if (failed) throw new Error(`demo ${name} failed to start: ${failed}`);
  } catch (e) {
    await close();
    throw e;
  }
  const screenshot = async (label: string) => {
    mkdirSync('screenshots/demos', { recursive: true });
    const path = `screenshots/demos/${name}-${label}.png`;
    await page.screenshot({ path, fullPage: true });
    return path;
  };
  return { page, errors, url, screenshot, close };
}
