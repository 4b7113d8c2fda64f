"""Bug: model.eval() before evaluating the untrained model, and model.train() never called again."""

import torch
from torch import nn

from mnist_data import batches, load

torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
model = nn.Sequential(nn.Linear(784, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def evaluate():
    model.eval()
    with torch.no_grad():
        return (model(x_test).argmax(1) == y_test).float().mean().item()


print(f"before training: test accuracy {evaluate():.2%}")
gen = torch.Generator().manual_seed(1)
for epoch in range(2):
    for xb, yb in batches(x_train, y_train, 64, gen):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: test accuracy {evaluate():.2%}")
