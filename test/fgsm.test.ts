// The FGSM experiment (analysis/fgsm.ts) and its kernel (ops/fgsm.ts):
// - the perturbation against its float64 reference, clipped to the pixel range, over a grid of eps;
// - the input gradient through a tiny conv target net against central differences of a float64 forward
//   written here from the description (one network, and the sum over two);
// - on hand-built linear two-class networks, where the attack can be worked out: the eps found for the
//   single network is the first grid point above margin / (the L1 norm of the weight difference over the
//   pixels that are free to move: clipped pixels do not count), and the ensemble's is where a float64
//   replay of the same adversarial images first gets a majority for the target; images the network gets
//   wrong are not attacked;
// - the targets, the CDF helper and the JSON form; errors.

import { beforeAll, describe, expect, it } from 'vitest';
import { EPS_GRID, epsToJson, fgsm, fgsmTargets, fooledFraction, inputGradient } from '../src/analysis/fgsm.js';
import type { GeneratedLayer, TargetSpec } from '../src/models/target-net.js';
import { convGeometry, cpuConv2d } from '../src/ops/conv.js';
import { cpuFgsmPerturb, fgsmPerturb } from '../src/ops/fgsm.js';
import { cpuLogSoftmax } from '../src/ops/softmax.js';
import { cpuMaxPool2d, poolGeometry } from '../src/ops/pool.js';
import { disposeAll, noGrad, Rng, scope, scopeAsync, tensor } from '../src/tensor/index.js';
import { cpuRng, expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('fgsmPerturb', () => {
  it('moves each pixel by eps against or along its gradient sign, clipped to the range, for every eps', async () => {
    const n = 5 * 7;
    const rng = cpuRng(1);
    const x = Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : i % 7 === 1 ? 1 : rng.next()));
    const g = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : rng.next() - 0.5)); // some exact zeros
    const eps = [0, 0.1, 0.24, 1.5];
    const got = await scope(() => fgsmPerturb(tensor(x, [5, 7, 1]), tensor(g, [5, 7, 1]), eps)).data();
    expectClose(got, cpuFgsmPerturb(x, g, eps), 0, 1e-7, 'perturbed');
    expect(Math.min(...got)).toBe(0);
    expect(Math.max(...got)).toBe(1);
    // another range
    const r = [-0.5, 0.5] as const;
    const other = await scope(() => fgsmPerturb(tensor(x, [n]), tensor(g, [n]), [0.3], r)).data();
    expectClose(other, cpuFgsmPerturb(x, g, [0.3], r), 0, 1e-7, 'range [-0.5, 0.5]');
  });

  it('says what is wrong with its input', () => {
    scope(() => {
      expect(() => fgsmPerturb(tensor([1, 2], [2]), tensor([1, 2, 3], [3]), [0.1])).toThrow(/must be f32 of one shape/);
      expect(() => fgsmPerturb(tensor([1], [1]), tensor([1], [1]), [])).toThrow(/one or more finite eps/);
    });
  });
});

// ---- the input gradient through a tiny conv net --------------------------------------------------------

// input 6x6x1 -> conv 2 (k3, SAME, ReLU, max-pool 2) -> 3x3x2 -> dense 4 (ReLU) -> dense 3 (the logits)
const TINY: TargetSpec = {
  name: 'tiny',
  input: [6, 6, 1],
  classes: 3,
  layers: [
    { kind: 'conv', filters: 2, kernel: 3, pool: 2, hidden: 1 },
    { kind: 'dense', units: 4, hidden: 1 },
    { kind: 'dense', units: 3, hidden: 1 },
  ],
};
/** The layers' shapes for G networks: conv kernel (G, 2, 9) and bias, dense (G, 4, 18), the logits (G, 4, 3). */
const TINY_SHAPES = (G: number) => [
  [
    [G, 2, 9],
    [G, 2],
  ],
  [
    [G, 4, 18],
    [G, 4],
  ],
  [
    [G, 4, 3],
    [G, 3],
  ],
];

/** Network g's logits (n, 3) for images x (n, 6, 6, 1), in float64 from the description. */
function cpuTinyLogits(w: Float64Array[], g: number, x: Float64Array, n: number): Float64Array {
  const part = (t: Float64Array, per: number) => t.subarray(g * per, (g + 1) * per);
  const [k1, b1, k2, b2, k3, b3] = [
    part(w[0]!, 18),
    part(w[1]!, 2),
    part(w[2]!, 72),
    part(w[3]!, 4),
    part(w[4]!, 12),
    part(w[5]!, 3),
  ];
  // conv: rows (f, (kh, kw, ci)) -> HWIO
  const hwio = Float64Array.from({ length: 18 }, (_, e) => k1[(e % 2) * 9 + Math.floor(e / 2)]!);
  const cg = convGeometry([1, n, 6, 6, 1], [1, 3, 3, 1, 2], { padding: 'SAME' });
  const conv = cpuConv2d(x, hwio, b1, cg).map((v) => Math.max(v, 0));
  const pooled = cpuMaxPool2d(conv, poolGeometry([n, 6, 6, 2], { size: 2, padding: 'SAME' })).y; // (n, 3, 3, 2)
  const logits = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const h = Array.from({ length: 4 }, (_, u) => {
      let s = b2[u]!;
      for (let f = 0; f < 18; f++) s += k2[u * 18 + f]! * pooled[i * 18 + f]!;
      return Math.max(s, 0);
    });
    for (let c = 0; c < 3; c++) logits[i * 3 + c] = b3[c]! + h.reduce((s, hu, u) => s + hu * k3[u * 3 + c]!, 0);
  }
  return logits;
}

/** sum over networks and images of log p_g(target_i | x_i), float64. */
function cpuObjective(w: Float64Array[], G: number, x: Float64Array, n: number, targets: number[]): number {
  let s = 0;
  for (let g = 0; g < G; g++) {
    const lp = cpuLogSoftmax(cpuTinyLogits(w, g, x, n), 3);
    targets.forEach((t, i) => {
      s += lp[i * 3 + t]!;
    });
  }
  return s;
}

describe('inputGradient', () => {
  for (const G of [1, 2]) {
    it(`matches central differences of a float64 forward (${G} network${G > 1 ? 's, summed' : ''})`, async () => {
      const n = 3;
      const rng = cpuRng(40 + G);
      const w = TINY_SHAPES(G)
        .flat()
        .map((s) =>
          Float64Array.from(
            Float32Array.from(
              rng.uniform(
                s.reduce((p, d) => p * d, 1),
                -1,
                1,
              ),
            ),
          ),
        );
      const x = Float64Array.from(Float32Array.from(rng.uniform(n * 36, 0, 1)));
      const targets = [0, 2, 1];
      const got = await scope(() => {
        const t = TINY_SHAPES(G)
          .flat()
          .map((s, i) => tensor(w[i]!, s));
        const layers: GeneratedLayer[] = [0, 1, 2].map((l) => ({ kernel: t[2 * l]!, bias: t[2 * l + 1]! }));
        return inputGradient(TINY, layers, tensor(x, [n, 6, 6, 1]), targets);
      }).data();
      const h = 1e-4;
      const numeric = Array.from(x, (_, e) => {
        const up = Float64Array.from(x);
        const down = Float64Array.from(x);
        up[e]! += h;
        down[e]! -= h;
        return (cpuObjective(w, G, up, n, targets) - cpuObjective(w, G, down, n, targets)) / (2 * h);
      });
      // f32 on the GPU against float64 differences (as test/gradcheck.ts)
      expectClose(got, numeric, 1e-3, 1e-4, 'd sum log p_t / dx');
      expect(numeric.some((v) => Math.abs(v) > 1e-2)).toBe(true); // not trivially zero
    });
  }

  it('refuses to run with grad mode off', () => {
    scope(() => {
      const layers = TINY_SHAPES(1).map(([k, b]) => ({
        kernel: tensor(new Float32Array(k!.reduce((p, d) => p * d)), k),
        bias: tensor(new Float32Array(b!.reduce((p, d) => p * d)), b),
      }));
      expect(() => noGrad(() => inputGradient(TINY, layers, tensor(new Float32Array(36), [1, 6, 6, 1]), [0]))).toThrow(
        /grad mode is off/,
      );
    });
  });
});

// ---- the attack on linear two-class networks -------------------------------------------------------------

// 4x4 images, two classes, logits = x W + b: the last layer alone (W (16, 2))
const LINEAR: TargetSpec = {
  name: 'linear',
  input: [4, 4, 1],
  classes: 2,
  layers: [{ kind: 'dense', units: 2, hidden: 1 }],
};

interface Linear {
  w: Float64Array; // (16, 2)
  b: Float64Array; // (2)
}

const zdiff = (net: Linear, x: ArrayLike<number>, y: number) => {
  const t = 1 - y;
  let s = net.b[t]! - net.b[y]!;
  for (let j = 0; j < 16; j++) s += x[j]! * (net.w[j * 2 + t]! - net.w[j * 2 + y]!);
  return s; // z_t - z_y: the target wins when > 0
};

function layersOf(nets: Linear[]): GeneratedLayer[] {
  const G = nets.length;
  return [
    {
      kernel: tensor(Float64Array.from(nets.flatMap((n) => Array.from(n.w))), [G, 16, 2]),
      bias: tensor(Float64Array.from(nets.flatMap((n) => Array.from(n.b))), [G, 2]),
    },
  ];
}

describe('fgsm on linear networks', () => {
  it('finds margin / |w_t - w_y|_1 over the free pixels for one network, and the majority for the ensemble', async () => {
    const rng = cpuRng(5);
    const net = (): Linear => ({
      w: Float64Array.from(Float32Array.from(rng.uniform(32, -1, 1))),
      b: Float64Array.from(Float32Array.from(rng.uniform(2, -1, 1))),
    });
    const single = net();
    const members = [net(), net(), net()];
    const N = 40;
    const grid = Array.from({ length: 41 }, (_, i) => i * 0.005); // 0 to 0.2
    // pixels 0..11 near 0.5, free to move; pixels 12..15 at the edge the single network's gradient pushes
    // towards (its sign is that of w_t - w_y), mostly, so that the clip holds them there
    const labels: number[] = [];
    const images = new Float32Array(N * 16);
    for (let i = 0; i < N; i++) {
      const x = images.subarray(i * 16, (i + 1) * 16);
      const far = i % 4 === 3; // every fourth image as far from the target as the free pixels allow
      const grey = Array.from({ length: 12 }, () => 0.26 + 0.48 * rng.next());
      // free pixels (favouring y, when far); at the edges that favour the target of label y; kept if the
      // network still predicts y (else mid-grey)
      const stuck = (y: number) => {
        const u = (j: number) => single.w[j * 2 + 1 - y]! - single.w[j * 2 + y]!;
        for (let j = 0; j < 12; j++) x[j] = far ? 0.5 + Math.sign(-u(j)) * (0.19 + grey[j]! / 10) : grey[j]!;
        for (let j = 12; j < 16; j++) x[j] = u(j) > 0 ? 1 : 0;
        return zdiff(single, x, y) < 0;
      };
      const y = stuck(0) ? 0 : stuck(1) ? 1 : -1;
      if (y < 0) x.fill(0.5, 12);
      const label = y >= 0 ? y : zdiff(single, x, 0) > 0 ? 1 : 0;
      labels.push(i === 0 ? 1 - label : label); // image 0 has the wrong label: it is not attacked
    }
    const r = await scopeAsync(async () =>
      fgsm({
        spec: LINEAR,
        single: layersOf([single]),
        ensemble: layersOf(members),
        images,
        labels: Int32Array.from(labels),
        rng: new Rng(3),
        grid,
      }),
    );
    expect(Array.from(r.attacked)).toEqual(Array.from({ length: N - 1 }, (_, i) => i + 1));
    expect(Array.from(r.targets)).toEqual(Array.from(r.attacked, (i) => 1 - labels[i]!));
    let finite = 0;
    let blocked = 0;
    r.attacked.forEach((img, a) => {
      const x = Float64Array.from(images.subarray(img * 16, (img + 1) * 16));
      const y = labels[img]!;
      const u = Array.from({ length: 16 }, (_, j) => single.w[j * 2 + 1 - y]! - single.w[j * 2 + y]!);
      // a pixel at the edge its sign pushes towards is held there by the clip: only the others move
      const movable = u.filter((v, j) => (v > 0 && x[j]! < 1) || (v < 0 && x[j]! > 0));
      blocked += 16 - movable.length;
      const star = -zdiff(single, x, y) / movable.reduce((s, v) => s + Math.abs(v), 0); // margin / L1 norm
      const got = r.single[a]!;
      if (star < grid.at(-1)! - 1e-4) {
        finite++;
        expect(got - star, `image ${img}: eps ${got} for an analytic ${star}`).toBeGreaterThan(0);
        expect(got - star, `image ${img}: eps ${got} for an analytic ${star}`).toBeLessThanOrEqual(0.005 + 1e-6);
      } else if (star > grid.at(-1)! + 1e-4) {
        expect(got).toBe(Number.POSITIVE_INFINITY);
      }
      // the ensemble, replayed in float64 on the same adversarial images (clipped the same way)
      const want = grid.find((eps) => {
        const adv = cpuFgsmPerturb(x, u, [eps]);
        return members.filter((m) => zdiff(m, adv, y) > 0).length >= 2;
      });
      const near = grid.some((eps) => members.some((m) => Math.abs(zdiff(m, cpuFgsmPerturb(x, u, [eps]), y)) < 1e-4));
      if (!near) expect(r.ensemble![a], `ensemble, image ${img}`).toBe(want ?? Number.POSITIVE_INFINITY);
    });
    expect(finite).toBeGreaterThan(5); // the case is not vacuous
    expect(blocked).toBeGreaterThan(N); // nor is the clipping
    expect(Array.from(r.single).some((e) => e === Number.POSITIVE_INFINITY)).toBe(true);
  });
});

describe('targets, the CDF and the JSON', () => {
  it('draws targets other than the label, each about equally often', () => {
    const labels = Int32Array.from({ length: 9000 }, (_, i) => i % 10);
    const t = fgsmTargets(labels, 10, new Rng(1));
    const offsets = new Array(10).fill(0);
    t.forEach((v, i) => {
      offsets[(v - labels[i]! + 10) % 10]++;
    });
    expect(offsets[0]).toBe(0);
    for (let r = 1; r < 10; r++) expect(Math.abs(offsets[r] - 1000)).toBeLessThan(150); // ~5 sigma of binomial(9000, 1/9)
  });

  it('gives the fraction fooled at each eps, and null for no eps in JSON', () => {
    const need = [0.01, 0.03, Number.POSITIVE_INFINITY, 0, 0.03];
    expect(fooledFraction(need, [0, 0.01, 0.02, 0.03, 0.24])).toEqual([0.2, 0.4, 0.4, 0.8, 0.8]);
    expect(fooledFraction([], [0, 0.1])).toEqual([0, 0]);
    expect(epsToJson(need)).toEqual([0.01, 0.03, null, 0, 0.03]);
    expect(EPS_GRID.length).toBe(25);
    expect(EPS_GRID.at(-1)).toBeCloseTo(0.24, 12);
  });

  it('refuses a grid that is not ascending', async () => {
    const layers = scope(() => layersOf([{ w: new Float64Array(32), b: new Float64Array(2) }]));
    await expect(
      fgsm({
        spec: LINEAR,
        single: layers,
        images: new Float32Array(16),
        labels: [0],
        rng: new Rng(1),
        grid: [0, 0.2, 0.1],
      }),
    ).rejects.toThrow(/ascending, got \[0,0.2,0.1\]/);
    disposeAll(layers);
  });
});
