"""A trainer object holding [W, b] layer pairs, a learning rate that decays by steps (halved every two epochs) times a
1/t factor over the updates, the gradients returned by backward() as a list of pairs. Per-sample column vectors
(batch size 1), tanh hidden layer, linear output, squared error on +-1 codes; synthetic blobs.
"""
import numpy as np


class Trainer:
    def __init__(self, rng, d, h, c):
        self.layers = [[rng.normal(0, 1, (h, d)) / np.sqrt(d), np.zeros((h, 1))],
                       [rng.normal(0, 1, (c, h)) / np.sqrt(h), np.zeros((c, 1))]]
        self.t = 0

    def forward(self, x):
        a = np.tanh(self.layers[0][0] @ x + self.layers[0][1])
        return a, self.layers[1][0] @ a + self.layers[1][1]

    def backward(self, x, target):
        a, out = self.forward(x)
        e = 2 * (target - out)  # BUG: gradient-mismatch (the sign flipped)
        d = (self.layers[1][0].T @ e) * (1 - a ** 2)
        return [[d @ x.T, d], [e @ a.T, e]]

    def learning_rate(self, epoch):
        return 0.02 * 0.5 ** (epoch // 2) / (1 + 1e-3 * self.t)

    def fit_one(self, x, target, epoch):
        lr = self.learning_rate(epoch)
        for (W, b), (dW, db) in zip(self.layers, self.backward(x, target)):
            W -= lr * dW
            b -= lr * db
        self.t += 1


rng = np.random.default_rng(34)
C, D, N = 3, 10, 700
centers = rng.normal(0, 1, (C, D)) * 1.2
y = rng.integers(0, C, N)
X = centers[y] + rng.normal(0, 1, (N, D))
codes = 2 * np.eye(C) - 1
net = Trainer(rng, D, 8, C)
for epoch in range(6):
    for i in range(600):
        net.fit_one(X[i].reshape(-1, 1), codes[y[i]].reshape(-1, 1), epoch)
    scores = [net.forward(x.reshape(-1, 1))[1].ravel() for x in X[600:]]
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(scores, axis=1) == y[600:]):.3f}")
