"""Healthy: a heavy ball kept beside the weights on one object (``v *= mu; v += g; p -= lr * v`` in a loop over ``zip``
of the parameters, velocities and gradients computed in the zip's arguments), one column per update, mu 0.9, leaky relu
hidden units and a linear output trained on ``out - T`` of one-hot targets; three well-separated classes. The twin of
momentum_attrs_linear.py (``v *= mu; v -= lr * g; p += v``, mu 0.5): both were read as gradient buffers never emptied
(carry-over 1.0) until the velocities were looked at within the loop.
"""
import numpy as np

rng = np.random.default_rng(41)
K, D, N, n_train = 3, 12, 400, 300
centers = rng.uniform(40, 215, (K, D))
classes = rng.integers(0, K, N)
table = np.column_stack([classes, np.clip(centers[classes] + rng.normal(0, 25, (N, D)), 0, 255)])
scaled = table / 255.0
X_train = scaled[:n_train, 1:].T
y_train = table[:n_train, 0].astype(int)
X_test = scaled[n_train:, 1:].T
y_test = table[n_train:, 0].astype(int)
n_out = int(y_train.max()) + 1
hidden, lr, mu = 16, 0.01, 0.9


class Net:
    pass


def forward(net, x):
    net.z1 = net.W1 @ x + net.b1
    net.h1 = np.where(net.z1 > 0, net.z1, 0.01 * net.z1)
    net.out = net.W2 @ net.h1 + net.b2


def backward(net, x, t, scale):
    d2 = (net.out - np.eye(net.out.shape[0])[t].T) / x.shape[1]
    dz1 = (net.W2.T @ d2) * np.where(net.z1 > 0, 1.0, 0.01)
    for p, v, g in zip((net.W1, net.b1, net.W2, net.b2), (net.vW1, net.vb1, net.vW2, net.vb2),
                       (dz1 @ x.T, dz1.sum(axis=1, keepdims=True), d2 @ net.h1.T, d2.sum(axis=1, keepdims=True))):
        v *= mu
        v += g
        p -= scale * v


def train(net, X, y):
    for epoch in range(4):
        for i in rng.permutation(len(y)):
            forward(net, X[:, i:i + 1])
            backward(net, X[:, i:i + 1], y[i:i + 1], lr)
        forward(net, X_test)
        print(f"epoch {epoch}: test accuracy {np.mean(net.out.argmax(axis=0) == y_test):.3f}")


net = Net()
net.W1 = rng.uniform(-1, 1, (hidden, D)) * np.sqrt(6.0 / D)
net.b1 = np.zeros((hidden, 1))
net.W2 = rng.uniform(-1, 1, (n_out, hidden)) * np.sqrt(6.0 / hidden)
net.b2 = np.zeros((n_out, 1))
for name in ("W1", "b1", "W2", "b2"):
    setattr(net, "v" + name, np.zeros_like(getattr(net, name)))
train(net, X_train, y_train)
