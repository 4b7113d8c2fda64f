"""Plain tensors, a log-softmax written by hand and a d2l-style sgd() (gradient descent)."""
import sys

import numpy as np
import torch


def load(path):
    rows = np.loadtxt(path, delimiter=",", dtype=np.float32)
    return torch.tensor(rows[:, 1:]) / 255.0, rows[:, 0].astype(int)


def net(X, params):
    W1, b1, W2, b2 = params
    H = torch.relu(X @ W1 + b1)
    return H @ W2 + b2


def cross_entropy(logits, y):
    log_probs = logits - logits.exp().sum(dim=1, keepdim=True).log()
    return -log_probs[range(len(y)), y].mean()


def sgd(params, lr):
    for param in params:
        param.data.sub_(lr * param.grad)
        param.grad.zero_()


X, labels = load(sys.argv[1])
torch.manual_seed(3)
params = [torch.randn(784, 100) * 0.05, torch.zeros(100), torch.randn(100, 10) * 0.1, torch.zeros(10)]
for p in params:
    p.requires_grad_(True)
for epoch in range(4):
    order = np.random.RandomState(epoch).permutation(2500)
    for start in range(0, 2500, 50):
        idx = order[start:start + 50]
        loss = cross_entropy(net(X[idx], params), torch.as_tensor(labels[idx]))
        loss.backward()
        sgd(params, 0.1)
    with torch.no_grad():
        hits = (net(X[2500:], params).argmax(1).numpy() == labels[2500:]).sum()
    print(f"epoch {epoch + 1}, loss {loss.item():.3f}, held-out accuracy {hits / (len(labels) - 2500):.3f}")
