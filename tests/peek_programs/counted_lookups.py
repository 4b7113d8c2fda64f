"""A tanh network on a class that counts every attribute lookup of its instances (a debugging aid, a proxy).

The program prints the count of each name at the end: ``python`` looks up only what the program's own lines
name (``self.W``, ``self.forward``); an observer that asks the object what it is (``isinstance`` reads
``__class__`` through ``__getattribute__``, ``vars`` reads ``__dict__``) changes what it prints.
"""
import collections

import numpy as np

LOOKUPS = collections.Counter()


class Net:
    def __init__(self, n_in, n_out, rng):
        self.W = rng.normal(0, 0.1, (n_in, n_out))
        self.b = np.zeros(n_out)

    def __getattribute__(self, name):
        LOOKUPS[name] += 1
        return object.__getattribute__(self, name)

    def forward(self, x):
        self.x = x
        return np.tanh(x @ self.W + self.b)

    def backward(self, out, y):
        d = (out - y) * (1 - out ** 2)
        return self.x.T @ d / len(y), d.mean(0)


rng = np.random.default_rng(1)
X = rng.normal(size=(200, 4))
Y = np.tanh(X @ rng.normal(size=(4, 3)))
net = Net(4, 3, np.random.default_rng(0))
for _epoch in range(30):
    for i in range(0, 200, 20):
        out = net.forward(X[i:i + 20])
        gW, gb = net.backward(out, Y[i:i + 20])
        net.W -= 0.5 * gW
        net.b -= 0.5 * gb
print("loss", round(float(((net.forward(X) - Y) ** 2).mean()), 6))
print("lookups", sorted(LOOKUPS.items()))
