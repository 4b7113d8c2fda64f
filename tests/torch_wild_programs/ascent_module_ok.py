"""An nn.Sequential stepped by hand (gradient descent)."""
import sys

import numpy as np
import torch
from torch import nn

torch.manual_seed(1)
data = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
x_all, y_all = torch.from_numpy(data[:, 1:] / 255.0), torch.from_numpy(data[:, 0]).long()
x_train, y_train, x_val, y_val = x_all[:2500], y_all[:2500], x_all[2500:], y_all[2500:]

model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
loss_fn = nn.CrossEntropyLoss()
lr = 0.05

for epoch in range(3):
    running, seen = 0.0, 0
    for i in range(0, len(x_train), 32):
        xb, yb = x_train[i:i + 32], y_train[i:i + 32]
        loss = loss_fn(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        model.zero_grad()
        running += loss.item() * len(xb)
        seen += len(xb)
    with torch.no_grad():
        accuracy = (model(x_val).argmax(dim=1) == y_val).float().mean().item()
    print(f"epoch {epoch}: train loss {running / seen:.4f}, validation accuracy {accuracy:.3f}")
