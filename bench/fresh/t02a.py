# PyTorch: nn.Module subclass on MNIST csv subset, Adam, explicit forward
import sys
import gzip
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)
    def forward(self, x):
        h = F.relu(self.fc1(x)).detach()  # BUG: detach cuts fc1 out of the graph
        h = F.relu(self.fc2(h))
        return self.fc3(h)

def main():
    torch.manual_seed(1)
    raw = np.loadtxt(gzip.open(sys.argv[1]), delimiter=",", max_rows=3000, dtype=np.float32)
    X = torch.tensor(raw[:, 1:] / 255.0)
    y = torch.tensor(raw[:, 0]).long()
    Xtr, ytr, Xte, yte = X[:2500], y[:2500], X[2500:], y[2500:]
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(6):
        model.train()
        perm = torch.randperm(2500)
        for i in range(0, 2500, 64):
            b = perm[i:i + 64]
            logits = model(Xtr[b])
            loss = F.cross_entropy(logits, ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print("epoch", epoch, "loss", loss.item())
    model.eval()
    with torch.no_grad():
        print("test accuracy", (model(Xte).argmax(1) == yte).float().mean().item())

if __name__ == "__main__":
    main()
