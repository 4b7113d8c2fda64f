"""A model of loose tensors kept in a dict (no nn.Module), trained by Adam on a DataLoader of the images and their
own labels."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images, labels = torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long()
train = DataLoader(TensorDataset(images[:1000], labels[:1000]), batch_size=32, shuffle=True)

net = {"W1": torch.randn(784, 128) * (2 / 784) ** 0.5, "b1": torch.zeros(128),
       "W2": torch.randn(128, 10) * (1 / 128) ** 0.5, "b2": torch.zeros(10)}
for t in net.values():
    t.requires_grad_()
optimizer = torch.optim.Adam(net.values(), lr=0.003)


def scores(x):
    return torch.relu(x @ net["W1"] + net["b1"]) @ net["W2"] + net["b2"]


for epoch in range(4):
    hits = 0
    for xb, yb in train:
        logits = scores(xb)
        loss = F.cross_entropy(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        hits += (logits.argmax(1) == yb).sum().item()
    with torch.no_grad():
        held_out = (scores(images[1000:]).argmax(1) == labels[1000:]).float().mean().item()
    print(f"epoch {epoch}: training accuracy {hits / 1000:.3f}, held-out accuracy {held_out:.3f}")
