// Image grids: small single-channel images tiled into one pixel array, for gridToPng in src/io/render.ts. Not
// a Vega-Lite spec: a grid of filters or digits is pixels, drawn as they are.

import { checkFinite } from './figures-base.js';

export interface ImageGridOptions {
  rows: number;
  cols: number;
  /** Size of every image. */
  width: number;
  height: number;
  /** Pixels between images and around the grid (default 1). */
  pad?: number;
  /** Value of the padding and of empty tiles (default 1: white). */
  padValue?: number;
  /** Stretch each image to [0, 1] on its own (min -> 0, max -> 1; a constant image -> 0.5). Default false. */
  normalize?: boolean;
}

/**
 * Tiles equal-size single-channel images (filters, digits) row by row into one (H, W) array, for gridToPng in
 * src/io/render.ts. images[k] is (height, width) row-major and lands in tile (k / cols, k % cols); fewer images
 * than rows * cols leave the last tiles as padding.
 */
export function imageGrid(
  images: ArrayLike<number>[],
  o: ImageGridOptions,
): { pixels: Float32Array; width: number; height: number } {
  const fn = 'imageGrid';
  const pad = o.pad ?? 1;
  for (const [k, v, min] of [
    ['rows', o.rows, 1],
    ['cols', o.cols, 1],
    ['width', o.width, 1],
    ['height', o.height, 1],
    ['pad', pad, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${fn}: ${k} ${v} must be a whole number >= ${min}`);
  }
  if (images.length > o.rows * o.cols) {
    throw new Error(`${fn}: ${images.length} images do not fit in ${o.rows} x ${o.cols} tiles; add rows or cols`);
  }
  const size = o.width * o.height;
  const W = o.cols * (o.width + pad) + pad;
  const H = o.rows * (o.height + pad) + pad;
  const out = new Float32Array(W * H).fill(o.padValue ?? 1); // (H, W)
  images.forEach((img, k) => {
    if (img.length !== size) {
      throw new Error(`${fn}: image ${k} has ${img.length} pixels, expected ${o.height} x ${o.width} = ${size}`);
    }
    checkFinite(fn, `image ${k}`, img);
    let a = 0;
    let b = 1;
    if (o.normalize) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < size; i++) {
        lo = Math.min(lo, img[i]);
        hi = Math.max(hi, img[i]);
      }
      [a, b] = hi > lo ? [-lo / (hi - lo), 1 / (hi - lo)] : [0.5, 0]; // v -> a + b v
    }
    const top = pad + Math.floor(k / o.cols) * (o.height + pad);
    const left = pad + (k % o.cols) * (o.width + pad);
    for (let r = 0; r < o.height; r++) {
      for (let c = 0; c < o.width; c++) out[(top + r) * W + left + c] = a + b * img[r * o.width + c];
    }
  });
  return { pixels: out, width: W, height: H };
}
