"""A class model trained by hand through ``.data`` (older tutorials' way): ``p.data.add_(p.grad, alpha=-lr)``, then
``p.grad = None``."""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
data = np.loadtxt(sys.argv[1] if len(sys.argv) > 1 else "train.csv", delimiter=",", dtype=np.float32)
X = torch.from_numpy(data[:, 1:] / 255.0)
Y = torch.from_numpy(data[:, 0]).long()


class Classifier(nn.Module):
    def __init__(self, hidden=48):
        super().__init__()
        self.hidden = nn.Linear(784, hidden)
        self.out = nn.Linear(hidden, 10)

    def forward(self, x):
        return F.log_softmax(self.out(torch.tanh(self.hidden(x))), dim=1)


class Trainer:
    def __init__(self, net, lr):
        self.net, self.lr = net, lr

    def update(self):
        for p in self.net.parameters():
            p.data.add_(p.grad.data, alpha=-self.lr)
            p.grad = None

    def fit(self, X, Y, epochs, batch):
        for epoch in range(epochs):
            order = torch.randperm(2500)
            total = 0.0
            for i in range(0, 2500, batch):
                rows = order[i:i + batch]
                loss = F.nll_loss(self.net(X[rows]), Y[rows])
                loss.backward()
                self.update()
                total += loss.item()
            with torch.no_grad():
                acc = (self.net(X[2500:]).argmax(1) == Y[2500:]).float().mean().item()
            print(f"epoch {epoch}: mean loss {total / (2500 // batch):.4f}, held-out accuracy {acc:.3f}")


Trainer(Classifier(), lr=0.2).fit(X, Y, epochs=4, batch=25)
