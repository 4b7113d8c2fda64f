"""A model object whose methods train it in place (rows, relu, squared error, mini-batches of 10, 200 steps).
usage: diverging.py [VARIANT]

VARIANT: "" (healthy), ascent (the step added: the weights blow up to Inf and NaN within a few dozen steps, and
every step after that leaves them NaN; the program goes on making all its 200 steps).
"""
import sys

import numpy as np

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""


class Model:
    def __init__(self, rng):
        self.W1 = rng.normal(size=(8, 16)) * 0.3
        self.b1 = np.zeros(16)
        self.W2 = rng.normal(size=(16, 3)) * 0.3
        self.b2 = np.zeros(3)

    def forward(self, x):
        self.x = x
        self.h = np.maximum(x @ self.W1 + self.b1, 0.0)
        return self.h @ self.W2 + self.b2

    def train_step(self, x, t, lr):
        out = self.forward(x)
        d2 = (out - t) / len(x)
        d1 = (d2 @ self.W2.T) * (self.h > 0)
        sign = 1.0 if VARIANT == "ascent" else -1.0
        with np.errstate(all="ignore"):
            self.W2 += sign * lr * self.h.T @ d2
            self.b2 += sign * lr * d2.sum(axis=0)
            self.W1 += sign * lr * x.T @ d1
            self.b1 += sign * lr * d1.sum(axis=0)


rng = np.random.default_rng(4)
data = rng.normal(size=(500, 8))
targets = np.eye(3)[(data @ rng.normal(size=(8, 3))).argmax(axis=1)]
model = Model(rng)
steps = 0
for epoch in range(4):
    for start in range(0, len(data), 10):
        model.train_step(data[start:start + 10], targets[start:start + 10], 0.1)
        steps += 1
    with np.errstate(all="ignore"):
        accuracy = np.mean(model.forward(data).argmax(axis=1) == targets.argmax(axis=1))
    print(f"epoch {epoch}: accuracy {accuracy:.3f}")
print(f"{steps} steps")
