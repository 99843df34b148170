// One full training step of the Iris paper's weight-VAE (src/models/weight-vae.ts: 15-128-64-32 encoder,
// 32 -> 32 mu and logvar heads, 32-64-128-15 decoder with a sigmoid, loss = MSE(sum) + KL(sum)), batch 32,
// Adam 1e-3: forward, backward, optimizer update, then the loss read back. TF.js runs the same network
// from the same initial weights; its first step also uses our first step's noise, so the first loss and
// the updated weights can be compared value for value (later steps draw their own noise, as ours do).

import { Adam } from '../src/optim/index.js';
import { WeightVae } from '../src/models/weight-vae.js';
import { backward, disposeAll, Rng, scope, tensor } from '../src/tensor/index.js';
import type { Tf } from './env.js';
import type { Case } from './case.js';
import { type TfTensor, tfImpl } from './cases.js';
import { concat, randomArray } from './util.js';

const DIM = 15;
const LATENT = 32;
let vaeCount = 0;

export function vaeStepCase(batch = 32): Case {
  const x = randomArray(batch * DIM, 41, 0, 1);
  // filled in by ours(): the initial weights and the first step's noise
  let init: { name: string; shape: number[]; data: Float32Array }[] = [];
  let eps0: Float32Array | null = null;
  return {
    op: 'VAE train step',
    shape: `15-128-64-32 x2, batch ${batch}`,
    perSecond: true,
    async ours() {
      const seed = 5;
      const rng = new Rng(seed);
      const vae = new WeightVae(DIM, LATENT, rng);
      const named = vae.namedParameters();
      init = await Promise.all(
        named.map(async ([name, p]) => ({ name, shape: [...p.shape], data: (await p.data()) as Float32Array })),
      );
      const noise = new Rng(seed);
      noise.position = rng.position; // the stream vae.loss will draw its first noise from
      const e = noise.normal([batch, LATENT]);
      eps0 = (await e.data()) as Float32Array;
      e.dispose();
      const opt = new Adam(vae.parameters(), { lr: 1e-3 });
      const xt = tensor(x, [batch, DIM]).keep();
      const step = () => {
        opt.zeroGrad();
        const { total } = vae.loss(xt, rng);
        backward(total);
        opt.step();
        return total;
      };
      const outs = scope(() => [step(), ...named.map(([, p]) => p.detach())]);
      const first = concat(await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array)));
      disposeAll(outs);
      return {
        first,
        start() {
          const loss = scope(step);
          return async () => {
            await loss.data();
            loss.dispose();
          };
        },
        dispose() {
          opt.dispose();
          vae.dispose();
          xt.dispose();
        },
      };
    },
    async tf(tf, backend) {
      const id = vaeCount++;
      const vars = new Map(
        init.map((p) => [p.name, tf.variable(tf.tensor(p.data, p.shape), true, `bench_vae${id}_${backend}/${p.name}`)]),
      );
      const w = (name: string) => vars.get(name)!;
      const xt = tf.tensor2d(x, [batch, DIM]);
      const lin = (h: TfTensor, name: string) =>
        tf.add(tf.matMul(h, w(`${name}.weight`), false, true), w(`${name}.bias`));
      const loss = (eps: TfTensor) => {
        let h = tf.relu(lin(xt, 'encoder.0'));
        h = tf.relu(lin(h, 'encoder.2'));
        h = lin(h, 'encoder.4');
        const mu = lin(h, 'mu');
        const logvar = lin(h, 'logvar');
        const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps));
        let d = tf.relu(lin(z, 'decoder.0'));
        d = tf.relu(lin(d, 'decoder.2'));
        d = tf.sigmoid(lin(d, 'decoder.4'));
        const recon = tf.sum(tf.square(tf.sub(d, xt)));
        const kl = tf.mul(tf.sum(tf.sub(tf.sub(tf.add(logvar, 1), tf.square(mu)), tf.exp(logvar))), -0.5);
        return tf.add(recon, kl) as ReturnType<Tf['scalar']>;
      };
      const opt = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
      const varList = [...vars.values()];
      const step = (eps: TfTensor) => opt.minimize(() => loss(eps), true, varList)!;
      const eps = tf.tensor2d(eps0!, [batch, LATENT]);
      const impl = await tfImpl(
        tf,
        () => [step(eps), ...varList],
        () => {},
      );
      eps.dispose();
      return {
        ...impl,
        start() {
          const l = tf.tidy(() => step(tf.randomNormal([batch, LATENT])));
          return async () => {
            await l.data();
            l.dispose();
          };
        },
        dispose() {
          opt.dispose();
          tf.dispose([...varList, xt]);
        },
      };
    },
  };
}
