// The float64 CPU references of the 2-D convolution (src/ops/conv.ts), in the grouped layout (G = 1 for
// conv2d): the forward and the input, weight and bias gradients, each a direct loop over every tap. The
// kernels are tested against these (test/conv.test.ts) and they ship in `weightgen/reference`. Not here:
// anything that runs on the GPU.

import type { ConvGeometry } from './conv-geometry.js';

/** Calls f(xAt, wAt, yAt) for every (group, image, output pixel, tap) whose input pixel is in the image. */
function eachTap(g: ConvGeometry, f: (xAt: number, wAt: number, yAt: number) => void): void {
  for (let gi = 0; gi < g.groups; gi++) {
    for (let n = 0; n < g.n; n++) {
      for (let oh = 0; oh < g.outH; oh++) {
        for (let ow = 0; ow < g.outW; ow++) {
          const yAt = (((gi * g.n + n) * g.outH + oh) * g.outW + ow) * g.cOut;
          for (let kh = 0; kh < g.kH; kh++) {
            const ih = oh * g.strideH - g.padTop + kh;
            if (ih < 0 || ih >= g.inH) continue;
            for (let kw = 0; kw < g.kW; kw++) {
              const iw = ow * g.strideW - g.padLeft + kw;
              if (iw < 0 || iw >= g.inW) continue;
              const xAt = (((gi * g.n + n) * g.inH + ih) * g.inW + iw) * g.cIn;
              const wAt = ((gi * g.kH + kh) * g.kW + kw) * g.cIn * g.cOut;
              f(xAt, wAt, yAt);
            }
          }
        }
      }
    }
  }
}

/** y = x (*) w + bias. x (G, N, H, W, Cin), w (G, KH, KW, Cin, Cout), bias (G, Cout) or null. */
export function cpuConv2d(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  g: ConvGeometry,
): Float64Array {
  const y = new Float64Array(g.groups * g.n * g.outH * g.outW * g.cOut);
  if (bias) {
    for (let i = 0; i < y.length; i++) {
      const gi = Math.floor(i / (g.n * g.outH * g.outW * g.cOut));
      y[i] = bias[gi * g.cOut + (i % g.cOut)]!;
    }
  }
  eachTap(g, (xAt, wAt, yAt) => {
    for (let ci = 0; ci < g.cIn; ci++) {
      const xv = x[xAt + ci]!;
      for (let co = 0; co < g.cOut; co++) y[yAt + co] += xv * w[wAt + ci * g.cOut + co]!;
    }
  });
  return y;
}

/** dx (G, N, H, W, Cin) from dy (G, N, OH, OW, Cout) and w. */
export function cpuConv2dBackwardInput(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const dx = new Float64Array(g.groups * g.n * g.inH * g.inW * g.cIn);
  eachTap(g, (xAt, wAt, yAt) => {
    for (let ci = 0; ci < g.cIn; ci++) {
      let s = 0;
      for (let co = 0; co < g.cOut; co++) s += dy[yAt + co]! * w[wAt + ci * g.cOut + co]!;
      dx[xAt + ci] += s;
    }
  });
  return dx;
}

/** dw (G, KH, KW, Cin, Cout) from x and dy. */
export function cpuConv2dBackwardWeight(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const dw = new Float64Array(g.groups * g.kH * g.kW * g.cIn * g.cOut);
  eachTap(g, (xAt, wAt, yAt) => {
    for (let ci = 0; ci < g.cIn; ci++) {
      const xv = x[xAt + ci]!;
      for (let co = 0; co < g.cOut; co++) dw[wAt + ci * g.cOut + co] += xv * dy[yAt + co]!;
    }
  });
  return dw;
}

/** dbias (G, Cout): dy summed over images and output pixels. */
export function cpuConv2dBackwardBias(dy: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const db = new Float64Array(g.groups * g.cOut);
  const per = g.n * g.outH * g.outW * g.cOut;
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / per) * g.cOut + (i % g.cOut)] += dy[i]!;
  return db;
}
