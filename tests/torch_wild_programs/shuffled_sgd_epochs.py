"""Labels shuffled apart from the images once, before training (a permutation meant for the rows applied to the labels
alone); a plain loop of ``torch.optim.SGD`` at lr 0.1, five epochs of 500 rows in batches of 16.

Plain SGD memorises the rows steadily over the epochs: the training accuracy climbs while what the network answers
on rows it has not been trained on stays at chance."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(3)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images, labels = torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long()
labels = labels[torch.randperm(len(labels))]
x_train, y_train, x_test, y_test = images[:500], labels[:500], images[500:], labels[500:]

model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(5):
    order = torch.randperm(500)
    hits = 0
    for i in range(0, 500, 16):
        idx = order[i:i + 16]
        logits = model(x_train[idx])
        loss = F.cross_entropy(logits, y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        hits += (logits.argmax(1) == y_train[idx]).sum().item()
    with torch.no_grad():
        held_out = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch}: training accuracy {hits / 500:.3f}, held-out accuracy {held_out:.3f}")
