"""Softmax regression from scratch, as "Dive into Deep Learning" writes it: parameters in a list, a summed loss, and
an ``sgd`` helper that divides by the batch size and empties each gradient after its update."""
import sys

import numpy as np
import torch

torch.manual_seed(0)
data = np.loadtxt(sys.argv[1] if len(sys.argv) > 1 else "train.csv", delimiter=",", dtype=np.float32)
features, labels = torch.tensor(data[:, 1:] / 255.0), torch.tensor(data[:, 0]).long()
train_x, train_y, test_x, test_y = features[:2500], labels[:2500], features[2500:], labels[2500:]

num_inputs, num_outputs = 784, 10
W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
b = torch.zeros(num_outputs, requires_grad=True)
params = [W, b]


def softmax(X):
    X_exp = torch.exp(X - X.max(1, keepdim=True).values)
    return X_exp / X_exp.sum(1, keepdim=True)


def net(X):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y] + 1e-9)


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def data_iter(batch_size, X, y):
    idx = torch.randperm(len(X))
    for i in range(0, len(X), batch_size):
        j = idx[i:i + batch_size]
        yield X[j], y[j]


lr, num_epochs, batch_size = 0.1, 5, 32
for epoch in range(num_epochs):
    for X, y in data_iter(batch_size, train_x, train_y):
        l = cross_entropy(net(X), y)
        l.sum().backward()
        sgd(params, lr, batch_size)
    with torch.no_grad():
        acc = (net(test_x).argmax(1) == test_y).float().mean().item()
        train_l = cross_entropy(net(train_x), train_y).mean().item()
    print(f"epoch {epoch + 1}, loss {train_l:f}, test acc {acc:.3f}")
