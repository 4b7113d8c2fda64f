"""A model whose forward trains both layers (SGD with momentum)."""
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(2)
d = np.loadtxt(sys.argv[1] if len(sys.argv) > 1 else "train.csv", delimiter=",")
X = torch.tensor(d[:, 1:] / 255, dtype=torch.float32)
Y = torch.tensor(d[:, 0], dtype=torch.long)


class Net(torch.nn.Module):
    def __init__(self, n_in, n_h, n_out):
        super().__init__()
        self.hidden = torch.nn.Linear(n_in, n_h)
        self.out = torch.nn.Linear(n_h, n_out)

    def forward(self, x):
        h = torch.sigmoid(self.hidden(x))
        return F.log_softmax(self.out(h), dim=1)


net = Net(784, 100, 10)
opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
for ep in range(5):
    for b in range(0, 2500, 100):
        opt.zero_grad()
        loss = F.nll_loss(net(X[b:b + 100]), Y[b:b + 100])
        loss.backward()
        opt.step()
    with torch.no_grad():
        print(ep, round(loss.item(), 4), (net(X[2500:]).argmax(1) == Y[2500:]).float().mean().item())
