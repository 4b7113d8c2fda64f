"""dataclass_layers.py with the tanh derivative's sign flipped in the backward pass: the hidden layer climbs the loss.

Layers as dataclasses (weights, bias and their gradients as fields), a tanh network trained one sample at a
time on (1, D) rows; the forward is a function over the list of layers, the update a loop over the dataclass fields.
"""
from dataclasses import dataclass, field

import numpy as np

rng = np.random.default_rng(24)
C, D, N = 4, 12, 1300
centers = rng.normal(0, 1.2, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))


@dataclass
class Dense:
    W: np.ndarray
    b: np.ndarray
    act: str = "tanh"
    dW: np.ndarray = field(init=False)
    db: np.ndarray = field(init=False)

    def __post_init__(self):
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)


def make(n_in, n_out, act):
    return Dense(rng.uniform(-1, 1, (n_in, n_out)) * np.sqrt(6.0 / (n_in + n_out)), np.zeros((1, n_out)), act)


def forward(layers, x):
    outs = [x]
    for layer in layers:
        z = outs[-1] @ layer.W + layer.b
        outs.append(np.tanh(z) if layer.act == "tanh" else z)
    return outs


def backward(layers, outs, t):
    e = outs[-1] - t
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        layer.dW = outs[i].T @ e
        layer.db = e
        if i > 0:
            e = (e @ layer.W.T) * (outs[i] ** 2 - 1)  # BUG: gradient-mismatch


net = [make(D, 18, "tanh"), make(18, C, "linear")]
targets = np.eye(C)
for epoch in range(4):
    for i in rng.permutation(1200):
        outs = forward(net, X[i:i + 1])
        backward(net, outs, targets[labels[i]])
        for layer in net:
            layer.W -= 0.02 * layer.dW
            layer.b -= 0.02 * layer.db
    pred = forward(net, X[1200:])[-1].argmax(axis=1)
    print(f"epoch {epoch}: accuracy {np.mean(pred == labels[1200:]):.3f}")
