"""Labels rolled by one row against the images (each image paired with the previous row's label); otherwise the slow
learner of ``slow_sgd_default_init_ok`` (an ``nn.ModuleList`` MLP from PyTorch's default init, plain SGD at lr 0.1,
three epochs of 1,000 rows). Nothing carries over to a new row: its held-out accuracy stays at chance."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(1116)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
images, labels = torch.from_numpy(rows[:, 1:] / 255.0), torch.from_numpy(rows[:, 0]).long()
labels = torch.roll(labels, 1)
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
