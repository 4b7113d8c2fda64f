"""A module-level loop over shuffled index batches whose ``loss.backward`` lacks its parentheses: the method is named,
never called, so no gradient is computed and every ``optimizer.step()`` (SGD with momentum) applies nothing."""
import sys

import numpy as np
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


torch.manual_seed(3)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
x, y = torch.from_numpy(rows[:2500, 1:] / 255.0), torch.from_numpy(rows[:2500, 0]).long()
x_val, y_val = torch.from_numpy(rows[2500:, 1:] / 255.0), torch.from_numpy(rows[2500:, 0]).long()
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for epoch in range(3):
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 64):
        idx = perm[i:i + 64]
        optimizer.zero_grad()
        loss = criterion(model(x[idx]), y[idx])
        loss.backward  # noqa: B018 - the bug: the method named, never called
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(x_val).argmax(1) == y_val).float().mean().item()
    print(f"epoch {epoch}: loss {loss.item():.3f}, val accuracy {accuracy:.3f}")
