"""PyTorch's 'what is torch.nn really' style: plain tensors with requires_grad, a manual SGD step."""
import math
import sys
import numpy as np
import torch

torch.manual_seed(0)
d = np.loadtxt(sys.argv[1] if len(sys.argv) > 1 else "train.csv", delimiter=",", dtype=np.float32)
x_train, y_train = map(torch.tensor, (d[:2500, 1:] / 255, d[:2500, 0].astype(np.int64)))
x_valid, y_valid = map(torch.tensor, (d[2500:, 1:] / 255, d[2500:, 0].astype(np.int64)))
weights = torch.randn(784, 10) / math.sqrt(784)
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)

def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)

def model(xb):
    return log_softmax(xb @ weights + bias)

def nll(input, target):
    return -input[range(target.shape[0]), target].mean()

def accuracy(out, yb):
    return (torch.argmax(out, dim=1) == yb).float().mean()

lr, bs, epochs = 0.5, 64, 3
n = x_train.shape[0]
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        xb = x_train[i * bs: i * bs + bs]
        yb = y_train[i * bs: i * bs + bs]
        loss = nll(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
    print(epoch, loss.item(), accuracy(model(x_valid), y_valid).item())
