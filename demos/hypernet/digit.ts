// The hypernet demo's drawing: a canvas a person draws a digit on (mouse, touch or pen, through pointer
// events), and the preprocessing that turns the drawing into an MNIST image as MNIST's own digits were made:
// the digit's bounding box scaled (aspect kept, pixels area-averaged) to fit a 20 x 20 box, then placed in a
// 28 x 28 field with its centre of mass at the centre. Without it a digit drawn small or in a corner is
// nothing the networks have seen. Not here: classifying it (main.ts).

export const MNIST_SIZE = 28;
const BOX = 20; // MNIST's digits fit a 20 x 20 box inside the 28 x 28 field

/**
 * An MNIST image (28 * 28, row-major, ink 1) from an ink map (height, width) in [0, 1], or null when nothing
 * is above `threshold`.
 */
export function mnistDigit(
  ink: ArrayLike<number>,
  width: number,
  height: number,
  threshold = 0.05,
): Float32Array | null {
  // the bounding box of the ink
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x]! <= threshold) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  if (x1 < 0) return null;
  const [bw, bh] = [x1 - x0 + 1, y1 - y0 + 1];
  const s = BOX / Math.max(bw, bh); // output pixels per input pixel
  const ow = Math.max(1, Math.round(bw * s));
  const oh = Math.max(1, Math.round(bh * s));
  // the box image (oh, ow): each pixel the mean of the input it covers, partly covered pixels weighed
  const box = new Float32Array(oh * ow);
  for (let r = 0; r < oh; r++) {
    const [ya, yb] = [y0 + r / s, Math.min(y0 + bh, y0 + (r + 1) / s)];
    for (let c = 0; c < ow; c++) {
      const [xa, xb] = [x0 + c / s, Math.min(x0 + bw, x0 + (c + 1) / s)];
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(ya); y < yb; y++) {
        const wy = Math.min(y + 1, yb) - Math.max(y, ya);
        for (let x = Math.floor(xa); x < xb; x++) {
          const w = wy * (Math.min(x + 1, xb) - Math.max(x, xa));
          sum += w * ink[y * width + x]!;
          area += w;
        }
      }
      box[r * ow + c] = area > 0 ? Math.min(1, sum / area) : 0;
    }
  }
  // its centre of mass goes to pixel (14, 14) (row, column indices), where MNIST's are: 13.99 and 14.01 on
  // average over the test set, +- 0.29
  let [m, mx, my] = [0, 0, 0];
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      const v = box[r * ow + c]!;
      m += v;
      mx += v * c;
      my += v * r;
    }
  }
  const dx = Math.round(MNIST_SIZE / 2 - mx / m);
  const dy = Math.round(MNIST_SIZE / 2 - my / m);
  const out = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      const [y, x] = [r + dy, c + dx];
      if (y >= 0 && y < MNIST_SIZE && x >= 0 && x < MNIST_SIZE) out[y * MNIST_SIZE + x] = box[r * ow + c]!;
    }
  }
  return out;
}

/** A canvas to draw on: white ink on black, as MNIST's digits; `onStroke` after each stroke ends. */
export class DrawPad {
  private readonly ctx: CanvasRenderingContext2D;
  private last: { x: number; y: number } | null = null;
  onStroke: () => void = () => {};

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly lineWidth = canvas.width / 13,
  ) {
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser gives no 2D canvas context, which the drawing pad needs');
    this.ctx = ctx;
    canvas.style.touchAction = 'none'; // a finger draws instead of scrolling the page
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.last = this.at(e);
      this.line(this.last, this.last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.last) return;
      const p = this.at(e);
      this.line(this.last, p);
      this.last = p;
    });
    const end = () => {
      if (!this.last) return;
      this.last = null;
      this.onStroke();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    this.clear();
  }

  clear(): void {
    this.ctx.fillStyle = 'black';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /** The ink (height, width) in [0, 1]: the red channel. */
  ink(): Float32Array {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const out = new Float32Array(width * height);
    for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i]! / 255;
    return out;
  }

  /** The pointer's position in canvas pixels (the canvas may be shown at another size). */
  private at(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) * this.canvas.width) / r.width,
      y: ((e.clientY - r.top) * this.canvas.height) / r.height,
    };
  }

  private line(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const c = this.ctx;
    c.strokeStyle = 'white';
    c.lineWidth = this.lineWidth;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(a.x, a.y);
    c.lineTo(b.x, b.y);
    c.stroke();
  }
}

/** Draws a (height, width) grey image in [0, 1] into a canvas of that size (scaled up by CSS, pixelated). */
export function drawGrey(canvas: HTMLCanvasElement, pixels: ArrayLike<number>, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  const img = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[i]!)));
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}
