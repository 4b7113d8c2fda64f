"""A trainer class around an nn.ModuleList of blocks; the features of the body are detached before the head."""
import sys

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images, labels = torch.from_numpy(rows[:, 1:] / 255.0), rows[:, 0].astype(np.int64)


class Classifier(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(a, b), nn.Tanh()) for a, b in zip(sizes, sizes[1:]))
        self.head = nn.Linear(sizes[-1], 10)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x.detach())


class Trainer:
    def __init__(self, model, lr):
        self.model = model
        self.opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
        self.history = []

    def training_step(self, xb, yb):
        loss = nn.functional.cross_entropy(self.model(xb), yb)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()

    def fit(self, x, y, epochs, batch):
        for epoch in range(epochs):
            order = np.random.permutation(len(y))
            total = 0.0
            for i in range(0, len(y), batch):
                idx = order[i:i + batch]
                total += self.training_step(x[idx], torch.as_tensor(y[idx]))
            self.history.append(total / (len(y) // batch))
            print(f"epoch {epoch}: mean loss {self.history[-1]:.4f}")


np.random.seed(0)
model = Classifier([784, 32, 8])
Trainer(model, lr=0.1).fit(images[:2500], labels[:2500], epochs=4, batch=64)
with torch.no_grad():
    acc = (model(images[2500:]).argmax(1).numpy() == labels[2500:]).mean()
print(f"held-out accuracy {acc:.3f}")
