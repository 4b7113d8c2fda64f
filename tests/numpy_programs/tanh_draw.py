"""A network class with one tanh hidden layer, weights drawn at 1/sqrt(fan_in) (rows of samples, ``x @ W``), trained
by mini-batches of 20 on the batch-mean gradient of a softmax cross-entropy; 100 inputs in [0, 1]; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(7)
C, D, H, N = 4, 100, 32, 800
centers = rng.uniform(0.3, 0.7, (C, D))
labels = rng.integers(0, C, N)
X = np.clip(centers[labels] + rng.normal(0, 0.4, (N, D)), 0, 1)


class Net:
    def __init__(self):
        self.W1 = rng.normal(0, 1, (D, H)) / np.sqrt(D)
        self.b1 = np.zeros(H)
        self.W2 = rng.normal(0, 1, (H, C)) / np.sqrt(H)
        self.b2 = np.zeros(C)

    def forward(self, x):
        self.x = x
        self.h = np.tanh(x @ self.W1 + self.b1)
        z = self.h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        return self.p

    def backward(self, t):
        d2 = (self.p - np.eye(C)[t]) / len(t)
        self.dW2 = self.h.T @ d2
        self.db2 = d2.sum(axis=0)
        d1 = (d2 @ self.W2.T) * (1.0 - self.h ** 2)
        self.dW1 = self.x.T @ d1
        self.db1 = d1.sum(axis=0)

    def step(self, lr):
        self.W1 -= lr * self.dW1
        self.b1 -= lr * self.db1
        self.W2 -= lr * self.dW2
        self.b2 -= lr * self.db2


net = Net()
lr = 0.1
for epoch in range(8):
    order = rng.permutation(N)
    for s in range(0, N, 20):
        idx = order[s:s + 20]
        net.forward(X[idx])
        net.backward(labels[idx])
        net.step(lr)
    accuracy = np.mean(net.forward(X).argmax(axis=1) == labels)
    print(f"epoch {epoch}: accuracy {accuracy:.3f}")
