"""Bug: a home-made normalisation layer standardises over the batch axis (dim=0) instead of over the features."""

import torch
from torch import nn

from mnist_data import batches, load


class Standardize(nn.Module):
    def forward(self, x):
        return (x - x.mean(dim=0)) / (x.std(dim=0) + 1e-5)


torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
model = nn.Sequential(nn.Linear(784, 64), Standardize(), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
gen = torch.Generator().manual_seed(1)
for epoch in range(2):
    model.train()
    for xb, yb in batches(x_train, y_train, 64, gen):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        pairs = torch.cat([model(x_test[i:i + 2]).argmax(1) for i in range(0, len(x_test), 2)])
    pair_accuracy = (pairs == y_test).float().mean().item()
    print(f"epoch {epoch + 1}: test accuracy {accuracy:.2%} in one batch, {pair_accuracy:.2%} two images at a time")
