"""One training step of the MNIST hypernetwork in PyTorch 1.13 on the CPU (2 threads), the peer figure for
weightgen's step. The model is the port in test/fixtures/make_hypernet.py (default preset); the step is
the forward pass (B networks, each on its own n images), the backward pass and an Adam update (lr 3e-4,
then lr *= 0.99998), on random inputs. It times steps after a warm-up and prints, as JSON on stdout, the
median and minimum milliseconds per step at each (B, n) of --sizes (the `cpu` preset's 8 x 8 and the
paper's 32 x 32 by default). It measures speed only. `npm run bench` runs it for its "hypernet step" rows
(bench/cases-hypernet.ts).

Usage (from the repository root):
    /usr/bin/python3 bench/hypernet_torch.py [--sizes 8x8,32x32] [--steps 5] [--warmup 2]
"""

import argparse
import importlib.util
import json
import os
import statistics
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "make_hypernet", os.path.join(HERE, "..", "test", "fixtures", "make_hypernet.py")
)
hn = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hn)

ap = argparse.ArgumentParser()
ap.add_argument("--sizes", default="8x8,32x32", help="B x n pairs, comma-separated")
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--warmup", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(2)


def time_steps(b, n):
    torch.manual_seed(0)
    model = hn.HyperNetwork().train()
    opt = torch.optim.Adam(model.parameters(), lr=hn.LR, betas=hn.BETAS, eps=hn.ADAM_EPS)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.99998)
    times = []
    for i in range(args.warmup + args.steps):
        z, images, labels = hn.draw_batch(b, n)
        t = time.perf_counter()
        opt.zero_grad()
        model(z, images, labels)["loss"].backward()
        opt.step()
        sched.step()
        if i >= args.warmup:
            times.append((time.perf_counter() - t) * 1000)
    return {"B": b, "n": n, "steps": args.steps, "median_ms": round(statistics.median(times), 2),
            "min_ms": round(min(times), 2)}


result = {
    "what": "hypernetwork training step (forward, backward, Adam), PyTorch CPU float32",
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "cases": [time_steps(*map(int, size.split("x"))) for size in args.sizes.split(",")],
}
print(json.dumps(result))
