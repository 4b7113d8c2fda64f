"""A PyTorch MLP (784-64-10) fed by its own ``Dataset`` class through a ``DataLoader`` (batch 32, two epochs)."""

import numpy as np
import torch
from _data import mnist
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Digits(Dataset):
    def __init__(self, X, y):
        self.X, self.y = X.astype(np.float32), y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i]), int(self.y[i])


torch.manual_seed(0)
torch.set_num_threads(1)
X, Y = mnist(5000)
loader = DataLoader(Digits(X[:4000], Y[:4000]), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()
updates = 0
for _epoch in range(2):
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        updates += 1
with torch.no_grad():
    acc = (model(torch.from_numpy(X[4000:].astype(np.float32))).argmax(1).numpy() == Y[4000:]).mean()
print(f"accuracy {acc:.3f}")
print(f"updates: {updates}")
