"""Layer objects in a list, one sample per update by `for x, t in zip(...)`: a module-level backward(t, y) hands the
output error down the layers, each layer's backward() adds its own gradient into its buffers (one call per layer for
each sample), and the loop applies them and empties them in place. Tanh hidden layer, squared error, column samples;
synthetic blobs. Two gradient calls per update are one sample's two layers, not two samples summed."""
import numpy as np

rng = np.random.default_rng(33)
C, D, H, N = 5, 20, 16, 1400
centers = rng.normal(0, 1, (C, D)) * 0.7
labels = rng.integers(0, C, N)
X = (centers[labels] + rng.normal(0, 1, (N, D))).reshape(N, D, 1)
T = np.eye(C)[labels].reshape(N, C, 1)


class Tanh:
    def __init__(self, n_in, n_out, last=False):
        self.W = rng.normal(0, 1, (n_out, n_in)) / np.sqrt(n_in)
        self.b = np.zeros((n_out, 1))
        self.last = last
        self.grad_W, self.grad_b = np.zeros_like(self.W), np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        self.y = self.W @ x + self.b
        if not self.last:
            self.y = np.tanh(self.y)
        return self.y

    def backward(self, err):
        if not self.last:
            err = err * (1 - self.y ** 2)
        self.grad_W += err @ self.x.T
        self.grad_b += err
        return self.W.T @ err


layers = [Tanh(D, H), Tanh(H, C, last=True)]


def run(x):
    for layer in layers:
        x = layer.forward(x)
    return x


def backward(t, y):
    err = y - t
    for layer in layers[::-1]:
        err = layer.backward(err)


lr = 0.01
for epoch in range(2):
    for x, t in zip(X[:1200], T[:1200]):
        backward(t, run(x))
        for layer in layers:
            layer.W -= lr * layer.grad_W
            layer.b -= lr * layer.grad_b
            layer.grad_W[...] = 0.0
            layer.grad_b[...] = 0.0
    hits = sum(int(np.argmax(run(x)) == label) for x, label in zip(X[1200:], labels[1200:]))
    print(f"epoch {epoch}: accuracy {hits / (N - 1200):.3f}")
