"""main() trains one sample at a time and rebinds its weights to a new dict at every step
(weights = dict((k, weights[k] - rate * g[k]) for k in weights)); backprop() returns the gradients as a tuple in
the order of the dict's keys. Column vectors, sigmoid hidden layer, squared error on one-hot targets; 3 epochs of 600
samples; synthetic blobs.
"""
import numpy as np


def backprop(w, x, t):
    h = 1.0 / (1.0 + np.exp(-(w["A"] @ x + w["a"])))
    y = 1.0 / (1.0 + np.exp(-(w["B"] @ h + w["b"])))
    e = (y - t) * y * (1 - y)
    eh = (w["B"].T @ e) * h * (1 - h)
    return eh @ x.T, eh, e @ h.T, e


def predict(w, x):
    h = 1.0 / (1.0 + np.exp(-(w["A"] @ x + w["a"])))
    return w["B"] @ h + w["b"]


def main():
    rng = np.random.default_rng(21)
    k, n, m = 3, 8, 12
    centers = rng.normal(0, 1.2, (k, n))
    labels = rng.integers(0, k, 800)
    data = centers[labels] + rng.normal(0, 1, (800, n))
    weights = {"A": rng.normal(0, 0.5, (m, n)), "a": np.zeros((m, 1)),
               "B": rng.normal(0, 0.5, (k, m)), "b": np.zeros((k, 1))}
    rate = 0.5
    for epoch in range(3):
        for i in rng.permutation(600):
            t = np.zeros((k, 1))
            t[labels[i]] = 1.0
            g = dict(zip(weights, backprop(weights, data[i].reshape(n, 1), t)))
            weights = dict((name, weights[name] - rate * g[name]) for name in weights)
        right = np.mean([predict(weights, data[j].reshape(n, 1)).argmax() == labels[j] for j in range(600, 800)])
        print(f"epoch {epoch}: held-out accuracy {right:.3f}")


main()
