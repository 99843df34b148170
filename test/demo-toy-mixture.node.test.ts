// The `toy-mixture` demo in headless Chromium, used as a person would: press train, watch the step count up,
// the curve's points move over the heat map and the loss fall, wait until the curve reaches at least 6 of
// the 10 peaks (seed 0 reaches 7 by step 1,500 and 8 by step 2,000 on the command line), pause and see the
// step stop, then change the seed and see a new mixture, untrained. No console errors; screenshots under
// screenshots/demos/.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type DemoPage, openDemo } from './demo-harness.js';

let demo: DemoPage;

beforeAll(async () => {
  demo = await openDemo('toy-mixture');
}, 300_000);

afterAll(async () => {
  await demo?.close();
});

async function text(selector: string): Promise<string> {
  return ((await demo.page.textContent(selector)) ?? '').trim();
}

/** The screen positions of the curve's points: the translate() of each mark of the figure's curve layer. */
async function curvePoints(): Promise<[number, number][]> {
  const transforms = await demo.page.$$eval('#field g.curve_marks path', (ps) =>
    ps.map((p) => p.getAttribute('transform') ?? ''),
  );
  return transforms.map((t) => {
    const m = /translate\(([-\d.e]+),([-\d.e]+)\)/.exec(t);
    if (!m) throw new Error(`a curve point without a translate(): ${JSON.stringify(t)}`);
    return [Number(m[1]), Number(m[2])];
  });
}

const step = async () => Number(await text('#step'));

test('train moves the curve, lowers the loss and reaches the peaks; pause stops; a new seed starts over', {
  timeout: 600_000,
}, async () => {
  const { page } = demo;
  await page.waitForSelector('#peaks[data-count]', { timeout: 120_000 });
  const before = await curvePoints();
  expect(before).toHaveLength(401);
  const untrained = Number(await page.getAttribute('#peaks', 'data-count'));
  expect(await page.$$eval('#field g.peaks_marks path', (ps) => ps.length)).toBe(10);
  await demo.screenshot('untrained');

  await page.click('#train');
  expect(await text('#train')).toBe('pause');
  const t0 = Date.now();
  await page.waitForFunction(() => Number(document.getElementById('step')?.textContent) >= 200, null, {
    timeout: 240_000,
    polling: 500,
  });
  const after = await curvePoints();
  let moved = 0;
  for (let i = 0; i < after.length; i++)
    moved = Math.max(moved, Math.hypot(after[i]![0] - before[i]![0], after[i]![1] - before[i]![1]));
  expect(moved).toBeGreaterThan(5); // pixels: the 460-pixel plot spans 18 units
  const loss = Number(await text('#loss'));
  const first = Number(await text('#first-loss'));
  expect(Number.isFinite(loss) && Number.isFinite(first)).toBe(true);
  expect(loss).toBeLessThan(first);
  await demo.screenshot('training');

  // the peaks: at least 6 of 10 (seed 0's curve passes 7 by step 1,500)
  await page.waitForFunction(() => Number(document.getElementById('peaks')?.dataset.count) >= 6, null, {
    timeout: 360_000,
    polling: 1000,
  });
  const reached = Number(await page.getAttribute('#peaks', 'data-count'));
  const at = await step();
  console.log(
    `toy-mixture demo: ${reached} of 10 peaks at step ${at} (untrained ${untrained}), ` +
      `${((Date.now() - t0) / 1000).toFixed(1)} s after train; ${await text('#timing')}`,
  );
  expect(reached).toBeGreaterThan(untrained);
  expect(await page.$$eval('#field g.peaks_marks path', (ps) => ps.length)).toBe(10);
  await demo.screenshot('trained');

  await page.click('#train');
  await page.waitForFunction(() => document.getElementById('train')?.textContent === 'train', null, {
    timeout: 60_000,
  });
  const paused = await step();
  await page.waitForTimeout(1500);
  expect(await step()).toBe(paused);
  expect(await text('#status')).toBe(`paused at step ${paused}`);

  await page.fill('#seed', '1');
  await page.press('#seed', 'Enter');
  await page.waitForFunction(
    () => document.getElementById('status')?.textContent?.startsWith('seed 1: untrained'),
    null,
    {
      timeout: 60_000,
    },
  );
  expect(await step()).toBe(0);
  expect(await text('#loss')).toBe('–');
  const other = await curvePoints();
  expect(other).toHaveLength(401);
  expect(other).not.toEqual(after);
  await demo.screenshot('seed-1');
  expect(demo.errors).toEqual([]);
});
