"""Manual SGD on an nn.Module, gradients never zeroed (they pile up step after step)."""
import sys
import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
data = np.loadtxt(sys.argv[1] if len(sys.argv) > 1 else "train.csv", delimiter=",", dtype=np.float32)
X = torch.from_numpy(data[:, 1:] / 255.0)
y = torch.from_numpy(data[:, 0]).long()
Xtr, ytr, Xte, yte = X[:2500], y[:2500], X[2500:], y[2500:]

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

model = MLP()
lr = 0.1
for epoch in range(4):
    perm = torch.randperm(len(Xtr))
    for i in range(0, len(Xtr), 50):
        idx = perm[i:i + 50]
        out = model(Xtr[idx])
        loss = nn.functional.cross_entropy(out, ytr[idx])
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        model.zero_grad()
    with torch.no_grad():
        acc = (model(Xte).argmax(1) == yte).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.4f} test acc {acc:.3f}")
