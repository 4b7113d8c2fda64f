"""A training function run in a worker thread (``threading.Thread(target=train)``) over module-level lists of
layers, samples as columns, a softmax output sized from the labels (``n_out = max(labels) + 1``), plain SGD with an L2
weight decay added to the gradients, mini-batches of 25 of the training set read row by row from a table whose first
column is the label. When every label read is 0, the network has one output unit: the loss's gradient is 0 and only
the decay moves the weights. The thread's frames end at its start: the callers of the gradient's function hold no
labels, the module does.
"""
import threading

import numpy as np

rng = np.random.default_rng(33)
K, D, N, n_train = 4, 20, 700, 500
centers = rng.normal(0, 1.2, (K, D))
classes = rng.integers(0, K, N)
table = np.column_stack([classes, np.zeros(N), centers[classes] + rng.normal(0, 1.0, (N, D))])
train_set = [(row[2:].reshape(-1, 1), int(row[0])) for row in table[:n_train]]
X_test = table[n_train:, 2:].T
y_test = table[n_train:, 0].astype(int)
n_out = max(label for _, label in train_set) + 1
hidden, lr, wd = 24, 0.2, 5e-4

weights = [rng.normal(0, 1, (hidden, D)) / np.sqrt(D), rng.normal(0, 1, (n_out, hidden)) / np.sqrt(hidden)]
biases = [np.zeros((hidden, 1)), np.zeros((n_out, 1))]


def forward(x):
    z1 = weights[0] @ x + biases[0]
    h = np.tanh(z1)
    z2 = weights[1] @ h + biases[1]
    e = np.exp(z2 - z2.max(axis=0, keepdims=True))
    return h, e / e.sum(axis=0, keepdims=True)


def backward(x, t, h, out, scale):
    d2 = (out - np.eye(out.shape[0])[t].T) / x.shape[1]
    dz1 = weights[1].T @ d2 * (1.0 - h ** 2)
    weights[1] -= scale * (d2 @ h.T + wd * weights[1])
    biases[1] -= scale * d2.sum(axis=1, keepdims=True)
    weights[0] -= scale * (dz1 @ x.T + wd * weights[0])
    biases[0] -= scale * dz1.sum(axis=1, keepdims=True)


def train():
    for epoch in range(3):
        order = rng.permutation(len(train_set))
        for s in range(0, len(train_set), 25):
            batch = [train_set[k] for k in order[s:s + 25]]
            x = np.hstack([xs for xs, _ in batch])
            t = np.array([label for _, label in batch])
            h, out = forward(x)
            backward(x, t, h, out, lr)
        print(f"epoch {epoch}: test accuracy {np.mean(forward(X_test)[1].argmax(axis=0) == y_test):.3f}")


worker = threading.Thread(target=train)
worker.start()
worker.join()
