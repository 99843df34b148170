// What every demo page shares: starting the GPU and saying which adapter is in use, showing any failure in
// the page with what to do (never a blank page), buttons that report their errors, status lines, and
// Vega-Lite charts through vega-embed (the specs come from src/analysis/figures.ts, as on the command line).
//
// A page has, in its HTML: <div id="adapter"></div>, <div id="error" hidden></div>, <p id="status"></p>.
// The tests read two attributes of <body>: data-ready="1" once the GPU is up, data-error with the message
// of a failure.

import embed from 'vega-embed';
import type { TopLevelSpec } from '../../src/analysis/figures.js';
import { type Gpu, initGpu } from '../../src/gpu/index.js';

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`this page has no element #${id}, which the demo needs`);
  return el;
}

/** What to do about a failure, from its message. */
function advice(message: string): string {
  if (/navigator\.gpu is missing|No WebGPU/i.test(message)) {
    return 'This browser has no WebGPU. Use Chrome or Edge 113 or later (or Firefox 141+, Safari 26+). On Linux, Chrome may need chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan.';
  }
  if (/requestAdapter\(\) returned null|disabled or unsupported/i.test(message)) {
    return 'WebGPU is there but gives no adapter: check chrome://gpu ("WebGPU: Hardware accelerated" or "Software only"). Without a GPU, Chrome uses its SwiftShader when started with --enable-unsafe-webgpu.';
  }
  if (/device.*lost/i.test(message))
    return 'The GPU device was lost (a driver reset or another tab took it): reload the page.';
  if (/fetch|404|not found/i.test(message))
    return 'A file the demo needs did not load: build the demos again (npm run demos) and reload.';
  return 'Reload the page to try again; if it happens again, the message above says where.';
}

/** Shows an error in the page (and in the console, where the tests see it). */
export function showError(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  const box = document.getElementById('error');
  if (box) {
    box.hidden = false;
    box.replaceChildren();
    const what = document.createElement('p');
    what.className = 'what';
    what.textContent = message;
    const todo = document.createElement('p');
    todo.textContent = advice(message);
    box.append(what, todo);
  }
  document.body.dataset.error = message;
  console.error(e);
}

/** Sets the page's status line. */
export function setStatus(text: string): void {
  byId('status').textContent = text;
}

/** Starts the GPU, shows the adapter, then runs the demo; any failure is shown in the page. */
export function startDemo(run: (g: Gpu) => Promise<void> | void): void {
  window.addEventListener('error', (ev) => showError(ev.error ?? ev.message));
  window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));
  const go = async () => {
    try {
      setStatus('starting WebGPU ...');
      const g = await initGpu();
      const a = g.adapter;
      // Chrome leaves the description empty; vendor and architecture are what it tells a page.
      const name = [a.vendor, a.architecture, a.description].filter((s) => s).join(' / ') || 'unnamed adapter';
      byId('adapter').textContent = `adapter: ${name}${a.fallback ? ' (a CPU implementation: slow, but exact)' : ''}`;
      document.body.dataset.ready = '1';
      setStatus('ready');
      await run(g);
    } catch (e) {
      showError(e);
    }
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go);
  else void go();
}

/** Calls `handler` on clicks of #id; the button is disabled while it runs, and its errors are shown. */
export function onClick(id: string, handler: () => Promise<void> | void): HTMLButtonElement {
  const b = byId(id) as HTMLButtonElement;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await handler();
    } catch (e) {
      showError(e);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** Draws a Vega-Lite spec into #id (replacing what was there). */
export async function chart(id: string, spec: TopLevelSpec): Promise<void> {
  await embed(byId(id), spec as never, { actions: false, renderer: 'svg' });
}

/** Yields to the browser so the page repaints during a long loop. */
export function nextFrame(): Promise<void> {
  return new Promise((r) => requestAnimationFrame(() => r()));
}
