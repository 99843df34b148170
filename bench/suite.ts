// The list of cases `npm run bench` runs, and the options both entry points (Node and the browser page)
// share.

import { type Case, COMPARED_ROUNDS } from './case.js';
import { adamCase, crossEntropyCase, matmulCase } from './cases.js';
import { CONV_LAYERS, convCase, convMissing } from './cases-conv.js';
import { addTorchPeer, hypernetStepCase } from './cases-hypernet.js';
import { capturedHypernetStepCase, capturedVaeStepCase, stepsPerReadback } from './cases-capture.js';
import { vaeStepCase } from './cases-train.js';
import { candidateMatmul, CANDIDATE } from './matmul-variants.js';
import { matmul, type MatmulKernel, useMatmulKernel } from '../src/ops/index.js';
import type { Tensor } from '../src/tensor/index.js';

/** Our matmul with one kernel forced (the rows that compare the library's kernels side by side). */
function forced(k: MatmulKernel): (a: Tensor, b: Tensor) => Tensor {
  return (a, b) => {
    useMatmulKernel(k);
    try {
      return matmul(a, b);
    } finally {
      useMatmulKernel(null);
    }
  };
}

export interface SuiteOptions {
  quick: boolean; // fewer rounds, for a smoke test
  only: string[]; // keep cases whose "op shape" contains one of these
  full: boolean; // TF.js runs every group of the grouped convolutions
  candidate: boolean; // add rows for the matmul kernel candidate of bench/matmul-variants.ts and forced regs
  roofline: boolean; // measure the roofs (roofline.ts) and print every row as a share of its roof
  gpu: boolean; // add the rows sized for a real GPU: matmul 2048^3 and 4096^3 with each kernel, TF.js on all 32 nets
}

/** How long each case runs: about budgetMs of timed work, within [minRounds, maxRounds] rounds. */
export function rounds(quick: boolean): { budgetMs: number; minRounds: number; maxRounds: number } {
  return quick ? { budgetMs: 800, minRounds: 2, maxRounds: 5 } : { budgetMs: 4000, minRounds: 3, maxRounds: 25 };
}

export function suite(o: SuiteOptions): { cases: Case[]; skipped: string[] } {
  const skipped: string[] = [];
  const cases: Case[] = [
    matmulCase(256, 256, 256),
    matmulCase(512, 512, 512),
    { ...matmulCase(1024, 1024, 1024), minRounds: COMPARED_ROUNDS },
    matmulCase(32, 300, 855),
    matmulCase(1024, 784, 8),
    matmulCase(16, 4, 3, 500),
  ];
  if (o.candidate) {
    // the kernel the vec4 path replaced where it fits (square shapes), beside the automatic choice above
    for (const d of [256, 512, 1024]) cases.push(matmulCase(d, d, d, 0, forced('regs'), ' [regs]'));
    const tag = ` [${CANDIDATE.name}]`;
    cases.push(
      matmulCase(256, 256, 256, 0, candidateMatmul, tag),
      matmulCase(512, 512, 512, 0, candidateMatmul, tag),
      matmulCase(1024, 1024, 1024, 0, candidateMatmul, tag),
      matmulCase(32, 300, 855, 0, candidateMatmul, tag),
    );
  }
  cases.push(crossEntropyCase(1024, 10, false), crossEntropyCase(1024, 10, true), adamCase(633_640), vaeStepCase(32));
  cases.push(capturedVaeStepCase(32), stepsPerReadback(capturedVaeStepCase(32), 10));
  const missing = convMissing();
  if (missing) skipped.push(`conv2d cases skipped: ${missing}`);
  else {
    const [g, tfGroups] = o.full ? [32, 4] : [4, 4];
    for (const L of CONV_LAYERS) cases.push(convCase(L, false, g, tfGroups), convCase(L, true, g, tfGroups));
  }
  // the cpu preset's batch and the paper's (there TF.js takes the step at 4 of the 32 networks, scaled: its
  // WebGPU side needs minutes per step on a CPU adapter; on a GPU, --gpu has it take all 32)
  cases.push(hypernetStepCase(8, 8), capturedHypernetStepCase(8, 8), hypernetStepCase(32, 32, o.gpu ? 32 : 4));
  if (o.gpu) {
    cases.push(capturedHypernetStepCase(32, 32));
    // sizes that fill a GPU, with the automatic choice and every general kernel forced, side by side (first:
    // the rows a short lease on a GPU machine is for)
    const big = [2048, 4096].map((d) => matmulCase(d, d, d));
    for (const k of ['regs', 'vec4', 'regs4'] as const) big.push(matmulCase(4096, 4096, 4096, 0, forced(k), ` [${k}]`));
    big.push(matmulCase(4096, 4096, 4096, 0, candidateMatmul, ` [${CANDIDATE.name}]`));
    cases.unshift(...big);
  }
  // the roof that bounds each case (report.ts applyRoofs), where the case does not say
  for (const c of cases)
    c.bound ??= /^(matmul|conv2d)/.test(c.op) ? 'flops' : /step/.test(c.op) ? 'intensity' : 'bytes';
  const keep = (c: Case) => !o.only.length || o.only.some((s) => `${c.op} ${c.shape}`.includes(s));
  const kept = cases.filter(keep);
  addTorchPeer(kept, o.quick); // Node: times bench/hypernet_torch.py now, for the hypernet rows' notes
  return { cases: kept, skipped };
}
