"""A module-level loop over a DataLoader; the labels were shuffled apart from the images before the dataset was built."""
import sys

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images, labels = torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long()
labels = labels[torch.randperm(len(labels))]
train = DataLoader(TensorDataset(images[:1000], labels[:1000]), batch_size=32, shuffle=True)

model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(6):
    hits = 0
    for xb, yb in train:
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        hits += (logits.argmax(1) == yb).sum().item()
    with torch.no_grad():
        held_out = (model(images[1000:]).argmax(1) == labels[1000:]).float().mean().item()
    print(f"epoch {epoch}: training accuracy {hits / 1000:.3f}, held-out accuracy {held_out:.3f}")
