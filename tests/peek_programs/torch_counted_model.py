"""A PyTorch model whose classes count every lookup made on their modules (a debugging aid that logs reads).

The observer's walks of the model (its parameters, submodules, train/eval mode) must read what ``nn.Module``
keeps in each instance's ``__dict__``, never through the class's ``__getattribute__``, and the batch-leak probe's
copy of the model must leave the count as the program left it: the counts printed under ``netdoctor run`` are
those printed under ``python``. Lookups made by ``Module._call_impl`` itself are not counted: with any global
forward hook installed (the observer's), PyTorch's call path leaves its fast path and reads the module's hook
dictionaries; those reads are PyTorch's, the same for any program with a global hook.
"""
import collections
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

TORCH = os.path.dirname(torch.__file__)
CALL_PATH = ("_call_impl", "_wrapped_call_impl", "inner")  # inner: _call_impl's path with hooks
LOOKUPS = collections.Counter()


class Counted:
    """Counts every attribute lookup of its instances, except those of PyTorch's call path."""

    def __getattribute__(self, name):
        code = sys._getframe(1).f_code
        if not (code.co_name in CALL_PATH and code.co_filename.startswith(TORCH)):
            LOOKUPS[name] += 1
        return super().__getattribute__(name)


class Block(Counted, nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 32)
        self.bn = nn.BatchNorm1d(32)

    def forward(self, x):
        return F.relu(self.bn(self.fc(x)))


class Net(Counted, nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.out = nn.Linear(32, 6)

    def forward(self, x):
        h = F.dropout(self.block(x), 0.3, training=self.training)
        return self.out(h)


torch.manual_seed(0)
X = torch.rand(256, 20)
y = X[:, :5].sum(1).argsort().argsort() * 6 // 256
model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for _epoch in range(6):
    model.train()
    for i in range(0, 256, 32):
        opt.zero_grad()
        F.cross_entropy(model(X[i:i + 32]), y[i:i + 32]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(X).argmax(1) == y).float().mean().item()
print("lookups", sorted(LOOKUPS.items()))
