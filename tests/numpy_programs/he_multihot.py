"""Two relu hidden layers with He initialisation, the targets built per batch from zeros (T[rows, y] = 1), a
log-softmax with the maximum subtracted; the layers are (W, b) lists in a list walked by index.
"""
import numpy as np

rng = np.random.default_rng(31)
C, D, N = 4, 24, 1700
centers = rng.normal(0, 0.7, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
sizes = [D, 32, 32, C]
layers = [[rng.standard_normal((m, n)) * np.sqrt(2.0 / m), np.zeros(n)] for m, n in zip(sizes[:-1], sizes[1:])]


def run(x):
    acts = [x]
    for i, (W, b) in enumerate(layers):
        z = acts[-1] @ W + b
        acts.append(np.maximum(z, 0) if i < len(layers) - 1 else z)
    return acts


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


for epoch in range(6):
    order = rng.permutation(1500)
    for s in range(0, 1500, 30):
        rows = order[s:s + 30]
        acts = run(X[rows])
        T = np.zeros((len(rows), C))
        T[np.arange(len(rows)), labels[rows]] = 1
        d = (np.exp(log_softmax(acts[-1])) - T) / len(rows)
        for i in range(len(layers) - 1, -1, -1):
            W, b = layers[i]
            dW, db = acts[i].T @ d, d.sum(axis=0)
            d = (d @ W.T) * (acts[i] > 0)
            W -= 0.1 * dW
            b -= 0.1 * db
    acc = np.mean(run(X[1500:])[-1].argmax(axis=1) == labels[1500:])
    print(f"epoch {epoch}: accuracy {acc:.3f}")
