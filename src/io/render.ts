// Figures to files in Node: a Vega-Lite spec (src/analysis/figures.ts) to SVG with vega and vega-lite
// headless, SVG to PNG with resvg, and pixel grids (filters, digits) straight to PNG with a small encoder.
// Not for the browser (a page embeds the spec itself), and no figure is drawn here: the specs say what to draw.
//
// vega (about 0.3 s to load) and resvg (a native binding) are loaded on first use, so commands that draw
// nothing do not pay for them.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from './files.js';

/** The spec as SVG text, laid out and drawn by vega without a browser. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  let compiled: ReturnType<typeof vegaLite.compile>;
  try {
    compiled = vegaLite.compile(spec);
  } catch (e) {
    throw new Error(`renderSvg: the Vega-Lite spec does not compile: ${(e as Error).message}`);
  }
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

// Text in the PNG: vega writes font-family="sans-serif"; resvg maps that to DejaVu Sans (Debian's
// fonts-dejavu-core) and falls back to any system font. WEIGHTGEN_FONT=path.ttf adds a font file.
const FONT_FAMILY = 'DejaVu Sans';

type Resvg = typeof import('@resvg/resvg-js');
let resvg: Resvg | undefined;
let fontsChecked = false;

function fontOptions() {
  const file = process.env.WEIGHTGEN_FONT;
  if (file && !existsSync(file)) throw new Error(`WEIGHTGEN_FONT=${file}: no such file; point it at a .ttf or .otf`);
  return {
    loadSystemFonts: true,
    fontFiles: file ? [file] : [],
    defaultFontFamily: FONT_FAMILY,
    sansSerifFamily: FONT_FAMILY,
  };
}

function loadResvg(): Resvg {
  if (resvg) return resvg;
  try {
    resvg = createRequire(import.meta.url)('@resvg/resvg-js') as Resvg;
  } catch (e) {
    throw new Error(
      `svgToPng: cannot load @resvg/resvg-js (${(e as Error).message}); run npm install. The .svg files need no PNG step.`,
    );
  }
  return resvg;
}

// resvg draws no text, silently, when it finds no font: fail loudly once instead of writing unlabelled plots.
function checkFonts(r: Resvg): void {
  if (fontsChecked) return;
  const probe =
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="2" y="16" font-family="sans-serif" font-size="16">Ag</text></svg>';
  const px = new r.Resvg(probe, { font: fontOptions() }).render().pixels; // (20, 40, 4) RGBA
  let ink = 0;
  for (let i = 3; i < px.length; i += 4) ink += px[i];
  if (ink === 0) {
    throw new Error(
      'svgToPng: resvg found no font, so the PNG would have no axis labels or titles. Install one ' +
        '(Debian: apt-get install fonts-dejavu-core) or set WEIGHTGEN_FONT=/path/to/font.ttf',
    );
  }
  fontsChecked = true;
}

/** SVG text to PNG bytes; scale 2 doubles the pixel size (sharper on screens and in documents). */
export function svgToPng(svg: string, o: { scale?: number } = {}): Uint8Array {
  const scale = o.scale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`svgToPng: scale ${scale} must be a number > 0`);
  const r = loadResvg();
  checkFonts(r);
  const fitTo = scale === 1 ? ({ mode: 'original' } as const) : ({ mode: 'zoom', value: scale } as const);
  const png = new r.Resvg(svg, { fitTo, font: fontOptions() }).render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * Renders spec to `<path>.svg` and, unless png is false, `<path>.png` at scale 2 (each written atomically).
 * Returns the paths written.
 */
export async function writeFigure(
  pathWithoutExt: string,
  spec: TopLevelSpec,
  o: { png?: boolean; scale?: number } = {},
): Promise<string[]> {
  const svg = await renderSvg(spec);
  writeFileAtomic(`${pathWithoutExt}.svg`, svg);
  if (o.png === false) return [`${pathWithoutExt}.svg`];
  writeFileAtomic(`${pathWithoutExt}.png`, svgToPng(svg, { scale: o.scale ?? 2 }));
  return [`${pathWithoutExt}.svg`, `${pathWithoutExt}.png`];
}

// ---------------------------------------------------------------------------------------------------------
// PNG encoder for pixel grids: 8-bit grey or RGB, no interlace, every row filter 0 (none), one IDAT chunk.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG and zlib use it) of bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length); // length, type, data, crc
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export interface GridPngOptions {
  width: number;
  height: number;
  /** 1: grey, 3: RGB (interleaved). */
  channels: 1 | 3;
  /** Each pixel becomes a scale x scale square (nearest neighbour), default 1. */
  scale?: number;
}

/**
 * PNG bytes of a pixel grid: pixels is (height, width, channels) row-major. Floats are in [0, 1] (clamped; 0 is
 * black), bytes are 0..255 as they are.
 */
export function gridToPng(pixels: Float32Array | Uint8Array, o: GridPngOptions): Uint8Array {
  const { width, height, channels } = o;
  const scale = o.scale ?? 1;
  for (const [k, v] of [
    ['width', width],
    ['height', height],
    ['scale', scale],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`gridToPng: ${k} ${v} must be a whole number >= 1`);
  }
  if (channels !== 1 && channels !== 3) throw new Error(`gridToPng: channels ${channels} must be 1 (grey) or 3 (RGB)`);
  if (pixels.length !== width * height * channels) {
    throw new Error(
      `gridToPng: ${pixels.length} values for a ${height} x ${width} x ${channels} grid (${width * height * channels})`,
    );
  }
  let bytes: Uint8Array;
  if (pixels instanceof Uint8Array) {
    bytes = pixels;
  } else {
    bytes = new Uint8Array(pixels.length);
    for (let i = 0; i < pixels.length; i++) {
      const v = pixels[i];
      if (Number.isNaN(v)) throw new Error(`gridToPng: pixel value ${i} is NaN`);
      bytes[i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  const W = width * scale;
  const H = height * scale;
  const stride = 1 + W * channels; // filter byte, then the row
  const raw = new Uint8Array(H * stride); // filter 0 everywhere (already zero)
  for (let y = 0; y < H; y++) {
    const src = Math.floor(y / scale) * width * channels;
    const dst = y * stride + 1;
    for (let x = 0; x < W; x++) {
      const s = src + Math.floor(x / scale) * channels;
      for (let c = 0; c < channels; c++) raw[dst + x * channels + c] = bytes[s + c];
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, W);
  v.setUint32(4, H);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // colour type: grey | RGB
  // compression 0, filter method 0, interlace 0
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
