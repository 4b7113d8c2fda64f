"""A trainer class with a hand-written log-softmax loss (integer labels index the log-probabilities) and per-epoch
dict batches, each row with its own label."""
import sys

import numpy as np
import torch
from torch import nn

torch.manual_seed(5)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
data = {"x": torch.from_numpy(rows[:800, 1:] / 255.0), "y": rows[:800, 0].astype(np.int64)}


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 96)
        self.out = nn.Linear(96, 10)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


def nll(scores, labels):
    log_probs = torch.log_softmax(scores, dim=1)
    return -log_probs.gather(1, labels[:, None]).mean()


class Trainer:
    def __init__(self, model):
        self.model = model
        self.opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def batches(self, size):
        order = np.random.permutation(len(data["y"]))
        for k in range(0, len(order), size):
            idx = order[k:k + size]
            yield {"x": data["x"][idx], "y": torch.from_numpy(data["y"][idx])}

    def fit(self, epochs):
        for epoch in range(epochs):
            total = 0.0
            for batch in self.batches(25):
                loss = nll(self.model(batch["x"]), batch["y"])
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                total += loss.item()
            print(f"epoch {epoch}: loss {total / 32:.4f}")


np.random.seed(5)
model = Classifier()
Trainer(model).fit(8)
with torch.no_grad():
    acc = (model(torch.from_numpy(rows[800:, 1:] / 255.0)).argmax(1).numpy() == rows[800:, 0]).mean()
print(f"held-out accuracy {acc:.3f}")
