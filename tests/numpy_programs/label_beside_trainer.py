"""A trainer class handed one sample and its class as an integer (``train_one(x, label)``): it builds the output error
``p - onehot(label)`` itself (``delta = probs.copy(); delta[label] -= 1``) and hands only deltas to the layers, whose
shared ``backward(delta, lr)`` updates them in place. The layers never see the label. Synthetic blobs, one sample at a
time, He initialisation.
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, N = 4, 20, 1300
centers = rng.normal(0, 1, (C, D)) * 0.8
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))


class Layer:
    def __init__(self, n_in, n_out, relu):
        self.W = rng.normal(0, np.sqrt(2.0 / n_in), (n_in, n_out))
        self.b = np.zeros(n_out)
        self.relu = relu

    def forward(self, x):
        self.x = x
        z = x @ self.W + self.b
        self.out = np.maximum(z, 0.0) if self.relu else z
        return self.out

    def backward(self, delta, lr):
        if self.relu:
            delta = delta * (self.out > 0)
        back = self.W @ delta
        self.W -= lr * np.outer(self.x, delta)
        self.b -= lr * delta
        return back


class Trainer:
    def __init__(self, layers, lr):
        self.layers = layers
        self.lr = lr

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        e = np.exp(x - x.max())
        return e / e.sum()

    def train_one(self, x, label):
        probs = self.predict(x)
        delta = probs.copy()
        delta[label] -= 1.0
        for layer in reversed(self.layers):
            delta = layer.backward(delta, self.lr)
        return -np.log(probs[label])


labels = [int(k) for k in y]
trainer = Trainer([Layer(D, 16, True), Layer(16, C, False)], lr=0.02)
for epoch in range(1):
    for i in rng.permutation(1000):
        trainer.train_one(X[i], labels[i])

right = sum(int(np.argmax(trainer.predict(X[i])) == y[i]) for i in range(1000, N))
print(f"test accuracy {right / (N - 1000):.3f}")
