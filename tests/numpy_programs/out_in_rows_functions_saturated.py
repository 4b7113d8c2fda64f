"""The twin of out_in_rows_functions.py whose first weights are drawn U(-8, 8): the first tanh saturates.
Weights stored (out, in) on a bare object, applied to batches of rows as ``np.dot(x, W.T)`` by module-level
functions: a forward returning every layer's result, a backward returning the gradients, an optimizer object stepping
its list of arrays in place; two tanh hidden layers; mini-batches of 20; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(309)
C, D, H, N = 4, 20, 12, 800
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))


class Net:
    pass


class SGD:
    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p -= self.lr * g


net = Net()
net.W1 = rng.uniform(-1.0, 1.0, (H, D)) * 8.0  # BUG: saturated-activations
net.b1 = np.zeros(H)
net.W2 = rng.uniform(-1.0, 1.0, (H, H)) * np.sqrt(6.0 / (2 * H))
net.b2 = np.zeros(H)
net.W3 = rng.uniform(-1.0, 1.0, (C, H)) * np.sqrt(6.0 / (H + C))
net.b3 = np.zeros(C)


def forward(x):
    h1 = np.tanh(np.dot(x, net.W1.T) + net.b1)
    h2 = np.tanh(np.dot(h1, net.W2.T) + net.b2)
    z3 = np.dot(h2, net.W3.T) + net.b3
    e = np.exp(z3 - z3.max(axis=1, keepdims=True))
    return h1, h2, e / e.sum(axis=1, keepdims=True)


def backward(x, t, h1, h2, out):
    d3 = (out - np.eye(C)[t]) / x.shape[0]
    dz2 = (d3 @ net.W3) * (1.0 - h2 ** 2)
    dz1 = (dz2 @ net.W2) * (1.0 - h1 ** 2)
    return dz1.T @ x, dz1.sum(axis=0), dz2.T @ h1, dz2.sum(axis=0), d3.T @ h2, d3.sum(axis=0)


opt = SGD([net.W1, net.b1, net.W2, net.b2, net.W3, net.b3], 0.2)
for epoch in range(6):
    order = rng.permutation(N)
    for start in range(0, N, 20):
        idx = order[start:start + 20]
        x, t = X[idx], labels[idx]
        h1, h2, out = forward(x)
        opt.step(backward(x, t, h1, h2, out))
    print(f"epoch {epoch}: accuracy {np.mean(forward(X)[2].argmax(axis=1) == labels):.3f}")
