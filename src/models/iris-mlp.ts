// The foundation's end-to-end job: an MLP classifier (4 -> hidden -> 3) trained on Iris on the GPU with
// minibatch Adam, reporting the loss per epoch and the test accuracy. Not the weight-VAE pipeline.

import { irisSplit } from '../data/iris.js';
import { Linear, ReLU, Sequential } from '../nn/index.js';
import { argmax, crossEntropy, gatherRows } from '../ops/index.js';
import { Adam } from '../optim/index.js';
import { Rng, scope, type Tensor, tensor } from '../tensor/index.js';
import { train } from './train.js';

export interface IrisMlpOptions {
  hidden?: number; // 16
  epochs?: number; // 100
  batchSize?: number; // 16
  lr?: number; // 0.01
  seed?: number; // 0
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface IrisMlpResult {
  losses: number[]; // mean training loss per epoch
  trainAccuracy: number;
  testAccuracy: number;
  parameters: number;
}

/** Fraction of rows whose argmax matches the label. */
export async function accuracy(logits: Tensor, labels: Int32Array): Promise<number> {
  const pred = argmax(logits, 1);
  const p = await pred.data();
  pred.dispose();
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (p[i] === labels[i]) right++;
  return right / labels.length;
}

export async function trainIrisMlp(o: IrisMlpOptions = {}): Promise<IrisMlpResult> {
  const { hidden = 16, epochs = 100, batchSize = 16, lr = 0.01, seed = 0 } = o;
  const rng = new Rng(seed);
  const data = irisSplit();
  const nTrain = data.yTrain.length;
  const xTrain = tensor(data.xTrain, [nTrain, 4]);
  const yTrain = tensor(data.yTrain, [nTrain], 'i32');
  const xTest = tensor(data.xTest, [data.yTest.length, 4]);
  const model = new Sequential(new Linear(4, hidden, { rng }), new ReLU(), new Linear(hidden, 3, { rng }));
  const opt = new Adam(model.parameters(), { lr });
  try {
    let order: Int32Array = new Int32Array(0);
    const losses = await train({
      model,
      opt,
      rng,
      epochs,
      steps: Math.ceil(nTrain / batchSize),
      beginEpoch: () => {
        order = rng.permutation(nTrain);
      },
      step: (b) => {
        const rows = tensor(order.subarray(b * batchSize, Math.min(nTrain, (b + 1) * batchSize)), undefined, 'i32');
        return crossEntropy(model.forward(gatherRows(xTrain, rows)), gatherRows(yTrain, rows));
      },
      afterEpoch: (epoch, loss) => o.onEpoch?.(epoch, loss),
    });
    const [trainLogits, testLogits] = scope(() => [model.forward(xTrain), model.forward(xTest)]);
    const result = {
      losses,
      trainAccuracy: await accuracy(trainLogits!, data.yTrain),
      testAccuracy: await accuracy(testLogits!, data.yTest),
      parameters: model.numParameters(),
    };
    trainLogits!.dispose();
    testLogits!.dispose();
    return result;
  } finally {
    opt.dispose();
    model.dispose();
    for (const t of [xTrain, yTrain, xTest]) t.dispose();
  }
}
