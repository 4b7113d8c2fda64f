"""Bug: eight sigmoid layers with small initial weights: the gradient dies on its way down to the first layers."""

import torch
from torch import nn

from mnist_data import batches, load

torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
layers = [nn.Linear(784, 64), nn.Sigmoid()]
for _ in range(7):
    layers += [nn.Linear(64, 64), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.Linear(64, 10))
for layer in model:
    if isinstance(layer, nn.Linear):
        nn.init.normal_(layer.weight, 0.0, 0.05)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
gen = torch.Generator().manual_seed(1)
for epoch in range(2):
    for xb, yb in batches(x_train, y_train, 64, gen):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
