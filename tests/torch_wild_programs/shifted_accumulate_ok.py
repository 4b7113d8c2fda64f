"""A module-level loop that accumulates the gradients of two batches of 32 before each ``optim.SGD`` step (lr 0.1,
``F.cross_entropy`` halved per batch), five epochs of 512 rows: a first pass of 8 steps, 16 batches. The label array
is the images' own: the healthy twin of ``shifted_accumulate``."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(7)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images = torch.from_numpy(rows[:, 1:] / 255.0)
labels = torch.from_numpy(rows[:, 0].astype(np.int64))
x_train, y_train = images[:512], labels[:512]
x_test, y_test = images[1000:], labels[1000:]

model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
for layer in (model[0], model[2]):
    nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(5):
    order = torch.randperm(len(y_train))
    total = 0.0
    for i, idx in enumerate(order.split(32)):
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx]) / 2
        loss.backward()
        if i % 2 == 1:
            opt.step()
            opt.zero_grad()
        total += loss.item()
    print(f"epoch {epoch + 1}: loss {total / (i + 1):.4f}")
with torch.no_grad():
    acc = (model(x_test).argmax(1) == y_test).float().mean().item()
print(f"held-out accuracy {acc:.3f}")
