"""A sanity probe first (a throwaway list of plain tensors of which only the output layer is stepped, 20 times on one
batch: the hidden layer's gradients are computed, never applied and never emptied), then the real model, every tensor
stepped with ``p -= lr * p.grad`` under ``torch.no_grad()`` and its gradients emptied; the twin of ``probe_head``."""
import sys

import numpy as np
import torch

torch.manual_seed(5)
d = np.loadtxt(sys.argv[1] if len(sys.argv) > 1 else "train.csv", delimiter=",", dtype=np.float32)
X = torch.tensor(d[:2500, 1:] / 255)
Y = torch.tensor(d[:2500, 0].astype(np.int64))
Xv, Yv = torch.tensor(d[2500:, 1:] / 255), torch.tensor(d[2500:, 0].astype(np.int64))


def make(hidden):
    w1 = (torch.randn(784, hidden) / 784 ** 0.5).requires_grad_()
    b1 = torch.zeros(hidden, requires_grad=True)
    w2 = (torch.randn(hidden, 10) / hidden ** 0.5).requires_grad_()
    b2 = torch.zeros(10, requires_grad=True)
    return [w1, b1, w2, b2]


def forward(params, x):
    w1, b1, w2, b2 = params
    return torch.relu(x @ w1 + b1) @ w2 + b2


lr = 0.1
probe = make(48)
for _ in range(20):  # can the output layer alone fit one batch?
    for p in probe[2:]:
        if p.grad is not None:
            p.grad.zero_()
    loss = torch.nn.functional.cross_entropy(forward(probe, X[:64]), Y[:64])
    loss.backward()
    with torch.no_grad():
        for p in probe[2:]:
            p -= lr * p.grad
print("probe loss", round(loss.item(), 4))

model = make(64)
for epoch in range(3):
    perm = torch.randperm(2500)
    for i in range(0, 2500, 50):
        idx = perm[i:i + 50]
        loss = torch.nn.functional.cross_entropy(forward(model, X[idx]), Y[idx])
        loss.backward()
        with torch.no_grad():
            for p in model:
                p -= lr * p.grad
                p.grad.zero_()
    with torch.no_grad():
        print(epoch, round(loss.item(), 4), (forward(model, Xv).argmax(1) == Yv).float().mean().item())
