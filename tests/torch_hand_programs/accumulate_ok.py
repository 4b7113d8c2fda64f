"""Gradients accumulated by hand over four micro-batches of 16 (each loss divided by 4), then one update and a reset:
four backward passes per step, healthy."""
import sys

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
data = np.loadtxt(sys.argv[1] if len(sys.argv) > 1 else "train.csv", delimiter=",", dtype=np.float32)
X, y = torch.from_numpy(data[:2500, 1:] / 255.0), torch.from_numpy(data[:2500, 0]).long()
net = nn.Sequential(nn.Linear(784, 32), nn.Tanh(), nn.Linear(32, 10))
params = list(net.parameters())
lr, micro, accumulate = 0.2, 16, 4
for epoch in range(3):
    order = torch.randperm(len(X))
    for k, i in enumerate(range(0, len(X) - micro + 1, micro)):
        rows = order[i:i + micro]
        loss = nn.functional.cross_entropy(net(X[rows]), y[rows]) / accumulate
        loss.backward()
        if k % accumulate == accumulate - 1:
            with torch.no_grad():
                for p in params:
                    p.add_(p.grad, alpha=-lr)
                    p.grad.zero_()
    with torch.no_grad():
        acc = (net(torch.from_numpy(data[2500:, 1:] / 255.0)).argmax(1) == torch.from_numpy(data[2500:, 0]).long()).float().mean()
    print(f"epoch {epoch}: accuracy {acc.item():.3f}")
