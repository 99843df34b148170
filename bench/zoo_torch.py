"""The Iris zoo the paper's way: PyTorch 1.13 on the CPU, one model after another (Adam lr 0.005,
minibatch 16 reshuffled every epoch, cross-entropy). Times `--sample` models per set and scales to 500
per set; prints TOTAL_SECONDS for bench/zoo.ts."""
import argparse
import json
import time

import torch
from sklearn.datasets import load_iris

ap = argparse.ArgumentParser()
ap.add_argument("--sample", type=int, default=20)
ap.add_argument("--epochs", type=int, default=200)
args = ap.parse_args()
torch.set_num_threads(1)

d = json.load(open("test/fixtures/mlp_iris_adam.json"))
X, y = load_iris(return_X_y=True)
Xtr = torch.tensor(X[d["train_indices"]], dtype=torch.float32)
ytr = torch.tensor(y[d["train_indices"]])


def model(arch):
    if arch == "M1":
        return torch.nn.Linear(4, 3)
    return torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


total = 0.0
for name, arch, scrambled in (("real", "M1", False), ("scrambled", "M1", True), ("real2", "M2", False)):
    t = time.perf_counter()
    for s in range(args.sample):
        torch.manual_seed(s)
        m = model(arch)
        labels = ytr[torch.randperm(100)] if scrambled else ytr
        opt = torch.optim.Adam(m.parameters(), lr=0.005)
        for e in range(args.epochs):
            perm = torch.randperm(100)
            for b in range(0, 100, 16):
                idx = perm[b : b + 16]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(m(Xtr[idx]), labels[idx]).backward()
                opt.step()
    per = (time.perf_counter() - t) / args.sample
    total += per * 500
    print(f"(c) PyTorch CPU: {name} {args.sample} models timed, {per:.2f} s each, {per * 500:.0f} s for 500")
print(f"TOTAL_SECONDS {total:.1f}")
