"""A healthy network that learns slowly, written as a module-level loop over plain tensors: weights made with
``requires_grad_()``, ``torch.optim.SGD`` at lr 0.01 without momentum, batches cut from a ``randperm`` by hand,
``F.cross_entropy``; six epochs of 2,000 rows in batches of 128 (96 steps).

As ``slow_sgd_dataset_ok`` (a ``Dataset`` and an MLP class): its training batches stay near the share of the most
common label for most of the run while its loss falls at every epoch and its held-out accuracy leaves chance behind.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(11)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
x = torch.from_numpy(rows[:, 1:] / 255.0)
y = torch.from_numpy(rows[:, 0].astype(np.int64))
x_train, y_train, x_test, y_test = x[:2000], y[:2000], x[2000:], y[2000:]


def layer(fan_in, fan_out):
    bound = 1 / fan_in ** 0.5
    return ((torch.rand(fan_in, fan_out) * 2 - 1) * bound).requires_grad_(), ((torch.rand(fan_out) * 2 - 1) * bound).requires_grad_()


params = {"hidden1": layer(784, 512), "hidden2": layer(512, 512), "out": layer(512, 10)}
optimizer = torch.optim.SGD([t for pair in params.values() for t in pair], lr=0.01)


def forward(inputs):
    h = inputs
    for name in ("hidden1", "hidden2"):
        W, b = params[name]
        h = torch.relu(h @ W + b)
    W, b = params["out"]
    return h @ W + b


for epoch in range(6):
    order = torch.randperm(len(y_train))
    losses = []
    for i in range(0, len(order), 128):
        idx = order[i:i + 128]
        loss = F.cross_entropy(forward(x_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f"epoch {epoch + 1}: loss {sum(losses) / len(losses):.4f}")
with torch.no_grad():
    acc = (forward(x_test).argmax(1) == y_test).float().mean().item()
print(f"held-out accuracy {acc:.3f}")
