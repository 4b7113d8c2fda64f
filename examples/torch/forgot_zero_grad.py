"""Bug: optimizer.zero_grad() is never called, so each step applies the sum of all earlier gradients."""

import torch
from torch import nn

from mnist_data import batches, load

torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
gen = torch.Generator().manual_seed(1)

for epoch in range(2):
    for xb, yb in batches(x_train, y_train, 64, gen):
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy:.2%}")
