"""Bug: a "log-scaled pixels" layer takes the log of raw pixels, and most pixels are 0."""

import torch
from torch import nn

from mnist_data import batches, load


class LogPixels(nn.Module):
    def forward(self, x):
        return torch.log(x)  # log(0) = -inf for every background pixel


torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
model = nn.Sequential(LogPixels(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
gen = torch.Generator().manual_seed(1)
for epoch in range(2):
    for xb, yb in batches(x_train, y_train, 64, gen):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
