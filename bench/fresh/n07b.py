# "NN from scratch" blog style: Layer classes with forward/backward, generator for batches
import numpy as np

class Dense:
    def __init__(self, n_in, n_out):
        self.W = np.random.randn(n_in, n_out) * np.sqrt(2.0 / n_in)
        self.b = np.zeros(n_out)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
    def forward(self, x):
        self.x = x
        return x @ self.W + self.b
    def backward(self, grad):
        self.dW += self.x.T @ grad  # BUG: gradient buffers never reset
        self.db += grad.sum(axis=0)
        return grad @ self.W.T
    def step(self, lr):
        self.W -= lr * self.dW
        self.b -= lr * self.db

class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask
    def backward(self, grad):
        return grad * self.mask
    def step(self, lr):
        pass

class SoftmaxCrossEntropy:
    def forward(self, logits, y):
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        self.y = y
        return -np.mean(np.log(self.p[np.arange(len(y)), y] + 1e-12))
    def backward(self):
        g = self.p.copy()
        g[np.arange(len(self.y)), self.y] -= 1
        return g / len(self.y)

def batches(X, y, size):
    order = np.random.permutation(len(X))
    for i in range(0, len(X), size):
        j = order[i:i + size]
        yield X[j], y[j]

np.random.seed(7)
K, D = 3, 16
centers = np.random.randn(K, D)
y = np.random.randint(0, K, 1500)
X = centers[y] + 1.3 * np.random.randn(1500, D)
Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]

layers = [Dense(D, 32), ReLU(), Dense(32, 32), ReLU(), Dense(32, K)]
loss_fn = SoftmaxCrossEntropy()
for epoch in range(20):
    losses = []
    for xb, yb in batches(Xtr, ytr, 40):
        out = xb
        for layer in layers:
            out = layer.forward(out)
        losses.append(loss_fn.forward(out, yb))
        grad = loss_fn.backward()
        for layer in reversed(layers):
            grad = layer.backward(grad)
        for layer in layers:
            layer.step(0.1)
    print(f"epoch {epoch} loss {np.mean(losses):.4f}")

out = Xte
for layer in layers:
    out = layer.forward(out)
print("test accuracy", np.mean(out.argmax(axis=1) == yte))
