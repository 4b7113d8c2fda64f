"""deep_sigmoid_class.py with inputs as wide as the second hidden layer (24 -> 32 -> 24 -> 16 -> 4), in batches of
32 rows: a batch (32, 24) has the second matrix's shape. A class over lists of weights and biases (rows:
``x @ W + b``), three sigmoid hidden layers, softmax output, mean cross-entropy, the gradients returned by backward()
and applied by train()."""
import numpy as np


class DeepNet:
    def __init__(self, sizes, rng):
        pairs = list(zip(sizes, sizes[1:]))
        self.weights = [rng.standard_normal((n_in, n_out)) * np.sqrt(1.0 / n_in) for n_in, n_out in pairs]
        self.biases = [np.zeros(n_out) for n_out in sizes[1:]]

    def forward(self, x):
        self.acts = [x]
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            self.acts.append(1.0 / (1.0 + np.exp(-(self.acts[-1] @ W + b))))
        z = self.acts[-1] @ self.weights[-1] + self.biases[-1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, p, y):
        d = (p - np.eye(p.shape[1])[y]) / len(y)
        grads = []
        for i in reversed(range(len(self.weights))):
            grads.append((self.acts[i].T @ d, d.sum(axis=0)))
            if i:
                a = self.acts[i]
                d = (d @ self.weights[i].T) * a * (1 - a)
        return grads[::-1]

    def train(self, X, y, lr, epochs, batch, rng):
        for epoch in range(epochs):
            order = rng.permutation(len(X))
            for s in range(0, len(X), batch):
                idx = order[s:s + batch]
                grads = self.backward(self.forward(X[idx]), y[idx])
                for W, b, (dW, db) in zip(self.weights, self.biases, grads):
                    W -= lr * dW
                    b -= lr * db
            print(f"epoch {epoch}: accuracy {np.mean(self.forward(X).argmax(axis=1) == y):.3f}")


rng = np.random.default_rng(4)
C, D, N = 4, 24, 1000
centers = rng.normal(0, 1, (C, D)) * 1.5
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
net = DeepNet([D, 32, 24, 16, C], np.random.default_rng(1))
net.train(X[:800], labels[:800], lr=0.5, epochs=8, batch=32, rng=rng)
print(f"held-out accuracy {np.mean(net.forward(X[800:]).argmax(axis=1) == labels[800:]):.3f}")
