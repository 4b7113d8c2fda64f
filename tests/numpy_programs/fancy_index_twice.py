"""A parameter dict, a forward that returns its output and cache, and a loop that indexes the data anew for each call.

``forward(params, X[idx])`` then ``backward(params, X[idx], Y[idx], cache)``: the two calls get two copies of one
mini-batch (fancy indexing copies), equal but not the same array. tanh hidden layer, softmax, cross-entropy, batches
of 25; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, N = 4, 30, 1100
centers = rng.normal(0, 1, (C, D)) * 0.7
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
Y = np.eye(C)[labels]
X_train, Y_train, X_test, y_test = X[:1000], Y[:1000], X[1000:], labels[1000:]

params = {
    "W1": rng.normal(0, 1, (D, 20)) / np.sqrt(D), "b1": np.zeros(20),
    "W2": rng.normal(0, 1, (20, C)) / np.sqrt(20), "b2": np.zeros(C),
}


def forward(p, x):
    h = np.tanh(x @ p["W1"] + p["b1"])
    z = h @ p["W2"] + p["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), h


def backward(p, x, y, cache):
    probs, h = cache
    dz = (probs - y) / len(x)
    dh = dz @ p["W2"].T * (1 - h ** 2)
    return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}


lr = 0.5
for epoch in range(8):
    order = rng.permutation(len(X_train))
    for start in range(0, len(order), 25):
        idx = order[start:start + 25]
        cache = forward(params, X_train[idx])
        grads = backward(params, X_train[idx], Y_train[idx], cache)
        for k in params:
            params[k] -= lr * grads[k]
    probs, _ = forward(params, X_test)
    print(f"epoch {epoch + 1}: test accuracy {np.mean(probs.argmax(axis=1) == y_test):.3f}")
