"""Bug: "is this digit a zero?" with a sigmoid output fed to BCEWithLogitsLoss, which applies its own sigmoid."""

import torch
from torch import nn

from mnist_data import batches, load

torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.BCEWithLogitsLoss()
gen = torch.Generator().manual_seed(1)
for epoch in range(2):
    for xb, yb in batches(x_train, y_train, 64, gen):
        optimizer.zero_grad()
        loss = criterion(model(xb).squeeze(1), (yb == 0).float())
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
