"""A PyTorch program whose configuration objects count their lookups (one as a global, two in a list and a dict).

The program reads ``cfg.lr`` once and prints the count at the end; the observer walks the frames' variables for
the tensors it names and must not ask these objects whether they are tensors.
"""
import collections

import numpy as np
import torch
from torch import nn

LOOKUPS = collections.Counter()


class Config:
    def __init__(self):
        self.lr = 0.1

    def __getattribute__(self, name):
        LOOKUPS[name] += 1
        return object.__getattribute__(self, name)

    def __getattr__(self, name):
        LOOKUPS["missing " + name] += 1
        raise AttributeError(name)


cfg = Config()
others = [Config(), {"spare": Config()}]
torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.normal(size=(300, 8)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 3, 300))
model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
for _epoch in range(20):
    for i in range(0, 300, 30):
        loss = nn.functional.cross_entropy(model(X[i:i + 30]), y[i:i + 30])
        opt.zero_grad()
        loss.backward()
        opt.step()
print("loss", round(float(loss.detach()), 3))
print("lookups", sorted(LOOKUPS.items()))
