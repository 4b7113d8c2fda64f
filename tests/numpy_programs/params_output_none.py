"""Functions over one parameters dict that also holds the forward's outputs: ``forward(params, X)`` returns None and
keeps its activations in ``params['A1']``, ``params['A2']``; ``backward(params, X, Y)`` reads them back and returns
the gradients, ``update(params, grads, lr)`` applies them. Targets one-hot, built once; full batch of 600, tanh
hidden layer, 4 classes.
"""
import numpy as np

rng = np.random.default_rng(3)
K, D, N = 4, 10, 800
mu = rng.normal(0, 1.3, (K, D))
labels = rng.integers(0, K, N)
X = mu[labels] + rng.normal(0, 1.0, (N, D))
Y = np.eye(K)[labels]


def init(d, h, k):
    return {"W1": rng.normal(0, 1 / np.sqrt(d), (d, h)), "b1": np.zeros((1, h)),
            "W2": rng.normal(0, 1 / np.sqrt(h), (h, k)), "b2": np.zeros((1, k))}


def forward(params, X):
    params["Z1"] = X @ params["W1"] + params["b1"]
    params["A1"] = np.tanh(params["Z1"])
    Z2 = params["A1"] @ params["W2"] + params["b2"]
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    params["A2"] = E / E.sum(axis=1, keepdims=True)


def backward(params, X, Y):
    n = X.shape[0]
    dZ2 = (params["A2"] - Y) / n
    dZ1 = dZ2 @ params["W2"].T * (1 - params["A1"] ** 2)
    return {"W2": params["A1"].T @ dZ2, "b2": dZ2.sum(axis=0, keepdims=True),
            "W1": X.T @ dZ1, "b1": dZ1.sum(axis=0, keepdims=True)}


def update(params, grads, lr):
    for key in ("W1", "b1", "W2", "b2"):
        params[key] -= lr * grads[key]


params = init(D, 12, K)
for it in range(300):
    forward(params, X[:600])
    grads = backward(params, X[:600], Y[:600])
    update(params, grads, 0.5)
forward(params, X[600:])
print("held-out accuracy", float(np.mean(np.argmax(params["A2"], axis=1) == labels[600:])))
