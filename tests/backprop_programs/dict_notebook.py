"""Notebook style: the parameters in a dict, forward/backward functions, the training loop at module level
(rows are samples, sigmoid hidden layer, softmax output, cross-entropy). usage: dict_notebook.py [VARIANT]

VARIANT: "" (healthy), scalar-gradient (dW1 is one number built from the wrong activations),
sign-flip (the hidden delta's sign flipped, with tanh' in place of sigmoid'), momentum, weight-decay.
"""
import sys

import numpy as np

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""
rng = np.random.default_rng(1)
X = rng.normal(size=(400, 16))
Y = np.eye(4)[(X @ rng.normal(size=(16, 4))).argmax(axis=1)]


def init_params():
    return {"W1": rng.normal(size=(16, 12)) * 0.3, "b1": np.zeros((1, 12)),
            "W2": rng.normal(size=(12, 4)) * 0.3, "b2": np.zeros((1, 4))}


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(params, X):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = sigmoid(Z1)
    A2 = softmax(A1 @ params["W2"] + params["b2"])
    return A2, {"Z1": Z1, "A1": A1}


def compute_loss(A2, Y):
    return -np.mean(np.sum(Y * np.log(A2 + 1e-12), axis=1))


def backward(params, cache, X, Y, A2):
    m = X.shape[0]
    dZ2 = (A2 - Y) / m
    grads = {"dW2": cache["A1"].T @ dZ2, "db2": dZ2.sum(axis=0, keepdims=True)}
    dA1 = dZ2 @ params["W2"].T
    if VARIANT == "sign-flip":
        dZ1 = -dA1 * (1 - np.tanh(cache["Z1"]) ** 2)  # BUG: gradient-mismatch
    else:
        dZ1 = dA1 * cache["A1"] * (1 - cache["A1"])
    grads["dW1"] = X.T @ dZ1
    if VARIANT == "scalar-gradient":
        grads["dW1"] = np.sum(cache["Z1"] * dZ1)  # BUG: gradient-mismatch
    grads["db1"] = dZ1.sum(axis=0, keepdims=True)
    return grads


def momentum_step(params, mu, lr):
    """An SGD-with-momentum step function; its velocities live in the closure."""
    velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(grads):
        for k in params:
            velocity[k] = mu * velocity[k] - lr * grads["d" + k]
            params[k] += velocity[k]

    return step


params = init_params()
lr = 0.5
step = momentum_step(params, 0.9, lr) if VARIANT == "momentum" else None
for epoch in range(5):
    for start in range(0, len(X), 20):
        Xb, Yb = X[start:start + 20], Y[start:start + 20]
        A2, cache = forward(params, Xb)
        loss = compute_loss(A2, Yb)
        grads = backward(params, cache, Xb, Yb, A2)
        if step is not None:
            step(grads)
            continue
        for k in params:
            if VARIANT == "weight-decay":
                params[k] -= lr * (grads["d" + k] + 1e-3 * params[k])
            else:
                params[k] -= lr * grads["d" + k]
    accuracy = np.mean(forward(params, X)[0].argmax(axis=1) == Y.argmax(axis=1))
    print(f"epoch {epoch}: loss {loss:.4f}, accuracy {accuracy:.3f}")
