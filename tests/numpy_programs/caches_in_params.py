"""Module functions over one global dict that holds the parameters and the forward's caches: ``forward(x)`` rebinds
``params['Z1']``, ``params['A1']``, ... ``params['OUT']`` at every call (arrays of the batch's rows, computed from the
inputs) and returns nothing; ``loss_and_grads`` reads them back. An optimizer object holds the list of the weights and
steps them in place. One sample (a row) per update, weights kept (out, in) (``x @ W1.T``), two tanh hidden layers, a
linear output fitted by squared error to one-hot targets made from the integer labels.
"""
import numpy as np

rng = np.random.default_rng(31)
K, D, N = 4, 14, 1000
centres = rng.normal(0, 1.5, (K, D))
labels = rng.integers(0, K, N)
X = centres[labels] + rng.normal(0, 1.0, (N, D))

params = {"W1": rng.normal(0, 1 / np.sqrt(D), (16, D)), "b1": np.zeros(16),
          "W2": rng.normal(0, 1 / np.sqrt(16), (12, 16)), "b2": np.zeros(12),
          "W3": rng.normal(0, 1 / np.sqrt(12), (K, 12)), "b3": np.zeros(K)}


def forward(x):
    params["Z1"] = x @ params["W1"].T + params["b1"]
    params["A1"] = np.tanh(params["Z1"])
    params["Z2"] = params["A1"] @ params["W2"].T + params["b2"]
    params["A2"] = np.tanh(params["Z2"])
    params["OUT"] = params["A2"] @ params["W3"].T + params["b3"]


def loss_and_grads(x, t):
    forward(x)
    T = np.eye(K)[t]
    d3 = (params["OUT"] - T) / len(x)
    d2 = (d3 @ params["W3"]) * (1.0 - params["A2"] ** 2)
    d1 = (d2 @ params["W2"]) * (1.0 - params["A1"] ** 2)
    grads = [d1.T @ x, d1.sum(axis=0), d2.T @ params["A1"], d2.sum(axis=0), d3.T @ params["A2"], d3.sum(axis=0)]
    return float(0.5 * np.sum((params["OUT"] - T) ** 2) / len(x)), grads


class SGD:
    def __init__(self, weights, lr):
        self.weights = weights
        self.lr = lr

    def step(self, grads):
        for p, g in zip(self.weights, grads):
            p -= self.lr * g


opt = SGD([params["W1"], params["b1"], params["W2"], params["b2"], params["W3"], params["b3"]], 0.02)
for epoch in range(3):
    order = rng.permutation(800)
    losses = []
    for i in range(800):
        idx = order[i:i + 1]
        loss, grads = loss_and_grads(X[idx], labels[idx])
        losses.append(loss)
        opt.step(grads)
    forward(X[800:])
    print("epoch", epoch + 1, "loss", round(float(np.mean(losses)), 4),
          "held-out accuracy", float(np.mean(params["OUT"].argmax(axis=1) == labels[800:])))
