// PyTorch 1.13 parity for pairwise distances, their gradients, and the nearest-neighbour term of the
// entropy estimate (fixture: test/fixtures/make_distance.py). f32 on the GPU against float64 in PyTorch.
import { beforeAll, describe, it } from 'vitest';
import { knn, pairwiseDistances } from '../src/ops/distance.js';
import { log, sum } from '../src/ops/index.js';
import { backward, requireGrad, scope, tensor } from '../src/tensor/index.js';
import fx from './fixtures/distance_torch.json';
import { expectClose, setupGpu } from './helpers.js';

beforeAll(setupGpu);

describe('distances against PyTorch', () => {
  for (const metric of ['l1', 'l2', 'sqeuclidean'] as const) {
    it(`${metric}: values and gradients`, async () => {
      const x = requireGrad(tensor(fx.x, [fx.N, fx.D]));
      const y = requireGrad(tensor(fx.y, [fx.M, fx.D]));
      const d = scope(() => {
        const out = pairwiseDistances(x, y, metric);
        backward(out, tensor(fx.g, [fx.N, fx.M]));
        return out;
      });
      const want = fx[metric];
      expectClose(await d.data(), want.d, 1e-5, 1e-5, `${metric} d`);
      expectClose(await x.grad!.data(), want.dx, 1e-4, 1e-5, `${metric} dx`);
      expectClose(await y.grad!.data(), want.dy, 1e-4, 1e-5, `${metric} dy`);
      for (const t of [x, y, d, x.grad!, y.grad!]) t.dispose();
    });
  }

  it('nearest neighbours of a set (diagonal excluded) and the gradient of sum log eps', async () => {
    const x = requireGrad(tensor(fx.x, [fx.N, fx.D]));
    const { eps, idx } = scope(() => {
      const { values, indices } = knn(pairwiseDistances(x, x, 'l1'), 1, { excludeSelf: true });
      backward(sum(log(values)));
      return { eps: values, idx: indices };
    });
    expectClose(await eps.data(), fx.nn.eps, 1e-5, 1e-5, 'eps');
    expectClose(await idx.data(), fx.nn.idx, 0, 0, 'nearest index');
    expectClose(await x.grad!.data(), fx.nn.dx, 1e-4, 1e-5, 'd sum log eps / dx');
    for (const t of [x, eps, idx, x.grad!]) t.dispose();
  });
});
