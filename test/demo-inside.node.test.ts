// The `inside` demo in headless Chromium, used as a person would: wait for the first VAE step, read the
// per-kernel table and the dispatch list (the same kernels in both, a matmul among them, workgroup counts and
// buffer sizes that are whole numbers), click a matmul kernel and read its WGSL (a compute entry point, the
// one the dispatch list names, and the prelude's end marked), click "step" and see a second, finite loss.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PRELUDE_LINES } from '../src/gpu/shaders.gen.js';
import { type DemoPage, openDemo } from './demo-harness.js';

let demo: DemoPage;

beforeAll(async () => {
  demo = await openDemo('inside');
}, 300_000);

afterAll(async () => {
  await demo?.close();
});

const text = async (selector: string) => ((await demo.page.textContent(selector)) ?? '').trim();

const texts = (selector: string) => demo.page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));

test('one VAE step: kernel times, the dispatch list, a kernel WGSL, and a second step', {
  timeout: 600_000,
}, async () => {
  const { page } = demo;
  const t0 = Date.now();
  await page.waitForSelector('#losses tbody tr, body[data-error]', { timeout: 480_000 });
  expect(await page.getAttribute('body', 'data-error')).toBeNull();
  console.log(`inside: first step shown ${(Date.now() - t0) / 1e3} s after the GPU was up; ${await text('#first')}`);
  await demo.screenshot('first-step');

  // the per-kernel table and the dispatch list name the same kernels
  const tableKernels = await texts('#kernels tbody tr td:first-child');
  const listKernels = await texts('#dispatches tbody tr td:nth-child(2)');
  expect(tableKernels.length).toBeGreaterThan(3);
  expect(listKernels.length).toBeGreaterThanOrEqual(tableKernels.length);
  expect([...tableKernels].sort()).toEqual([...new Set(listKernels)].sort());
  expect(tableKernels.some((k) => k.startsWith('matmul'))).toBe(true);
  // calls in the table add up to the dispatches listed
  const calls = (await texts('#kernels tbody tr td:nth-child(3)')).map(Number);
  expect(calls.reduce((s, c) => s + c, 0)).toBe(listKernels.length);
  // every dispatch has whole, positive workgroup counts and buffers of a multiple of 4 bytes
  const groups = await texts('#dispatches tbody tr td:nth-child(4)');
  for (const g of groups) expect(g).toMatch(/^[1-9]\d* x [1-9]\d* x [1-9]\d*$/);
  const buffers = (await texts('#dispatches tbody tr td:nth-child(5)')).join(', ').split(', ');
  for (const b of buffers) expect(Number(b.split(' ')[1]) % 4, b).toBe(0);
  const [loss1] = await texts('#losses tbody tr td:nth-child(2)');
  expect(Number(loss1)).toBeGreaterThan(0);
  expect(Number.isFinite(Number(loss1))).toBe(true);

  // click a matmul kernel in the dispatch list: its module's WGSL with that entry point
  const row = page.locator('#dispatches tbody tr[data-module="matmul"]').first();
  const entry = (await row.getAttribute('data-entry'))!;
  await row.locator('button.kernel').click();
  await page.waitForFunction(() => (document.getElementById('wgsl')?.textContent ?? '').length > 0);
  const wgsl = await text('#wgsl');
  expect(wgsl).toContain('@compute');
  expect(wgsl).toMatch(new RegExp(`\\bfn ${entry}\\(`));
  expect(await text('#wgsl .entry')).toContain(`fn ${entry}(`);
  expect(wgsl).toContain('end of shaders/prelude.wgsl');
  expect(await text('#wgsl-title')).toBe('WGSL: shaders/matmul.wgsl');
  expect(await text('#wgsl-note')).toContain(`Lines 1-${PRELUDE_LINES}`);
  await demo.screenshot('wgsl');

  // a kernel of the timing table shows its module too
  const kernelName = tableKernels.find((k) => !k.startsWith('matmul'))!;
  await page.click(`#kernels button.kernel[data-kernel="${kernelName}"]`);
  const module = (await page
    .locator(`#dispatches tbody tr[data-kernel="${kernelName}"]`)
    .first()
    .getAttribute('data-module'))!;
  expect(await text('#wgsl-title')).toBe(`WGSL: shaders/${module}.wgsl`);
  expect(await text('#wgsl')).toContain('@compute');

  // another step: a second loss, and the tables redrawn for it
  await page.click('#step');
  await page.waitForSelector('#losses tbody tr:nth-child(2)', { timeout: 300_000 });
  const losses = (await texts('#losses tbody tr td:nth-child(2)')).map(Number);
  expect(losses).toHaveLength(2);
  for (const l of losses) expect(Number.isFinite(l) && l > 0).toBe(true);
  expect(await text('#kernels-title')).toContain('step 2');
  expect(await text('#dispatches-title')).toContain('step 2');
  await page.waitForSelector('#loss-chart svg');
  await demo.screenshot('second-step');

  // the page as an adapter without timestamp queries shows it: calls per kernel, no times, and a note saying so
  await page.goto(`${demo.url}?timing=off`);
  await page.waitForSelector('#losses tbody tr, body[data-error]', { timeout: 480_000 });
  expect(await page.getAttribute('body', 'data-error')).toBeNull();
  expect(await text('#profile-note')).toMatch(/timing is off|no timestamp-query/i);
  expect(new Set(await texts('#kernels tbody tr td:nth-child(4)'))).toEqual(new Set(['-']));
  const untimedCalls = (await texts('#kernels tbody tr td:nth-child(3)')).map(Number);
  expect(untimedCalls.reduce((s, c) => s + c, 0)).toBe((await texts('#dispatches tbody tr')).length);
  expect((await texts('#kernels tbody tr td:first-child')).some((k) => k.startsWith('matmul'))).toBe(true);
  await demo.screenshot('untimed');
  expect(demo.errors).toEqual([]);
});
