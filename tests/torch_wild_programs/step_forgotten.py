"""A train() function that zeroes and backpropagates but never calls optimizer.step() (Adam, a DataLoader)."""
import sys

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
dataset = TensorDataset(torch.from_numpy(rows[:2500, 1:] / 255.0), torch.from_numpy(rows[:2500, 0]).long())
x_val, y_val = torch.from_numpy(rows[2500:, 1:] / 255.0), torch.from_numpy(rows[2500:, 0]).long()


def train(model, loader, optimizer, epochs):
    criterion = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        running = 0.0
        for images, targets in loader:
            optimizer.zero_grad()
            loss = criterion(model(images), targets)
            loss.backward()
            running += loss.item()
        model.eval()
        with torch.no_grad():
            correct = (model(x_val).argmax(1) == y_val).sum().item()
        print(f"epoch {epoch}: loss {running / len(loader):.4f}, val accuracy {correct / len(y_val):.3f}")


net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
train(net, DataLoader(dataset, batch_size=64, shuffle=True), torch.optim.Adam(net.parameters(), lr=1e-3), epochs=3)
