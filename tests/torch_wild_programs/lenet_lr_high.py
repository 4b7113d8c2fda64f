"""A LeNet-5 style CNN (two convolutions with max pooling, three linear layers, relus), plain SGD at lr 3.0 on batches
of 32 (the usual rate for this net is 0.01-0.1): no step of the first five is larger than the weights, but the weights
then blow up and every relu dies, so the loss sits at chance without diverging."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
x = torch.from_numpy(rows[:, 1:] / 255.0).reshape(-1, 1, 28, 28)
y = torch.from_numpy(rows[:, 0]).long()
x_train, y_train, x_test, y_test = x[:2500], y[:2500], x[2500:], y[2500:]


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


model = LeNet()
opt = torch.optim.SGD(model.parameters(), lr=3.0)
for epoch in range(3):
    perm = torch.randperm(len(x_train))
    for i in range(0, len(x_train), 32):
        idx = perm[i:i + 32]
        opt.zero_grad()
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {acc:.3f}")
