"""A module-level loop over one sample at a time: layer objects (sigmoid hidden, softmax output) whose
``backward(delta, lr)`` returns the delta for the layer below and steps the layer itself; the loop builds the output
error ``p - onehot(t)`` from the sample's integer label in one expression and hands it to the output layer, so no
function is ever handed the label or the one-hot row.
"""
import numpy as np

rng = np.random.default_rng(31)
K, D, N = 4, 8, 700
centers = rng.normal(0, 1.5, (K, D))
y = rng.integers(0, K, N)
X = centers[y] + rng.normal(0, 1.0, (N, D))


class Sigmoid:
    def __init__(self, n_in, n_out):
        self.w = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))
        self.c = np.zeros(n_out)

    def forward(self, x):
        self.x = x
        self.y = 1 / (1 + np.exp(-(x @ self.w + self.c)))
        return self.y

    def backward(self, delta, lr):
        delta = delta * self.y * (1 - self.y)
        below = self.w @ delta
        self.w -= lr * np.outer(self.x, delta)
        self.c -= lr * delta
        return below


class Softmax:
    def __init__(self, n_in, n_out):
        self.w = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))
        self.c = np.zeros(n_out)

    def forward(self, x):
        self.x = x
        z = x @ self.w + self.c
        e = np.exp(z - z.max())
        return e / e.sum()

    def backward(self, delta, lr):
        below = self.w @ delta
        self.w -= lr * np.outer(self.x, delta)
        self.c -= lr * delta
        return below


hidden, output = Sigmoid(D, 10), Softmax(10, K)
eye = np.eye(K)
for epoch in range(3):
    for i in rng.permutation(600):
        p = output.forward(hidden.forward(X[i]))
        hidden.backward(output.backward(p - eye[y[i]], 0.1), 0.1)
    pred = [output.forward(hidden.forward(x)).argmax() for x in X[600:]]
    print(f"epoch {epoch}: held-out accuracy {np.mean(np.array(pred) == y[600:]):.3f}")
