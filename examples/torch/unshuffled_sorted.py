"""Bug: the training rows are grouped by digit (one block per class) and the DataLoader does not shuffle them."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mnist_data import load

torch.manual_seed(0)
x_train, y_train, x_test, y_test = load()
# one block of rows per digit, as when each class comes from a folder of its own
blocks = [(x_train[y_train == d], y_train[y_train == d]) for d in range(10)]
x_train, y_train = torch.cat([x for x, _ in blocks]), torch.cat([y for _, y in blocks])
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=50)
model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(3):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
    with torch.no_grad():
        print(f"epoch {epoch + 1}: test accuracy {(model(x_test).argmax(1) == y_test).float().mean().item():.2%}")
