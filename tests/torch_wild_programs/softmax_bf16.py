"""A module-level loop under bfloat16 autocast on the CPU; the model's forward ends in a softmax fed to nn.CrossEntropyLoss."""
import sys

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
x_all, y_all = torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long()
x_train, y_train, x_test, y_test = x_all[:2500], y_all[:2500], x_all[2500:], y_all[2500:]

model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10), nn.Softmax(dim=1))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

for epoch in range(3):
    order = torch.randperm(len(y_train))
    for i in range(0, len(order), 50):
        idx = order[i:i + 50]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = criterion(model(x_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {acc:.3f}")
