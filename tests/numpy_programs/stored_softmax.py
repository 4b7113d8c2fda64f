"""Module dicts, columns, one sample at a time. The forward calls a helper per layer and one for the softmax, and keeps
what it computes in a `cache` dict, the softmax output too (`cache["out"]`, of the output bias's shape: a forward
cache, not a buffer); the backward is handed that dict, reads the output back into a local (`out = cache["out"]`) and
returns the gradients; train() sums those of 10 samples into a new dict and applies
them with a helper. Tanh hidden
layer, cross-entropy, synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, H, N = 6, 20, 12, 900
centers = rng.normal(0, 1, (C, D)) * 0.7
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))

net = {"W1": rng.normal(0, 1, (H, D)) / np.sqrt(D), "b1": np.zeros((H, 1)),
       "W2": rng.normal(0, 1, (C, H)) / np.sqrt(H), "b2": np.zeros((C, 1))}
cache = {}


def dense(x, k):
    return net["W" + k] @ x + net["b" + k]


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def forward(x):
    cache["x"] = x
    cache["h"] = np.tanh(dense(x, "1"))
    cache["out"] = softmax(dense(cache["h"], "2"))


def backward(cache, label):
    out = cache["out"]
    d2 = out.copy()
    d2[label] -= 1.0
    d1 = (net["W2"].T @ d2) * (1.0 - cache["h"] ** 2)
    return {"W1": d1 @ cache["x"].T, "b1": d1, "W2": d2 @ cache["h"].T, "b2": d2}


def predict(x):
    forward(x)
    return int(np.argmax(cache["out"]))


def sgd(p, g, scale):
    p -= scale * g


def train(epochs, lr):
    for epoch in range(epochs):
        for start in range(0, 800, 10):
            total = None
            for i in range(start, start + 10):
                forward(X[i].reshape(-1, 1))
                g = backward(cache, labels[i])
                total = g if total is None else {k: total[k] + g[k] for k in g}
            for k in net:
                sgd(net[k], total[k], lr / 10)
        hits = sum(predict(X[j].reshape(-1, 1)) == labels[j] for j in range(800, N))
        print(f"epoch {epoch}: held-out accuracy {hits / (N - 800):.3f}")


train(3, 0.05)
