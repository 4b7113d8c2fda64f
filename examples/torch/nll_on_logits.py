"""Bug: the model returns raw scores and they go into F.nll_loss, which expects log-probabilities (no log_softmax)."""

import torch
import torch.nn.functional as F
from torch import nn

from mnist_data import batches, load

torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
gen = torch.Generator().manual_seed(1)
for epoch in range(2):
    for xb, yb in batches(x_train, y_train, 64, gen):
        optimizer.zero_grad()
        loss = F.nll_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch + 1}: loss {loss.item():.4g}, test accuracy {accuracy:.2%}")
