"""A trainer built by a factory: the parameters in a dict and the forward's caches in a dict, both held in closure
cells; the forward stores its output instead of returning it; the loop hands each parameter to a helper that
applies the step in place (columns, tanh, softmax with cross-entropy, mini-batches of 25).
usage: closure_cells.py [VARIANT]

VARIANT: "" (healthy), ascent (the step added instead of subtracted), no-tanh-derivative (the hidden delta
skips tanh's derivative), summed (the batch's gradient summed, the learning rate left for the mean).
"""
import sys

import numpy as np

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""


def make_trainer(n_in, n_hidden, n_out, lr, seed):
    rng = np.random.default_rng(seed)
    theta = {"W1": rng.normal(size=(n_hidden, n_in)) / np.sqrt(n_in), "b1": np.zeros((n_hidden, 1)),
             "W2": rng.normal(size=(n_out, n_hidden)) / np.sqrt(n_hidden), "b2": np.zeros((n_out, 1))}
    cache = {}

    def run(x):
        cache["x"] = x
        cache["h"] = np.tanh(theta["W1"] @ x + theta["b1"])
        z = theta["W2"] @ cache["h"] + theta["b2"]
        e = np.exp(z - z.max(axis=0))
        cache["p"] = e / e.sum(axis=0)

    def grads(onehot):
        x, h, p = cache["x"], cache["h"], cache["p"]
        d2 = p - onehot
        if VARIANT != "summed":
            d2 = d2 / x.shape[1]
        d1 = theta["W2"].T @ d2
        if VARIANT != "no-tanh-derivative":
            d1 = d1 * (1 - h ** 2)
        return [d1 @ x.T, d1.sum(axis=1, keepdims=True), d2 @ h.T, d2.sum(axis=1, keepdims=True)]

    def step(p, g):
        if VARIANT == "ascent":
            p += lr * g
        else:
            p -= lr * g

    def fit(inputs, labels, epochs, batch):
        eye = np.eye(n_out)
        for epoch in range(epochs):
            for start in range(0, inputs.shape[1], batch):
                run(inputs[:, start:start + batch])
                for p, g in zip(theta.values(), grads(eye[:, labels[start:start + batch]])):
                    step(p, g)
            run(inputs)
            print(f"epoch {epoch}: accuracy {np.mean(cache['p'].argmax(axis=0) == labels):.3f}")

    return fit


rng = np.random.default_rng(8)
centres = rng.normal(size=(20, 5))
labels = rng.integers(0, 5, size=400)
inputs = (centres[:, labels] + rng.normal(size=(20, 400))) * 0.5
fit = make_trainer(20, 12, 5, 0.5, seed=1)
fit(inputs, labels, epochs=4, batch=25)
