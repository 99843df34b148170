// One full training step of the MNIST hypernetwork (PAPERS.md section 2, src/models/hypernet.ts): z -> the
// extractor and the four weight generators -> gauge fixing -> B target networks, each on its own n images ->
// mean cross-entropy and the L1 Kozachenko-Leonenko entropy -> loss = 1000 * CE - H -> backward -> Adam
// (lr 3e-4, then lr *= 0.99998), the loss read back. At the `cpu` preset's batch (8 z x 8 images) and the
// paper's (32 x 32).
//
// Ours is hypernetLoss as training runs it: all target networks in one pass of the grouped kernels. TF.js has
// no grouped convolution, so its side is the same model written in plain tf ops (no tf.layers): NHWC,
// tf.conv2d and tf.maxPool, batch norm from tf.moments (and tf.batchNorm), the gauge fixing as the spec says, the target
// networks in a loop over the networks, the gradient from tf.variableGrads and the update from
// tf.train.adam. TF.js-wasm has no Conv2DBackpropFilter kernel; there (only) the convolutions are a
// tf.customGrad whose filter gradient is itself a convolution (filterGrad below) and whose input gradient is
// tf.conv2dTranspose, so that wasm can take the step at all.
//
// Both sides start from the same weights (ours' initialisation) and take every step on the same z, images and
// labels. The first step is checked value for value: TF.js's loss, cross-entropy, entropy, logits and every
// parameter's gradient must match ours to CHECK_TOLERANCE (relative, 2-norm per tensor), or its side fails
// with the figures (a bench of a different computation is worthless). max|d| in the table is over the loss,
// its two terms and the logits. In Node, TF.js-WebGPU passes only with WEIGHTGEN_ROBUST=1: some of its
// matmuls read past their inputs and count on Dawn's robust buffer access, which bench/env.ts turns off
// (for both runtimes) by default; its gradients then hold NaN and the check says so.
//
// The paper's batch is slow on a CPU adapter. There TF.js (both backends: the harness has one fraction per
// case) takes the whole step at k of the 32 networks (k z, each with its own 32 images: hypernetwork, target
// networks, entropy over k, Adam over every weight) and its time is scaled by 32 / k (tfFraction). That
// overstates TF.js a little: the costs that do not grow with the networks (Adam, the dispatches of the
// hypernetwork) are scaled too; the row's note says so. Its check then runs against ours at the same k
// networks (an extra step of ours from the same weights). k is 4, not less: batch norm over 2 rows (the
// extractor's, at B = 2) leaves gradients that are all rounding, and no check can hold them to ours.
//
// The PyTorch port (bench/hypernet_torch.py, float32 on 2 CPU threads) is a peer figure: in Node,
// addTorchPeer runs it once for the cases kept and writes its ms per step into their notes (the table has
// no PyTorch column). Not here: the training loop, batching and validation (src/models/hypernet-train.ts).

import { digamma } from '../src/analysis/special.js';
import { Hypernet, hypernetLoss, MNIST_HYPERNET } from '../src/models/hypernet.js';
import { MNIST_TARGET } from '../src/models/target-net.js';
import { Adam } from '../src/optim/index.js';
import { backward, disposeAll, Rng, scope, type Tensor, tensor } from '../src/tensor/index.js';
import type { Case, Impl } from './case.js';
import type { Backend, Tf } from './env.js';
import type { TfTensor } from './cases.js';
import { concat, randomArray } from './util.js';

const OP = 'hypernet step';
const SEED = 17;
const LR = 3e-4;
const DECAY = 0.99998;
const LAMBDA = 1e3;
const Z = MNIST_HYPERNET.noise; // 300
const CODE = MNIST_HYPERNET.code; // 15
const HW = 28;
const CLASSES = 10;
/** name, codes (filters), generator output row */
const GENERATORS = [
  ['gen1', 32, 26],
  ['gen2', 16, 801],
  ['gen3', 8, 785],
  ['gen4', 1, 90],
] as const;
const CODES = GENERATORS.reduce((s, g) => s + g[1], 0); // 57
/** Largest relative error (2-norm per tensor) of TF.js's first step against ours that the check accepts. */
const CHECK_TOLERANCE = 1e-3;

/** What the first step gives, read back: the check compares these. */
interface StepValues {
  loss: number;
  ce: number;
  entropy: number;
  logits: Float32Array; // (B, n, 10)
  grads: Map<string, Float32Array>;
}

const tables = new WeakMap<Case, { networks: number; images: number }>();

/**
 * Multiply-adds of one step, times 2: per image the target net's forward (conv 1, conv 2, the dense layers)
 * and backward (conv 1: the filter gradient only; conv 2 and dense: input and weight gradients); per z the
 * hypernetwork's matrix products forward and twice backward. Elementwise work, pooling and the entropy
 * (3 * B^2 * 20,018) are left out.
 */
function stepFlops(B: number, n: number): number {
  const conv1 = HW * HW * 32 * 25;
  const conv2 = (HW / 2) * (HW / 2) * 16 * 800;
  const dense = 784 * 8 + 8 * 10;
  const perImage = conv1 + conv2 + dense + conv1 + 2 * (conv2 + dense);
  const sub = (i: number, h: number, o: number) => i * h + h * h + h * o;
  const perZ =
    sub(Z, 300, CODES * CODE) +
    32 * sub(CODE, 40, 26) +
    16 * sub(CODE, 100, 801) +
    8 * sub(CODE, 100, 785) +
    sub(CODE, 60, 90);
  return 2 * (B * n * perImage + 3 * B * perZ);
}

/**
 * The step at B networks x n images each. TF.js (both backends) takes it at `tfNetworks` of the B networks,
 * its time scaled by B / tfNetworks.
 */
export function hypernetStepCase(B: number, n: number, tfNetworks = B): Case {
  const k = Math.min(tfNetworks, B);
  const z = randomArray(B * Z, 61, -1, 1);
  const x = randomArray(B * n * HW * HW, 62, 0, 1);
  const y = Int32Array.from(randomArray(B * n, 63, 0, CLASSES), Math.floor);
  // filled in by ours(): the initial weights and our first step at TF.js's batch
  let init: { name: string; shape: number[]; data: Float32Array }[] = [];
  let reference: StepValues | null = null;
  const notes = [
    k < B
      ? `${OP} ${B}x${n}: TF.js took the step at ${k} of the ${B} networks (each on its ${n} images; the ` +
        `hypernetwork, entropy and Adam at B = ${k}), its time scaled by ${B / k}; the fixed costs (Adam over ` +
        `633,640 weights, the hypernetwork's dispatches) are scaled too, so TF.js's figure is a little high. ` +
        `Its check and max|d| are against ours at the same ${k} networks`
      : `${OP} ${B}x${n}: TF.js runs the ${B} target networks in a loop (it has no grouped convolution)`,
    `${OP}: TF.js's first step matched ours (loss, CE, entropy, logits, every gradient) within ` +
      `${CHECK_TOLERANCE} relative, or its side would show as failed; TF.js-wasm lacks ` +
      'Conv2DBackpropFilter, so there the filter gradients are convolutions (tf.customGrad)',
  ];
  const c: Case = {
    op: OP,
    shape: `${B} z x ${n} images`,
    flops: stepFlops(B, n),
    perSecond: true,
    tfFraction: k / B,
    notes,
    async ours() {
      const net = new Hypernet({ ...MNIST_HYPERNET, target: MNIST_TARGET, faithful: false }, new Rng(SEED));
      init = await Promise.all(
        net
          .namedParameters()
          .map(async ([name, p]) => ({ name, shape: [...p.shape], data: (await p.data()) as Float32Array })),
      );
      if (k < B) reference = await oursFirstStep(init, k, n, z, x, y);
      const opt = new Adam(net.parameters(), { lr: LR });
      const zt = tensor(z, [B, Z]).keep();
      const xt = tensor(x, [B, n, HW, HW, 1]).keep();
      const yt = tensor(y, [B * n], 'i32').keep();
      net.train();
      const step = () => {
        opt.zeroGrad();
        const r = hypernetLoss(net, zt, xt, yt, { lambda: LAMBDA, entropyDim: Z, metric: 'l1' });
        backward(r.loss);
        opt.step();
        return r;
      };
      const outs = scope(() => {
        const r = step();
        return [r.loss, r.ce, r.entropy, r.logits, ...net.namedParameters().map(([, p]) => p.grad!.detach())];
      });
      opt.lr *= DECAY;
      const values = await stepValues(outs, init);
      disposeAll(outs);
      reference ??= values;
      return {
        first: firstOf(reference),
        start() {
          const loss = scope(() => step().loss);
          opt.lr *= DECAY;
          return async () => {
            await loss.data();
            loss.dispose();
          };
        },
        dispose() {
          opt.dispose();
          net.dispose();
          disposeAll([zt, xt, yt]);
        },
      };
    },
    async tf(tf, backend) {
      if (!reference) throw new Error(`${OP}: ours did not run first, so there are no weights to start from`);
      const side = tfHypernet(tf, backend, init, k, n, z, x, y);
      try {
        const first = side.first();
        const values = await tfStepValues(tf, first, init);
        check(reference, values, `${OP} ${B}x${n} on TF.js-${backend}`);
        return { ...side.impl, first: firstOf(values) };
      } catch (e) {
        side.impl.dispose();
        throw e;
      }
    },
  };
  tables.set(c, { networks: B, images: n });
  return c;
}

/** Ours at B networks from the weights `init`: one step's values, for the check against TF.js. */
async function oursFirstStep(
  init: { name: string; data: Float32Array }[],
  B: number,
  n: number,
  z: Float32Array,
  x: Float32Array,
  y: Int32Array,
): Promise<StepValues> {
  const net = new Hypernet({ ...MNIST_HYPERNET, target: MNIST_TARGET, faithful: false }, new Rng(SEED));
  const state = await net.stateDict();
  for (const p of init) state[p.name] = { shape: state[p.name]!.shape, data: p.data };
  net.loadStateDict(state, `${OP}: our initial weights`);
  net.train();
  const zt = tensor(z.subarray(0, B * Z), [B, Z]);
  const xt = tensor(x.subarray(0, B * n * HW * HW), [B, n, HW, HW, 1]);
  const yt = tensor(y.subarray(0, B * n), [B * n], 'i32');
  try {
    const outs = scope(() => {
      const r = hypernetLoss(net, zt, xt, yt, { lambda: LAMBDA, entropyDim: Z, metric: 'l1' });
      backward(r.loss);
      return [r.loss, r.ce, r.entropy, r.logits, ...net.namedParameters().map(([, p]) => p.grad!.detach())];
    });
    const values = await stepValues(outs, init);
    disposeAll(outs);
    return values;
  } finally {
    disposeAll([zt, xt, yt]);
    net.dispose();
  }
}

/** [loss, ce, entropy, logits, ...grads in init's order] read back. */
async function stepValues(outs: Tensor[], init: { name: string }[]): Promise<StepValues> {
  const data = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  return {
    loss: data[0]![0]!,
    ce: data[1]![0]!,
    entropy: data[2]![0]!,
    logits: data[3]!,
    grads: new Map(init.map((p, i) => [p.name, data[4 + i]!])),
  };
}

async function tfStepValues(tf: Tf, outs: TfTensor[], init: { name: string }[]): Promise<StepValues> {
  const data = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(outs);
  return {
    loss: data[0]![0]!,
    ce: data[1]![0]!,
    entropy: data[2]![0]!,
    logits: data[3]!,
    grads: new Map(init.map((p, i) => [p.name, data[4 + i]!])),
  };
}

const firstOf = (v: StepValues) => concat([[v.loss, v.ce, v.entropy], v.logits]);

/** |a - b| / |b| in the 2-norm. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return den ? Math.sqrt(num / den) : Math.sqrt(num);
}

/** Throws unless TF.js's first step computed what ours did; logs the worst errors either way. */
function check(ours: StepValues, theirs: StepValues, where: string): void {
  const errs: [string, number][] = [
    ['loss', relErr([theirs.loss], [ours.loss])],
    ['ce', relErr([theirs.ce], [ours.ce])],
    ['entropy', relErr([theirs.entropy], [ours.entropy])],
    ['logits', theirs.logits.length === ours.logits.length ? relErr(theirs.logits, ours.logits) : Number.NaN],
  ];
  for (const [name, g] of ours.grads) {
    const t = theirs.grads.get(name);
    errs.push([`grad ${name}`, t && t.length === g.length ? relErr(t, g) : Number.NaN]);
  }
  const bad = errs.filter(([, e]) => !(e <= CHECK_TOLERANCE));
  const worst = [...errs].sort((a, b) => b[1] - a[1]).slice(0, 3);
  const fmt = (l: [string, number][]) => l.map(([nm, e]) => `${nm} ${e.toExponential(1)}`).join(', ');
  console.log(
    `  ${where}: first step vs ours, relative errors: loss ${errs[0]![1].toExponential(1)}, ` +
      `entropy ${errs[2]![1].toExponential(1)}; worst ${fmt(worst)} (${errs.length} tensors)`,
  );
  if (bad.length) {
    const finite = (v: ArrayLike<number>) => Array.prototype.every.call(v, Number.isFinite);
    if (![...theirs.grads.values()].every(finite) && finite(ours.logits) && Number.isFinite(theirs.loss)) {
      // Seen with TF.js-WebGPU 4.22 in Node: some of its matmuls (A^T B at small shapes) read past their
      // inputs and count on Dawn's robust buffer access, which bench/env.ts turns off for both runtimes.
      throw new Error(
        `${where}: TF.js's gradients hold non-finite values (${fmt(bad.slice(0, 3))}, ...) although its loss ` +
          `matches ours (${theirs.loss} vs ${ours.loss}): its kernels read out of bounds, which needs Dawn's ` +
          'robustness; rerun with WEIGHTGEN_ROBUST=1',
      );
    }
    throw new Error(
      `${where}: TF.js's first step differs from ours beyond ${CHECK_TOLERANCE} (relative, 2-norm): ${fmt(bad)}; ` +
        `losses ${theirs.loss} vs ${ours.loss}. The TF.js model in bench/cases-hypernet.ts no longer computes ` +
        'ours: compare it with src/models/hypernet.ts, gauge.ts and target-net.ts',
    );
  }
}

// ---- the model in TF.js -----------------------------------------------------------------------------------

type T = TfTensor;
type T4 = ReturnType<Tf['tensor4d']>;
/** tf.customGrad's argument, loosely typed: inputs then the save function. */
type GradFn = Parameters<Tf['customGrad']>[0];

/**
 * The hypernetwork in TF.js at B networks x n images, from the weights `init`. `first()` takes the first step
 * and returns [loss, ce, entropy, logits, ...gradients in init's order] (the caller reads and disposes them);
 * `impl.start()` takes one more step and reads its loss.
 */
function tfHypernet(
  tf: Tf,
  backend: Backend,
  init: { name: string; shape: number[]; data: Float32Array }[],
  B: number,
  n: number,
  z: Float32Array,
  x: Float32Array,
  y: Int32Array,
): { first: () => T[]; impl: Omit<Impl, 'first'> } {
  const id = hypernetCount++;
  const variable = (make: () => T, trainable: boolean, name: string) =>
    tf.tidy(() => tf.variable(make(), trainable, `bench_hypernet${id}_${backend}/${name}`));
  const vars = new Map(init.map((p) => [p.name, variable(() => tf.tensor(p.data, p.shape), true, p.name)]));
  const w = (name: string) => vars.get(name)!;
  const varList = init.map((p) => w(p.name));
  // batch norm's running statistics (not trained): running = 0.98 running + 0.02 batch, as ours
  const running = new Map(
    init
      .filter((p) => /\.[25]\.weight$/.test(p.name))
      .flatMap((p) => {
        const prefix = p.name.slice(0, -'.weight'.length);
        return [
          [`${prefix}.running_mean`, variable(() => tf.zeros(p.shape), false, `${prefix}.running_mean`)],
          [`${prefix}.running_var`, variable(() => tf.ones(p.shape), false, `${prefix}.running_var`)],
        ] as const;
      }),
  );
  const zt = tf.tensor2d(z.subarray(0, B * Z), [B, Z]);
  const images = Array.from({ length: B }, (_, b) =>
    tf.tensor4d(x.subarray(b * n * HW * HW, (b + 1) * n * HW * HW), [n, HW, HW, 1]),
  );
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(y.subarray(0, B * n), 'int32'), CLASSES));
  const psi = digamma(B);
  const selfMask = tf.tensor2d(
    Float32Array.from({ length: B * B }, (_, i) => (i % (B + 1) === 0 ? Number.POSITIVE_INFINITY : 0)),
    [B, B],
  ); // + infinity on the diagonal: the nearest OTHER network
  const conv = backend === 'wasm' ? convByConvolutions(tf) : convPlain(tf);

  const batchNorm = (h: T, prefix: string): T => {
    const { mean, variance } = tf.moments(h, 0); // over all rows, biased variance
    for (const [stat, v] of [
      ['running_mean', mean],
      ['running_var', variance],
    ] as const) {
      const r = running.get(`${prefix}.${stat}`)!;
      r.assign(tf.add(tf.mul(r, 0.98), tf.mul(v, 0.02))); // off the loss's path: the tape ignores it
    }
    return tf.batchNorm(h, mean, variance, w(`${prefix}.bias`), w(`${prefix}.weight`), 1e-7);
  };
  // Linear(i, h) -> LeakyReLU -> BN -> Linear(h, h) -> LeakyReLU -> BN -> Linear(h, o), no biases, (out, in)
  const subnet = (h: T, prefix: string): T => {
    const lin = (a: T, i: number) => tf.matMul(a, w(`${prefix}.${i}.weight`), false, true);
    let a = batchNorm(tf.leakyRelu(lin(h, 0), 0.05), `${prefix}.2`);
    a = batchNorm(tf.leakyRelu(lin(a, 3), 0.05), `${prefix}.5`);
    return lin(a, 6);
  };
  // s = sqrt(mean over the row of raw^2 + 1e-8): (B, F)
  const rms = (raw: T) => tf.sqrt(tf.add(tf.mean(tf.square(raw), -1), 1e-8));
  // raw (B, F, k + 1): each kernel entry times the previous layer's scale of its input channel (the fastest
  // index of the kernel), s (B, C); the bias unchanged
  const scaleInputs = (raw: T, s: T): T => {
    const [b, f, k1] = raw.shape as [number, number, number];
    const C = s.shape[1]!;
    const kernel = tf.mul(
      tf.reshape(tf.slice(raw, [0, 0, 0], [b, f, k1 - 1]), [b, f, (k1 - 1) / C, C]),
      tf.reshape(s, [b, 1, 1, C]),
    );
    return tf.concat([tf.reshape(kernel, [b, f, k1 - 1]), tf.slice(raw, [0, 0, k1 - 1], [b, f, 1])], 2);
  };
  // HWIO kernels (B, 5, 5, Cin, F) and biases (B, F) of a conv layer from its gauged rows (B, F, 25 Cin + 1)
  const convLayer = (g: T, cin: number): [T, T] => {
    const f = g.shape[1]!;
    const kernel = tf.slice(g, [0, 0, 0], [B, f, 25 * cin]);
    return [
      tf.reshape(tf.transpose(kernel, [0, 2, 1]), [B, 5, 5, cin, f]),
      tf.reshape(tf.slice(g, [0, 0, 25 * cin], [B, f, 1]), [B, f]),
    ];
  };

  const model = () => {
    const codes = tf.reshape(subnet(zt, 'extractor'), [B, CODES, CODE]);
    let at = 0;
    const [raw1, raw2, raw3, raw4] = GENERATORS.map(([name, F, o]) => {
      const c = tf.reshape(tf.slice(codes, [0, at, 0], [B, F, CODE]), [B * F, CODE]); // BN over B * F rows
      at += F;
      return tf.reshape(subnet(c, name), [B, F, o]);
    }) as [T, T, T, T];
    // gauge fixing, layer by layer
    const s1 = rms(raw1);
    const g1 = tf.div(raw1, tf.expandDims(s1, 2)); // (B, 32, 26)
    const raw2s = scaleInputs(raw2, s1);
    const s2 = rms(raw2s);
    const g2 = tf.div(raw2s, tf.expandDims(s2, 2)); // (B, 16, 801)
    const raw3s = scaleInputs(raw3, s2);
    const s3 = rms(raw3s);
    const g3 = tf.div(raw3s, tf.expandDims(s3, 2)); // (B, 8, 785)
    const m = tf.mul(tf.reshape(tf.slice(raw4, [0, 0, 0], [B, 1, 80]), [B, 8, 10]), tf.expandDims(s3, 2));
    const b4raw = tf.reshape(tf.slice(raw4, [0, 0, 80], [B, 1, 10]), [B, 10]);
    const b4 = tf.sub(b4raw, tf.mean(b4raw, -1, true)); // (B, 10)
    // the target networks, one after another, each on its own images
    const [k1, c1] = convLayer(g1, 1);
    const [k2, c2] = convLayer(g2, 32);
    const k3 = tf.slice(g3, [0, 0, 0], [B, 8, 784]);
    const c3 = tf.reshape(tf.slice(g3, [0, 0, 784], [B, 8, 1]), [B, 8]);
    const per = [k1, c1, k2, c2, k3, c3, m, b4].map((t) => tf.unstack(t));
    const logits = tf.stack(
      images.map((img, b) => {
        const [w1, b1, w2, b2, w3, b3, mb, bb] = per.map((l) => l[b]!) as T[];
        const pool = (t: T) => tf.maxPool(t as T4, 2, 2, 'same');
        let a = pool(tf.relu(conv(img, w1!, b1!, false))); // (n, 14, 14, 32)
        a = pool(tf.relu(conv(a, w2!, b2!, true))); // (n, 7, 7, 16)
        const h = tf.relu(tf.add(tf.matMul(tf.reshape(a, [n, 784]), w3!, false, true), b3!)); // (n, 8)
        return tf.add(tf.matMul(h, mb!), bb!); // (n, 10)
      }),
    ); // (B, n, 10)
    const ce = tf.losses.softmaxCrossEntropy(onehot, tf.reshape(logits, [B * n, CLASSES]));
    // Kozachenko-Leonenko with L1 distances over theta (B, 20,018)
    const theta = tf.concat([g1, g2, g3, m].map((t) => tf.reshape(t, [B, -1])).concat([b4]), 1);
    const dist = tf.sum(tf.abs(tf.sub(tf.expandDims(theta, 1), tf.expandDims(theta, 0))), -1); // (B, B)
    const eps = tf.min(tf.add(dist, selfMask), 1);
    const entropy = tf.add(tf.mul(tf.mean(tf.log(tf.add(eps, 1e-8))), Z), psi);
    const loss = tf.sub(tf.mul(ce, LAMBDA), entropy) as ReturnType<Tf['scalar']>;
    return { loss, ce, entropy, logits };
  };

  const opt = tf.train.adam(LR, 0.9, 0.999, 1e-8);
  const step = (keepAll: boolean): T[] => {
    const held: { parts?: ReturnType<typeof model> } = {};
    const { value, grads } = tf.variableGrads(() => {
      const parts = model();
      if (keepAll) for (const t of [parts.ce, parts.entropy, parts.logits]) tf.keep(t);
      held.parts = parts;
      return parts.loss;
    }, varList);
    opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
    (opt as unknown as { learningRate: number }).learningRate *= DECAY;
    if (!keepAll) {
      tf.dispose(Object.values(grads));
      return [value];
    }
    const p = held.parts!;
    return [value, p.ce, p.entropy, p.logits, ...init.map((q) => grads[vars.get(q.name)!.name]!)];
  };
  return {
    first: () => step(true),
    impl: {
      start() {
        const [loss] = step(false);
        return async () => {
          await loss!.data();
          loss!.dispose();
        };
      },
      dispose() {
        opt.dispose();
        tf.dispose([...varList, ...running.values(), zt, ...images, onehot, selfMask]);
      },
    },
  };
}

let hypernetCount = 0;

/** A SAME 5x5 convolution with bias: x (n, H, W, C), w (5, 5, C, F), bias (F). */
type Conv = (x: T, w: T, bias: T, inputGrad: boolean) => T;

/** tf.conv2d as it is (its gradient asks only for what the tape needs). */
function convPlain(tf: Tf): Conv {
  return (x, w, bias) => tf.add(tf.conv2d(x as T4, w as T4, 1, 'same'), bias);
}

/**
 * The same for a backend without Conv2DBackpropFilter (wasm): the filter gradient as a convolution,
 *   dw[kh, kw, c, f] = sum over i, h, w of xpad[i, h + kh, w + kw, c] dy[i, h, w, f],
 * i.e. the padded input with channels as the batch (C, H + 4, W + 4, n) convolved (VALID) with dy as an
 * H x W filter (H, W, n, F); the input gradient (when asked) by tf.conv2dTranspose.
 */
function convByConvolutions(tf: Tf): Conv {
  const forward = (x: T, w: T) => tf.conv2d(x as T4, w as T4, 1, 'same');
  const filterGrad = (x: T, dy: T) => {
    const xp = tf.pad(x, [
      [0, 0],
      [2, 2],
      [2, 2],
      [0, 0],
    ]);
    const r = tf.conv2d(tf.transpose(xp, [3, 1, 2, 0]) as T4, tf.transpose(dy, [1, 2, 0, 3]) as T4, 1, 'valid');
    return tf.transpose(r, [1, 2, 0, 3]); // (C, 5, 5, F) -> (5, 5, C, F)
  };
  return (x, w, bias, inputGrad) => {
    const y = inputGrad
      ? tf.customGrad(((xv: T, wv: T, save: (ts: T[]) => void) => {
          save([xv, wv]);
          return {
            value: forward(xv, wv),
            gradFunc: (dy: T, saved: T[]) => [
              tf.conv2dTranspose(
                dy as T4,
                saved[1] as T4,
                saved[0]!.shape as [number, number, number, number],
                1,
                'same',
              ),
              filterGrad(saved[0]!, dy),
            ],
          };
        }) as GradFn)(x, w)
      : tf.customGrad(((wv: T, save: (ts: T[]) => void) => {
          save([wv]);
          return { value: forward(x, wv), gradFunc: (dy: T) => [filterGrad(x, dy)] };
        }) as GradFn)(w);
    return tf.add(y, bias);
  };
}

// ---- the PyTorch peer --------------------------------------------------------------------------------------

/**
 * Node only: runs bench/hypernet_torch.py once for the hypernet cases among `cases` and adds its median ms
 * per step to their notes (or why it could not run). Synchronous: nothing else runs meanwhile.
 */
export function addTorchPeer(cases: Case[], quick: boolean, log: (line: string) => void = console.log): void {
  const mine = cases.filter((c) => tables.has(c));
  if (!mine.length) return;
  const proc = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const cp = proc?.getBuiltinModule?.('node:child_process') as typeof import('node:child_process') | undefined;
  const say = (note: string) => {
    for (const c of mine) c.notes!.push(note);
  };
  if (!cp) {
    say(`${OP}: the PyTorch peer (bench/hypernet_torch.py) runs in Node only`);
    return;
  }
  const sizes = mine.map((c) => `${tables.get(c)!.networks}x${tables.get(c)!.images}`);
  const args = ['bench/hypernet_torch.py', '--sizes', sizes.join(','), '--steps', quick ? '1' : '3', '--warmup', '1'];
  log(`${OP}: PyTorch peer, /usr/bin/python3 ${args.join(' ')} ...`);
  let out: {
    torch: string;
    threads: number;
    cases: { B: number; n: number; steps: number; median_ms: number; min_ms: number }[];
  };
  try {
    out = JSON.parse(
      cp.execFileSync('/usr/bin/python3', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  } catch (e) {
    say(`${OP}: PyTorch peer skipped (${(e as Error).message.split('\n')[0]}; it needs Debian's python3-torch)`);
    return;
  }
  for (const c of mine) {
    const { networks, images } = tables.get(c)!;
    const r = out.cases.find((q) => q.B === networks && q.n === images);
    if (!r) continue;
    const line =
      `${OP} ${networks}x${images}: PyTorch ${out.torch} CPU (${out.threads} threads, bench/hypernet_torch.py, ` +
      `the same step in float32): ${r.median_ms.toFixed(0)} ms per step (median of ${r.steps}; fastest ` +
      `${r.min_ms.toFixed(0)} ms), run just before the table`;
    c.notes!.push(line);
    log(`  ${line}`);
  }
}
