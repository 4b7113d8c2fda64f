"""Bug: learning rate 1e-5 for plain SGD: the weights barely move and the loss stays where it started."""

import torch
from torch import nn

from mnist_data import batches, load

torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=1e-5)
gen = torch.Generator().manual_seed(1)
for epoch in range(3):
    for xb, yb in batches(x_train, y_train, 32, gen):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
