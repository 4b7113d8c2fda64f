"""Layer objects in a dict, one sample per update at module level: each layer's backward() adds its own gradient
into its buffers (called once per layer for each sample), a module-level loop applies them and rebinds fresh zeros.
Softmax cross-entropy on row vectors, relu hidden layer; synthetic blobs. Two gradient calls per update are one
sample's two layers, not two samples summed."""
import numpy as np

rng = np.random.default_rng(12)
C, D, H, N = 4, 16, 24, 1300
centers = rng.normal(0, 1, (C, D)) * 0.8
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1, (N, D))
T = np.eye(C)[labels]


class Layer:
    def __init__(self, n_in, n_out, relu):
        self.W = rng.normal(0, 1, (n_in, n_out)) * np.sqrt(2.0 / n_in)
        self.b = np.zeros(n_out)
        self.relu = relu
        self.gW, self.gb = np.zeros_like(self.W), np.zeros_like(self.b)

    def forward(self, x):
        self.x, self.z = x, x @ self.W + self.b
        return np.maximum(self.z, 0) if self.relu else self.z

    def backward(self, d):
        if self.relu:
            d = d * (self.z > 0)
        self.gW += self.x.T @ d
        self.gb += d.sum(axis=0)
        return d @ self.W.T


net = {"hidden": Layer(D, H, True), "out": Layer(H, C, False)}


def predict(x):
    z = net["out"].forward(net["hidden"].forward(x))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def backward(t, p):
    d = p - t
    for name in ("out", "hidden"):
        d = net[name].backward(d)


lr = 0.02
for epoch in range(2):
    for i in rng.permutation(1000):
        x, t = X[i:i + 1], T[i:i + 1]
        backward(t, predict(x))
        for layer in net.values():
            layer.W -= lr * layer.gW
            layer.b -= lr * layer.gb
            layer.gW, layer.gb = np.zeros_like(layer.W), np.zeros_like(layer.b)
    print(f"epoch {epoch}: accuracy {np.mean(predict(X[1000:]).argmax(1) == labels[1000:]):.3f}")
