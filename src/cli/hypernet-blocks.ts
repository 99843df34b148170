// The networks of a trained hypernetwork, block by block: the noise of network g (by its index alone), the
// fixed blocks networks are generated in, and the two things made of a range of networks: their class
// probabilities on test images (`hypernet eval`, and each shard of a sharded eval) and their weights as
// PyTorch state dicts (`hypernet sample`, and each shard of a sharded sample). One process and every shard
// call these with the same blocks, so a network comes out as the same bits whichever path made it.
//
// Not here: files, run folders and the manifest (hypernet.ts), the queue (hypernet-queue.ts).

import type { MnistPart } from '../data/mnist.js';
import type { SafeTensor } from '../io/safetensors.js';
import { type Hypernet, MNIST_HYPERNET } from '../models/hypernet.js';
import { torchStateDict } from '../models/hypernet-export.js';
import { networkProbabilities } from '../models/hypernet-train.js';
import { MNIST_TARGET } from '../models/target-net.js';
import { noGrad, referenceValue, scope, type Tensor, tensor } from '../tensor/index.js';

/** `purpose` of the evaluation's noise. */
export const EVAL_NOISE = 2;
/** `purpose` of the sample step's noise (and of the analyses': network i is samples.safetensors' net<i>). */
export const SAMPLE_NOISE = 1;

/**
 * The noise z (count, noise) of networks first..first+count-1: network g's row is values g * noise ..
 * (g + 1) * noise - 1 of stream 0 of the Philox generator seeded seed * 16 + purpose + 1, U[-1, 1). It
 * depends on g alone, not on how many networks are drawn or where a range starts, so a sharded eval draws
 * each shard's range and gets the rows one process draws. Drawn on the CPU with the shader's generator
 * (referenceValue): -1 + 2 u with u = k / 2^24 is exact in float32 and float64 alike, so these are the bits
 * `Rng.uniform` draws on the GPU (test/queue-hypernet.node.test.ts checks it), and run folders made before
 * keep their networks.
 */
export function networkNoise(seed: number, purpose: number, first: number, count: number): Tensor {
  const width = MNIST_HYPERNET.noise;
  const noiseSeed = seed * 16 + purpose + 1;
  const z = new Float32Array(count * width);
  for (let i = 0; i < z.length; i++) z[i] = referenceValue('uniform', noiseSeed, 0, first * width + i, -1, 1);
  return tensor(z, [count, width]);
}

/**
 * Networks are generated (and, for the eval, run on the test images) in blocks of this many, block b holding
 * networks b * EVAL_BLOCK .. (b + 1) * EVAL_BLOCK - 1 (the last block: up to the last network). A kernel's
 * choice and order of operations may depend on how many networks and images go through at once (a matmul of
 * fewer than 8 rows takes another kernel), so a network's weights and probabilities are bit-identical only
 * between calls of the same block shapes: one process and every shard of a sharded eval or sample use these
 * blocks, and shards start on a block.
 */
export const EVAL_BLOCK = 32;

/**
 * The class probabilities of networks first..first+count-1 (first on a block boundary) on `test`, one
 * block (b, N, K) at a time, handed to `onBlock` with the block's first network.
 */
export async function evalBlocks(
  net: Hypernet,
  seed: number,
  test: MnistPart,
  first: number,
  count: number,
  onBlock: (first: number, probs: Float32Array) => void | Promise<void>,
): Promise<void> {
  if (first % EVAL_BLOCK !== 0) throw new Error(`evalBlocks: network ${first} does not start a block of ${EVAL_BLOCK}`);
  for (let at = first; at < first + count; at += EVAL_BLOCK) {
    const b = Math.min(EVAL_BLOCK, first + count - at);
    const z = networkNoise(seed, EVAL_NOISE, at, b);
    try {
      await onBlock(at, await networkProbabilities(net, z, test));
    } finally {
      z.dispose();
    }
  }
}

/**
 * Networks first..first+count-1 (first on a block boundary) as PyTorch state dicts named net<g>.conv1.weight,
 * ..., in that order, generated in the eval's blocks (EVAL_BLOCK) from the sample step's noise (purpose 1):
 * a network's weights are the same bits in `hypernet sample` and in any shard of a sharded sample.
 */
export async function sampleBlocks(
  net: Hypernet,
  seed: number,
  first: number,
  count: number,
  onBlock: (done: number) => void = () => {},
): Promise<Record<string, SafeTensor>> {
  if (first % EVAL_BLOCK !== 0)
    throw new Error(`sampleBlocks: network ${first} does not start a block of ${EVAL_BLOCK}`);
  const tensors: Record<string, SafeTensor> = {};
  net.eval();
  for (let at = first; at < first + count; at += EVAL_BLOCK) {
    const b = Math.min(EVAL_BLOCK, first + count - at);
    const z = networkNoise(seed, SAMPLE_NOISE, at, b);
    let layers: { kernel: Tensor; bias: Tensor }[];
    try {
      layers = noGrad(() =>
        scope(() => net.networks(z).map((l) => ({ kernel: l.kernel.keep(), bias: l.bias.keep() }))),
      );
    } finally {
      z.dispose();
    }
    const data = await Promise.all(
      layers.map(async (l) => ({ kernel: await l.kernel.data(), bias: await l.bias.data() })),
    );
    for (const l of layers) {
      l.kernel.dispose();
      l.bias.dispose();
    }
    for (let g = 0; g < b; g++) {
      for (const [name, t] of Object.entries(torchStateDict(MNIST_TARGET, data, g)))
        tensors[`net${at + g}.${name}`] = t;
    }
    onBlock(at + b - first);
  }
  return tensors;
}
