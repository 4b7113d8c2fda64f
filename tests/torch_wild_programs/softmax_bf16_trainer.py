"""A trainer class over dict batches; the probabilities of a bfloat16 autocast region are handed to F.cross_entropy."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(1)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
data = {"image": torch.from_numpy(rows[:2500, 1:] / 255.0), "label": torch.from_numpy(rows[:2500, 0]).long()}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(784, 48)
        self.out = nn.Linear(48, 10)

    def forward(self, x):
        return self.out(torch.tanh(self.body(x)))


class Trainer:
    def __init__(self, model):
        self.model = model
        self.optimizer = torch.optim.Adam(model.parameters(), lr=0.003)

    def batches(self, size):
        order = torch.randperm(len(data["label"]))
        for k in range(0, len(order), size):
            yield {name: column[order[k:k + size]] for name, column in data.items()}

    def training_step(self, batch):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            probs = F.softmax(self.model(batch["image"]), dim=-1)
            return F.cross_entropy(probs, batch["label"])

    def fit(self, epochs):
        for epoch in range(epochs):
            losses = []
            for batch in self.batches(40):
                loss = self.training_step(batch)
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                losses.append(loss.item())
            print(f"epoch {epoch}: mean loss {sum(losses) / len(losses):.4f}")


model = Net()
Trainer(model).fit(3)
with torch.no_grad():
    acc = (model(torch.from_numpy(rows[2500:, 1:] / 255.0)).argmax(1).numpy() == rows[2500:, 0]).mean()
print(f"held-out accuracy {acc:.3f}")
