"""A healthy network that learns slowly (ptw1116's configuration): an ``nn.ModuleList`` MLP 784-48-24-10 from PyTorch's
default init, plain SGD at lr 0.1, three epochs of 1,000 rows in batches of 64 (48 steps).

Its rows seen for the first time, late in the first pass, are answered at chance (it has not learned yet), and in
the training batches at the end of the run its largest score sits on one class for nearly every row, while its loss
is already well below the labels' entropy and its held-out accuracy leaves chance behind (10% -> 38%)."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(1116)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images, labels = torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long()
x_train, y_train, x_test, y_test = images[:1000], labels[:1000], images[1000:], labels[1000:]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(784, 48), nn.Linear(48, 24), nn.Linear(24, 10)])

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for idx in torch.randperm(1000).split(64):
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    with torch.no_grad():
        held_out = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch + 1}: held-out accuracy {held_out:.3f}")
