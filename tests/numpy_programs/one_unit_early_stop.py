"""Module-level lists of layers (weights ``(in, out)``, samples as rows), a heavy ball applied inside ``backward``, a
softmax output sized from the labels (``n_out = max(labels) + 1``), mini-batches of 20, early stopping on the
validation accuracy with a patience of 2. When every label read is 0, the network has one output unit: its softmax
is 1 whatever the weights, nothing moves, the validation accuracy never improves, and the run stops after 3 epochs:
30 gradient computations, all of them made before the network is found.
"""
import numpy as np

rng = np.random.default_rng(44)
K, D, N, n_train, n_val = 4, 20, 700, 200, 100
centers = rng.normal(0, 1.2, (K, D))
classes = rng.integers(0, K, N)
table = np.column_stack([classes, np.zeros(N), centers[classes] + rng.normal(0, 1.0, (N, D))])
X_train, y_train = table[:n_train, 2:], table[:n_train, 0].astype(int)
X_val, y_val = table[n_train:n_train + n_val, 2:], table[n_train:n_train + n_val, 0].astype(int)
n_out = int(y_train.max()) + 1
hidden, lr, mu = 24, 0.2, 0.5

weights = [rng.normal(0, 1, (D, hidden)) / np.sqrt(D), rng.normal(0, 1, (hidden, n_out)) / np.sqrt(hidden)]
biases = [np.zeros(hidden), np.zeros(n_out)]
vel_w = [np.zeros_like(w) for w in weights]
vel_b = [np.zeros_like(b) for b in biases]


def forward(x):
    h = np.tanh(x @ weights[0] + biases[0])
    z = h @ weights[1] + biases[1]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return h, e / e.sum(axis=1, keepdims=True)


def backward(x, t, h, out):
    d2 = (out - np.eye(out.shape[1])[t]) / x.shape[0]
    dz1 = d2 @ weights[1].T * (1.0 - h ** 2)
    for i, (dW, db) in enumerate(((x.T @ dz1, dz1.sum(axis=0)), (h.T @ d2, d2.sum(axis=0)))):
        vel_w[i] = mu * vel_w[i] - lr * dW
        weights[i] += vel_w[i]
        vel_b[i] = mu * vel_b[i] - lr * db
        biases[i] += vel_b[i]


best, waited = -1.0, 0
for epoch in range(12):
    order = rng.permutation(n_train)
    for s in range(0, n_train, 20):
        idx = order[s:s + 20]
        h, out = forward(X_train[idx])
        backward(X_train[idx], y_train[idx], h, out)
    val = float(np.mean(forward(X_val)[1].argmax(axis=1) == y_val))
    print(f"epoch {epoch}: validation accuracy {val:.3f}")
    if val > best:
        best, waited = val, 0
    else:
        waited += 1
        if waited >= 2:
            break
