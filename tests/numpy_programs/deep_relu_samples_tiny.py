"""Functions over a parameter dict, one sample (a column) per update, three ReLU hidden layers, softmax output,
cross-entropy. Initialised with np.random.randn(n_out, n_in) * 0.01."""
import numpy as np

np.random.seed(3)
C, D, N = 3, 16, 600
centers = np.random.randn(C, D) * 1.5
labels = np.random.randint(0, C, N)
X = centers[labels] + np.random.randn(N, D)
sizes = [D, 24, 16, 12, C]
params = {}
for l in range(1, len(sizes)):
    params[f"W{l}"] = np.random.randn(sizes[l], sizes[l - 1]) * 0.01  # BUG: vanishing-gradients
    params[f"b{l}"] = np.zeros((sizes[l], 1))
L = len(sizes) - 1


def forward(x):
    cache = {"A0": x}
    a = x
    for l in range(1, L + 1):
        z = params[f"W{l}"] @ a + params[f"b{l}"]
        a = np.maximum(z, 0) if l < L else np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        cache[f"Z{l}"], cache[f"A{l}"] = z, a
    return a, cache


def gradients(cache, y):
    grads = {}
    dz = cache[f"A{L}"] - np.eye(C)[:, [y]]
    for l in range(L, 0, -1):
        grads[f"W{l}"] = dz @ cache[f"A{l - 1}"].T
        grads[f"b{l}"] = dz
        if l > 1:
            dz = (params[f"W{l}"].T @ dz) * (cache[f"Z{l - 1}"] > 0)
    return grads


def train(epochs, lr):
    for epoch in range(epochs):
        for j in np.random.permutation(500):
            _, cache = forward(X[j].reshape(-1, 1))
            grads = gradients(cache, labels[j])
            for k in params:
                params[k] -= lr * grads[k]
        hits = sum(int(np.argmax(forward(X[j].reshape(-1, 1))[0]) == labels[j]) for j in range(500))
        print(f"epoch {epoch}: accuracy {hits / 500:.3f}")


train(3, 0.01)
print(f"held-out accuracy {np.mean([np.argmax(forward(X[j].reshape(-1, 1))[0]) == labels[j] for j in range(500, N)]):.3f}")
