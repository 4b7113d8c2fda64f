"""The project's training loop and evaluation."""

import torch
from torch import nn


def train(model, loader, epochs):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    updates = 0
    for _epoch in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
            updates += 1
    return updates


def evaluate(model, X, y):
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()
