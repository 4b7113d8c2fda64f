"""The PyTorch loop issue 25 states its per-step target for: a 784-512-512-10 ReLU MLP, batch 128, three epochs.

``optim.SGD`` (lr 0.01), ``nn.CrossEntropyLoss``, ``zero_grad`` / ``backward`` / ``step`` on 4,000 MNIST rows
(one torch thread). Besides the whole process's time, the program prints the seconds its training loop took per
optimizer step, wall clock and CPU time of the process (``seconds per step: S`` and ``cpu seconds per step: C``):
the observer's share of a step, without torch's import and the data load. The CPU figure is the one to judge: on a
busy machine the wall clock also holds the time other processes took the core. An optional second argument trains for
that many epochs instead of three (the bench's longer row: its per step is the slope past the first pass).
"""

import sys
import time

import numpy as np
import torch
from _data import mnist
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)
X, Y = mnist(5000)
x_train, y_train = torch.from_numpy(X[:4000].astype(np.float32)), torch.from_numpy(Y[:4000].astype(np.int64))
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
updates = 0
t0, c0 = time.perf_counter(), time.process_time()
for _epoch in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
    order = torch.randperm(len(y_train))
    for i in range(0, len(y_train), 128):
        idx = order[i:i + 128]
        opt.zero_grad()
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
        updates += 1
seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
with torch.no_grad():
    acc = (model(torch.from_numpy(X[4000:].astype(np.float32))).argmax(1).numpy() == Y[4000:]).mean()
print(f"accuracy {acc:.3f}")
print(f"seconds per step: {seconds / updates:.6f}")
print(f"cpu seconds per step: {cpu_seconds / updates:.6f}")
print(f"updates: {updates}")
