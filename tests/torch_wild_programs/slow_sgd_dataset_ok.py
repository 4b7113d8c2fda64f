"""A healthy network that learns slowly: a ``Dataset`` class, an MLP class over an ``nn.ModuleList``, plain SGD at
lr 0.01 without momentum, six epochs of 2,000 rows in batches of 128 (96 steps).

Its largest score stays on one or two classes for most of the run, so its training batches are answered little better
than always answering the most common label, while its loss falls at every epoch and its held-out accuracy leaves
chance behind: a slow learner (a larger learning rate would help), not a network that does not learn.
"""
import sys

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(1)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)


class Digits(Dataset):
    def __init__(self, rows):
        self.x = torch.from_numpy(rows[:, 1:] / 255.0)
        self.y = torch.from_numpy(rows[:, 0].astype(np.int64))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


train, test = Digits(rows[:2000]), Digits(rows[2000:])
model = MLP([784, 512, 512, 10])
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()
loader = DataLoader(train, batch_size=128, shuffle=True)
for epoch in range(6):
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"epoch {epoch + 1}: loss {total / len(loader):.4f}")
with torch.no_grad():
    acc = (model(test.x).argmax(1) == test.y).float().mean().item()
print(f"held-out accuracy {acc:.3f}")
