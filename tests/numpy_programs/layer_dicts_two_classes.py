"""Layers as dicts in a list, trained by functions from a module-level loop over mini-batches of 10: ``train_step``
runs the batch one sample at a time, computes the output error of a two-class softmax inline (``p - t``) and hands
``layer_backward`` only that delta, which adds into the layer's ``dW`` and ``db``; the step applies the mean. Two
classes, so each sample's output error is ``[-a, a]``, of a +-1 code's form. Sigmoid hidden layer; 4 epochs of 60
batches; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(7)
D, N = 6, 700
labels = rng.integers(0, 2, N)
X = rng.normal(0, 1.0, (N, D)) + np.where(labels[:, None] == 1, 0.9, -0.9)
T = np.eye(2)[labels]


def make_layer(n_in, n_out):
    return {"W": rng.normal(0, 1, (n_in, n_out)) / np.sqrt(n_in), "b": np.zeros(n_out),
            "dW": np.zeros((n_in, n_out)), "db": np.zeros(n_out), "sigmoid": True}


def layer_forward(layer, x):
    layer["x"] = x
    z = x @ layer["W"] + layer["b"]
    layer["out"] = 1.0 / (1.0 + np.exp(-z)) if layer["sigmoid"] else z
    return layer["out"]


def layer_backward(layer, delta):
    if layer["sigmoid"]:
        delta = delta * layer["out"] * (1.0 - layer["out"])
    layer["dW"] += np.outer(layer["x"], delta)
    layer["db"] += delta
    return layer["W"] @ delta


def predict(layers, x):
    for layer in layers:
        x = layer_forward(layer, x)
    return x


def train_step(layers, xb, tb, lr):
    for x, t in zip(xb, tb):
        z = predict(layers, x)
        p = np.exp(z - z.max())
        delta = p / p.sum() - t
        for layer in reversed(layers):
            delta = layer_backward(layer, delta)
    for layer in layers:
        layer["W"] -= lr * layer["dW"] / len(xb)
        layer["b"] -= lr * layer["db"] / len(xb)
        layer["dW"][:] = 0.0
        layer["db"][:] = 0.0


layers = [make_layer(D, 12), make_layer(12, 2)]
layers[-1]["sigmoid"] = False
for epoch in range(4):
    order = rng.permutation(600)
    for s in range(0, 600, 10):
        idx = order[s:s + 10]
        train_step(layers, X[idx], T[idx], 0.5)
    right = np.mean([predict(layers, x).argmax() == y for x, y in zip(X[600:], labels[600:])])
    print(f"epoch {epoch}: held-out accuracy {right:.3f}")
