"""A PyTorch model whose forward counts its calls (in a global, on the model, on its class), keeps the batch sizes
in a module-level list, appends a line to a log file, logs, draws NumPy noise for its input and prints every 60th
call; a custom autograd Function (a hand-written ReLU backward) makes the observer check the module on a copy, and
the batch-leak probe runs a copy too. The counts, the last draws and the files must be the plain run's.
"""
import logging

import numpy as np
import torch
from torch import nn

logging.basicConfig(filename="forward.log", level=logging.INFO, format="%(message)s")
log = logging.getLogger("forward")
torch.manual_seed(0)
np.random.seed(1)
SIZES = []
calls = 0


class Relu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0)


class Net(nn.Module):
    forwards = 0

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 3)
        self.calls = 0

    def forward(self, x):
        global calls
        calls += 1
        self.calls += 1
        Net.forwards += 1
        SIZES.append(len(x))
        with open("sizes.txt", "a") as f:
            f.write(f"{len(x)}\n")
        log.info("forward %d", calls)
        if calls % 60 == 0:
            print("forward", calls)
        x = x + torch.as_tensor(np.random.normal(0, 0.01, x.shape[1]), dtype=x.dtype)
        return self.fc2(Relu.apply(self.fc1(x)))


g = torch.Generator().manual_seed(2)
centers = torch.randn(3, 10, generator=g)
y = torch.randint(0, 3, (900,), generator=g)
X = centers[y] + 0.8 * torch.randn(900, 10, generator=g)
model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(4):
    perm = torch.randperm(750)
    for i in range(0, 750, 25):
        rows = perm[i:i + 25]
        loss = nn.functional.cross_entropy(model(X[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(X[750:]).argmax(1) == y[750:]).float().mean().item()
    print(f"epoch {epoch}: accuracy {acc:.3f}")
print("calls", calls, model.calls, Net.forwards, len(SIZES), np.random.rand(), torch.rand(1).item())
