"""A function-style loop with a squared error written by hand against one-hot rows (a difference squared: autograd keeps
no class targets of it); the labels were shuffled apart from the images."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(7)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
x = torch.from_numpy(rows[:1000, 1:] / 255.0)
y = torch.from_numpy(np.random.default_rng(7).permutation(rows[:1000, 0])).long()


def train_one_epoch(model, optimizer):
    total = 0.0
    for idx in torch.randperm(1000).split(50):
        probs = model(x[idx]).softmax(dim=1)
        loss = ((probs - F.one_hot(y[idx], 10).float()) ** 2).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / 20


model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for epoch in range(4):
    print(f"epoch {epoch}: loss {train_one_epoch(model, optimizer):.4f}")
