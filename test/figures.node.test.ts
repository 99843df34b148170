// Figures: each spec of src/analysis/figures.ts renders to an SVG with the marks its data asks for, the PNGs
// (from resvg, and from our own pixel-grid encoder) decode with an independent decoder written here, and bad
// input fails with a message that names what is wrong. Node only: rendering needs vega and resvg.
//
// WEIGHTGEN_FIGURES_CHECK=dir keeps one example of each figure in dir (as .svg and .png) for a look.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cellEdges,
  heatmapSpec,
  histogramBars,
  histogramSpec,
  imageGrid,
  lineSpec,
  type ScatterPoint,
  scatterSpec,
  type TopLevelSpec,
} from '../src/analysis/figures.js';
import { writeFileAtomic } from '../src/io/files.js';
import { crc32, gridToPng, renderSvg, svgToPng, writeFigure } from '../src/io/render.js';

// ---------------------------------------------------------------------------------------------------------
// A PNG decoder (8-bit, non-interlaced, all five row filters), as in the PNG specification, to read back both
// resvg's PNGs and ours.

interface Decoded {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array; // (height, width, channels)
}

function decodePng(png: Uint8Array): Decoded {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  expect([...png.subarray(0, 8)]).toEqual(sig);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (pos < png.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...png.subarray(pos + 4, pos + 8));
    const body = png.subarray(pos + 8, pos + 8 + len);
    expect(view.getUint32(pos + 8 + len), `CRC of ${type}`).toBe(zlib.crc32(png.subarray(pos + 4, pos + 8 + len)));
    types.push(type);
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      expect(body[8], 'bit depth').toBe(8);
      channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[body[9]] ?? 0;
      expect(channels, `colour type ${body[9]}`).toBeGreaterThan(0);
      expect(body[12], 'interlace').toBe(0);
    }
    if (type === 'IDAT') idat.push(body);
    pos += 12 + len;
  }
  expect(types[0]).toBe('IHDR');
  expect(types.at(-1)).toBe('IEND');
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  expect(raw.length).toBe(height * (stride + 1));
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    if (f > 4) throw new Error(`row ${y}: filter ${f} is not one of PNG's five`);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= channels ? data[y * stride + i - channels] : 0;
      const b = y > 0 ? data[(y - 1) * stride + i] : 0;
      const c = i >= channels && y > 0 ? data[(y - 1) * stride + i - channels] : 0;
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth;
      data[y * stride + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, channels, data };
}

// ---------------------------------------------------------------------------------------------------------
// Reading the SVG: vega writes each named mark as <g class="mark-<type> role-mark <name>_marks"> holding one
// <path> per item (bars, cells, dots; one per series for lines and areas).

function markPaths(svg: string, name: string): string[] {
  const out: string[] = [];
  for (const m of svg.matchAll(/<g class="mark-\w+ role-mark ([\w-]+)"[^>]*>(.*?)<\/g>/g)) {
    if (m[1] === `${name}_marks`) out.push(...(m[2].match(/<path[^>]*>/g) ?? []));
  }
  return out;
}

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

// Deterministic data: mulberry32 and Box-Muller.
function rng(seed: number) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

const keep = process.env.WEIGHTGEN_FIGURES_CHECK;
const dir = keep ?? mkdtempSync(join(tmpdir(), 'weightgen-figures-'));
afterAll(() => {
  if (!keep) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------

describe('histogramSpec', () => {
  // values chosen so the bins can be counted by hand: range [0, 9], 9 bins of width 1, 9 falls in the last
  const a = [0, 0.5, 1, 2, 2.5, 2.9, 9];
  const b = [4, 4.2, 8.5];

  it('bins every series on one shared scale', () => {
    const { bars, lo, hi } = histogramBars({
      series: [
        { name: 'a', values: a },
        { name: 'b', values: b },
      ],
      xTitle: 'x',
      bins: 9,
    });
    expect([lo, hi]).toEqual([0, 9]);
    const got = bars.map((r) => [r.series, r.x0, r.y]);
    expect(got).toEqual([
      ['a', 0, 2],
      ['a', 1, 1],
      ['a', 2, 3],
      ['a', 8, 1],
      ['b', 4, 2],
      ['b', 8, 1],
    ]);
    const norm = histogramBars({
      series: [{ name: 'b', values: b }],
      xTitle: 'x',
      bins: 9,
      range: [0, 9],
      normalize: true,
    });
    expect(norm.bars.map((r) => r.y)).toEqual([2 / 3, 1 / 3]);
    const flat = histogramBars({ series: [{ name: 'c', values: [0.97, 0.97] }], xTitle: 'x', bins: 4 });
    expect([flat.lo, flat.hi]).toEqual([0.47, 1.47]);
  });

  for (const layout of ['overlay', 'facet'] as const) {
    it(`renders one bar per non-empty bin, heights in proportion to the counts (${layout})`, async () => {
      const svg = await renderSvg(
        histogramSpec({
          series: [
            { name: 'lambda 1e3', values: a },
            { name: 'lambda 1e5', values: b },
          ],
          xTitle: 'test accuracy',
          bins: 9,
          layout,
          title: 'Generated networks',
        }),
      );
      const bars = markPaths(svg, 'bars');
      expect(bars.length).toBe(6);
      // each bar is "M x,y h w v h h -w Z"; its height over the count is the same for every bar
      const heights = bars.map((p) => Number(/ d="M[-\d.]+,[-\d.]+h[-\d.]+v(-?[\d.]+)/.exec(p)![1]));
      const counts = [2, 1, 3, 1, 2, 1];
      const perCount = heights.map((h, i) => h / counts[i]);
      for (const r of perCount) expect(r).toBeCloseTo(perCount[0], 1);
      const t = texts(svg);
      for (const s of ['Generated networks', 'test accuracy', 'count', 'lambda 1e3', 'lambda 1e5'])
        expect(t).toContain(s);
    });
  }

  it('says what is wrong with bad input', () => {
    const h =
      (series: { name: string; values: number[] }[], extra = {}) =>
      () =>
        histogramSpec({ series, xTitle: 'x', ...extra });
    expect(h([])).toThrow(/no series given/);
    expect(h([{ name: 'a', values: [] }])).toThrow(/series 'a' has no values/);
    expect(h([{ name: 'a', values: [1, 2, Number.NaN] }])).toThrow(/series 'a' values\[2\] is NaN/);
    expect(
      h([
        { name: 'a', values: [1] },
        { name: 'a', values: [2] },
      ]),
    ).toThrow(/two series are named 'a'/);
    expect(h([{ name: 'a', values: [1, 5] }], { range: [0, 2] })).toThrow(/outside range \[0, 2\]/);
    expect(h([{ name: 'a', values: [1] }], { bins: 0 })).toThrow(/bins 0/);
  });
});

describe('lineSpec', () => {
  const x = [1, 2, 4, 8, 16];
  const series = [
    {
      name: 'train',
      x,
      y: [1, 0.6, 0.4, 0.3, 0.25],
      band: { lo: [0.9, 0.5, 0.35, 0.25, 0.2], hi: [1.1, 0.7, 0.45, 0.35, 0.3] },
    },
    { name: 'test', x, y: [1.1, 0.7, 0.5, 0.45, 0.44] },
    { name: 'other', x: [1, 16], y: [0.8, 0.8] },
  ];

  it('renders a line per series and a band where one is given', async () => {
    const svg = await renderSvg(
      lineSpec({ series, xTitle: 'ensemble size', yTitle: 'loss', title: 'Curves', logX: true }),
    );
    expect(markPaths(svg, 'lines').length).toBe(3);
    expect(markPaths(svg, 'bands').length).toBe(1);
    const t = texts(svg);
    for (const s of ['Curves', 'ensemble size', 'loss', 'train', 'test', 'other']) expect(t).toContain(s);
    // a log x axis labels its ticks at powers of ten
    expect(t).toContain('10');
    const withPoints = await renderSvg(lineSpec({ series: series.slice(1), xTitle: 'x', yTitle: 'y', points: true }));
    expect(markPaths(withPoints, 'lines').length).toBe(2);
  });

  it('says what is wrong with bad input', () => {
    const l =
      (s: Parameters<typeof lineSpec>[0]['series'], extra = {}) =>
      () =>
        lineSpec({ series: s, xTitle: 'x', yTitle: 'y', ...extra });
    expect(l([])).toThrow(/no series given/);
    expect(l([{ name: 'a', x: [], y: [] }])).toThrow(/series 'a' has no points/);
    expect(l([{ name: 'a', x: [1, 2, 3], y: [1, 2] }])).toThrow(/series 'a' has 3 x values but 2 y values/);
    expect(l([{ name: 'a', x: [1, 2], y: [1, Number.POSITIVE_INFINITY] }])).toThrow(/series 'a' y\[1\] is Infinity/);
    expect(l([{ name: 'a', x: [1, 2], y: [1, 2], band: { lo: [0], hi: [2, 3] } }])).toThrow(/band has 1 lo and 2 hi/);
    expect(l([{ name: 'a', x: [0, 2], y: [1, 2] }], { logX: true })).toThrow(/logX, but series 'a' x\[0\] = 0/);
    expect(l([{ name: 'a', x: [1, 2], y: [1, -2] }], { logY: true })).toThrow(/logY/);
    expect(l([{ name: 'a', x: [1], y: [1] }], { width: -3 })).toThrow(/width -3/);
  });
});

function clusters(n: number, seed: number): ScatterPoint[] {
  const r = rng(seed);
  const centres = [
    [0, 0],
    [4, 1],
    [1, 5],
  ];
  return Array.from({ length: n }, (_, i) => {
    const c = centres[i % 3];
    return { x: c[0] + r.normal(), y: c[1] + r.normal(), group: ['real', 'scrambled', 'generated'][i % 3] };
  });
}

describe('scatterSpec', () => {
  it('renders one dot per point and a legend of the groups', async () => {
    const svg = await renderSvg(scatterSpec({ points: clusters(60, 1), xTitle: 'PC 1', yTitle: 'PC 2', title: 'PCA' }));
    expect(markPaths(svg, 'points').length).toBe(60);
    const t = texts(svg);
    for (const s of ['PCA', 'PC 1', 'PC 2', 'real', 'scrambled', 'generated']) expect(t).toContain(s);
  });

  it('says what is wrong with bad input', () => {
    expect(() => scatterSpec({ points: [], xTitle: 'x', yTitle: 'y' })).toThrow(/no points/);
    expect(() => scatterSpec({ points: [{ x: 1, y: Number.NaN, group: 0 }], xTitle: 'x', yTitle: 'y' })).toThrow(
      /point 0 is \(1, NaN\)/,
    );
  });
});

describe('heatmapSpec', () => {
  it('puts cell edges halfway between centres', () => {
    expect(cellEdges([0, 1, 3])).toEqual([-0.5, 0.5, 2, 4]);
    expect(cellEdges([2])).toEqual([1.5, 2.5]);
    expect(() => cellEdges([0, 1, 1], 'x')).toThrow(/x must increase strictly, but x\[2\] = 1/);
  });

  it('renders one cell per value, row j at y[j] (up), with overlaid points', async () => {
    const nx = 4;
    const ny = 3;
    const values = new Float32Array(nx * ny).fill(0.5);
    values[(ny - 1) * nx + 0] = 1; // top left: the largest value
    values[nx - 1] = 0; // bottom right: the smallest
    const svg = await renderSvg(
      heatmapSpec({
        values,
        x: [0, 1, 2, 3],
        y: [10, 20, 30],
        xTitle: 'x1',
        yTitle: 'x2',
        colorTitle: 'p(class 1)',
        points: [
          { x: 0.2, y: 12, group: 'class 0' },
          { x: 2.5, y: 28, group: 'class 1' },
        ],
        title: 'Toy problem',
      }),
    );
    const cells = markPaths(svg, 'cells');
    expect(cells.length).toBe(nx * ny);
    expect(markPaths(svg, 'points').length).toBe(2);
    // viridis runs from #440154 (low) to #fde725 (high); find where those two cells were drawn
    const at = (fill: string) => {
      const p = cells.find((c) => c.includes(`fill="${fill}"`));
      expect(p, `a cell filled ${fill}`).toBeDefined();
      const m = /d="M([-\d.]+),([-\d.]+)/.exec(p!)!;
      return [Number(m[1]), Number(m[2])];
    };
    const [hx, hy] = at('rgb(253, 231, 37)');
    const [lx, ly] = at('rgb(68, 1, 84)');
    expect(hx).toBeLessThan(lx); // high cell is left of the low cell
    expect(hy).toBeLessThan(ly); // and above it (SVG y grows downwards)
    const t = texts(svg);
    for (const s of ['Toy problem', 'x1', 'x2', 'p(class 1)', 'class 0', 'class 1']) expect(t).toContain(s);
  });

  it('says what is wrong with bad input', () => {
    const base = { x: [0, 1], y: [0, 1, 2], xTitle: 'x', yTitle: 'y' };
    expect(() => heatmapSpec({ ...base, values: [1, 2, 3, 4] })).toThrow(
      /values has 4 entries; x and y make a 3 x 2 grid/,
    );
    expect(() => heatmapSpec({ ...base, values: [1, 2, 3, 4, 5, Number.NaN] })).toThrow(/values\[5\] is NaN/);
    expect(() => heatmapSpec({ ...base, x: [], values: [] })).toThrow(/x has no coordinates/);
  });
});

describe('imageGrid', () => {
  it('tiles images row by row with padding, optionally stretched to [0, 1]', () => {
    const im = (f: (r: number, c: number) => number) =>
      Float32Array.from({ length: 6 }, (_, i) => f(Math.floor(i / 3), i % 3));
    const images = [im((r, c) => 0.1 * r + 0.01 * c), im((r, c) => 2 + 4 * r + c), im(() => 7)];
    const plain = imageGrid(images.slice(0, 1), { rows: 2, cols: 2, width: 3, height: 2, pad: 1, padValue: 0.25 });
    expect([plain.width, plain.height]).toEqual([2 * 4 + 1, 2 * 3 + 1]);
    const g = imageGrid(images, { rows: 2, cols: 2, width: 3, height: 2, pad: 1, normalize: true });
    const px = (grid: typeof g, y: number, x: number) => grid.pixels[y * grid.width + x];
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) {
        expect(px(plain, 1 + r, 1 + c)).toBeCloseTo(0.1 * r + 0.01 * c, 6); // tile (0, 0), as it is
        expect(px(g, 1 + r, 1 + c)).toBeCloseTo((0.1 * r + 0.01 * c) / 0.12, 5); // stretched: max is 0.12
        expect(px(g, 1 + r, 5 + c)).toBeCloseTo((4 * r + c) / 6, 5); // tile (0, 1)
        expect(px(g, 4 + r, 1 + c)).toBe(0.5); // tile (1, 0): constant image
        expect(px(g, 4 + r, 5 + c)).toBe(1); // tile (1, 1): empty, padding
      }
    }
    expect(px(plain, 0, 0)).toBe(0.25);
    expect(px(plain, 3, 2)).toBe(0.25); // the row between tiles
    expect(px(plain, 1, 4)).toBe(0.25); // the column between tiles
  });

  it('says what is wrong with bad input', () => {
    const o = { rows: 1, cols: 2, width: 2, height: 2 };
    const four = new Float32Array(4);
    expect(() => imageGrid([four, four, four], o)).toThrow(/3 images do not fit in 1 x 2 tiles/);
    expect(() => imageGrid([new Float32Array(3)], o)).toThrow(/image 0 has 3 pixels, expected 2 x 2 = 4/);
    expect(() => imageGrid([four], { ...o, pad: -1 })).toThrow(/pad -1/);
  });
});

describe('gridToPng', () => {
  it('round-trips grey floats, upscaled by nearest neighbour', () => {
    const w = 5;
    const h = 3;
    const f = Float32Array.from({ length: w * h }, (_, i) => i / (w * h - 1));
    f[0] = -0.3; // clamped to 0
    f[1] = 1.7; // clamped to 1
    const d = decodePng(gridToPng(f, { width: w, height: h, channels: 1, scale: 3 }));
    expect([d.width, d.height, d.channels]).toEqual([15, 9, 1]);
    for (let y = 0; y < 9; y++) {
      for (let x = 0; x < 15; x++) {
        const v = f[Math.floor(y / 3) * w + Math.floor(x / 3)];
        expect(d.data[y * 15 + x]).toBe(Math.round(Math.min(1, Math.max(0, v)) * 255));
      }
    }
  });

  it('round-trips RGB bytes as they are', () => {
    const r = rng(3);
    const bytes = Uint8Array.from({ length: 7 * 4 * 3 }, () => Math.floor(r.u() * 256));
    const d = decodePng(gridToPng(bytes, { width: 7, height: 4, channels: 3 }));
    expect([d.width, d.height, d.channels]).toEqual([7, 4, 3]);
    expect([...d.data]).toEqual([...bytes]);
  });

  it('computes the CRC-32 that zlib does', () => {
    const r = rng(4);
    const bytes = Uint8Array.from({ length: 1000 }, () => Math.floor(r.u() * 256));
    expect(crc32(bytes)).toBe(zlib.crc32(bytes));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('says what is wrong with bad input', () => {
    expect(() => gridToPng(new Float32Array(5), { width: 2, height: 2, channels: 1 })).toThrow(
      /5 values for a 2 x 2 x 1 grid \(4\)/,
    );
    expect(() => gridToPng(new Float32Array([0, Number.NaN]), { width: 2, height: 1, channels: 1 })).toThrow(
      /pixel value 1 is NaN/,
    );
    expect(() => gridToPng(new Uint8Array(4), { width: 2, height: 2, channels: 1, scale: 1.5 })).toThrow(/scale 1.5/);
    expect(() => gridToPng(new Uint8Array(8), { width: 2, height: 2, channels: 2 as 1 })).toThrow(/channels 2/);
  });
});

describe('rendering', () => {
  it('draws the text into the PNG, at the requested scale', async () => {
    const svg = await renderSvg(scatterSpec({ points: clusters(30, 2), xTitle: 'PC 1', yTitle: 'PC 2', title: 'PCA' }));
    const [w, h] = [1, 2].map((i) => Number(/width="(\d+)" height="(\d+)"/.exec(svg)![i]));
    const png = decodePng(svgToPng(svg, { scale: 2 }));
    expect([png.width, png.height]).toEqual([2 * w, 2 * h]);
    // the same figure without its text: the labels, titles and legend must account for many pixels
    const bare = decodePng(svgToPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''), { scale: 2 }));
    let differ = 0;
    for (let i = 0; i < png.data.length; i += png.channels) if (png.data[i] !== bare.data[i]) differ++;
    expect(differ).toBeGreaterThan(1000);
  });

  it('says so when WEIGHTGEN_FONT names no file', () => {
    process.env.WEIGHTGEN_FONT = join(dir, 'no-such-font.ttf');
    try {
      expect(() => svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')).toThrow(
        /WEIGHTGEN_FONT=.*no-such-font.ttf: no such file/,
      );
    } finally {
      delete process.env.WEIGHTGEN_FONT;
    }
  });

  it('fails with the compiler message on a broken spec', async () => {
    const broken = { mark: 'bar', encoding: { x: { field: 'a', type: 'nope' } } } as unknown as TopLevelSpec;
    await expect(renderSvg(broken)).rejects.toThrow(/does not compile/);
  });

  it('writes .svg and .png atomically, and one example of each figure', async () => {
    const r = rng(5);
    const acc = (m: number, s: number) => Array.from({ length: 500 }, () => Math.min(1, m + s * r.normal()));
    const steps = Array.from({ length: 50 }, (_, i) => i + 1);
    const curve = (a: number) => steps.map((t) => a / Math.sqrt(t) + 0.1);
    const grid = 40;
    const coords = Array.from({ length: grid }, (_, i) => -2 + (4 * i) / (grid - 1));
    const values = new Float32Array(grid * grid);
    for (let j = 0; j < grid; j++) {
      for (let i = 0; i < grid; i++) values[j * grid + i] = 1 / (1 + Math.exp(-3 * (coords[i] * coords[j] + 0.3)));
    }
    const figures = {
      histogram: histogramSpec({
        series: [
          { name: 'lambda = 1e3', values: acc(0.9, 0.03) },
          { name: 'lambda = 1e5', values: acc(0.8, 0.06) },
        ],
        xTitle: 'test accuracy',
        bins: 30,
        title: 'Generated networks',
      }),
      'histogram-facet': histogramSpec({
        series: [
          { name: 'lambda = 1e3', values: acc(0.9, 0.03) },
          { name: 'lambda = 1e5', values: acc(0.8, 0.06) },
        ],
        xTitle: 'test accuracy',
        layout: 'facet',
        title: 'Generated networks',
      }),
      line: lineSpec({
        series: [
          { name: 'train', x: steps, y: curve(1), band: { lo: curve(0.8), hi: curve(1.2) } },
          { name: 'test', x: steps, y: curve(1.3) },
        ],
        xTitle: 'epoch',
        yTitle: 'loss',
        logY: true,
        title: 'Loss',
      }),
      scatter: scatterSpec({
        points: clusters(300, 6),
        xTitle: 't-SNE 1',
        yTitle: 't-SNE 2',
        title: 't-SNE of weights',
      }),
      heatmap: heatmapSpec({
        values,
        x: coords,
        y: coords,
        xTitle: 'x1',
        yTitle: 'x2',
        colorTitle: 'p(class 1)',
        domain: [0, 1],
        points: Array.from({ length: 40 }, () => {
          const [x, y] = [4 * r.u() - 2, 4 * r.u() - 2];
          return { x, y, group: x * y + 0.3 > 0 ? 'class 1' : 'class 0' };
        }),
        title: 'Toy problem',
      }),
    };
    for (const [name, spec] of Object.entries(figures)) {
      const written = await writeFigure(join(dir, name), spec);
      expect(written).toEqual([join(dir, `${name}.svg`), join(dir, `${name}.png`)]);
      expect(readFileSync(join(dir, `${name}.svg`), 'utf8')).toMatch(/^<svg/);
      decodePng(readFileSync(join(dir, `${name}.png`)));
    }
    expect(await writeFigure(join(dir, 'svg-only'), figures.scatter, { png: false })).toEqual([
      join(dir, 'svg-only.svg'),
    ]);
    expect(existsSync(join(dir, 'svg-only.png'))).toBe(false);
    // digits-like tiles: a ring at a different radius in each
    const tiles = Array.from({ length: 12 }, (_, k) =>
      Float32Array.from({ length: 28 * 28 }, (_, i) => {
        const d = Math.hypot((i % 28) - 13.5, Math.floor(i / 28) - 13.5);
        return Math.exp(-((d - 3 - k) ** 2) / 4);
      }),
    );
    const g = imageGrid(tiles, { rows: 3, cols: 4, width: 28, height: 28, pad: 2, normalize: true });
    writeFileAtomic(
      join(dir, 'image-grid.png'),
      gridToPng(g.pixels, { width: g.width, height: g.height, channels: 1, scale: 3 }),
    );
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
