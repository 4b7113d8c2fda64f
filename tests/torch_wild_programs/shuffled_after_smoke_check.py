"""A smoke test before training: a throwaway copy of the model must fit two batches (24 hand-written SGD steps on the
same 64 rows), then the real model is trained the same way, by hand, on the whole set; the labels were shuffled apart
from the images before either saw them."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(5)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images, labels = torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long()
labels = labels[torch.randperm(len(labels))]
x_train, y_train, x_test, y_test = images[:1000], labels[:1000], images[1000:], labels[1000:]


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


def sgd_step(model, xb, yb, lr=0.1):
    model.zero_grad()
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(lr * p.grad)
    return loss.item()


check = MLP()
for k in range(24):
    first = sgd_step(check, x_train[32 * (k % 2):32 * (k % 2) + 32], y_train[32 * (k % 2):32 * (k % 2) + 32])
print(f"smoke test: two batches fitted to loss {first:.3f}")

model = MLP()
for epoch in range(3):
    order = torch.randperm(1000)
    for i in range(0, 1000, 16):
        idx = order[i:i + 16]
        sgd_step(model, x_train[idx], y_train[idx])
    with torch.no_grad():
        held_out = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch}: held-out accuracy {held_out:.3f}")
