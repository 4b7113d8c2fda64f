"""The twin of ``shifted_small_steps``: the same trainer class, the labels left where they belong."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(11)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images = torch.from_numpy(rows[:, 1:] / 255.0)
labels = rows[:, 0].astype(np.int64)
x_train, y_train = images[:1000], labels[:1000]
x_test, y_test = images[1000:], labels[1000:]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def log_likelihood_loss(logits, targets):
    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
    return -log_probs[torch.arange(len(targets)), targets].mean()


class Trainer:
    def __init__(self, model, lr):
        self.model, self.lr = model, lr

    def training_step(self, xb, yb):
        loss = log_likelihood_loss(self.model(xb), yb)
        loss.backward()
        with torch.no_grad():
            for p in self.model.parameters():
                p -= self.lr * p.grad
        self.model.zero_grad()
        return loss.item()

    def fit(self, epochs, batch_size):
        for epoch in range(epochs):
            order = torch.randperm(len(y_train))
            losses = [self.training_step(x_train[idx], torch.from_numpy(y_train[idx.numpy()]))
                      for idx in order.split(batch_size)]
            print(f"epoch {epoch + 1}: loss {sum(losses) / len(losses):.4f}")


model = Net()
Trainer(model, lr=0.09).fit(epochs=3, batch_size=64)
with torch.no_grad():
    acc = (model(x_test).argmax(1).numpy() == y_test).mean()
print(f"held-out accuracy {acc:.3f}")
