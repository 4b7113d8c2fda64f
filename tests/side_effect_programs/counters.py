"""Counters and lists kept outside the network: the forward and the gradient function append to module-level
lists, count their calls in a global, on the network object and on its class; a long list of per-sample losses
(longer than any container a copy would copy item by item). The counts are printed at the end: a second run of
either function by anyone would change them. Healthy: a tanh layer and a softmax, mini-batches of 20.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D = 3, 10
centers = rng.normal(0, 1, (C, D))
y = rng.integers(0, C, 1000)
X = centers[y] + rng.normal(0, 0.8, (1000, D))
SEEN = []
PER_SAMPLE = list(range(20000))
calls = 0


class Net:
    made = 0
    forwards = 0

    def __init__(self, hidden):
        Net.made += 1
        self.W1 = rng.normal(0, 1, (D, hidden)) / np.sqrt(D)
        self.b1 = np.zeros(hidden)
        self.W2 = rng.normal(0, 1, (hidden, C)) / np.sqrt(hidden)
        self.b2 = np.zeros(C)
        self.calls = 0

    def forward(self, x):
        global calls
        calls += 1
        self.calls += 1
        Net.forwards += 1
        SEEN.append(len(x))
        h = np.tanh(x @ self.W1 + self.b1)
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def gradients(self, x, labels):
        h, p = self.forward(x)
        PER_SAMPLE.extend(-np.log(p[np.arange(len(labels)), labels]))
        e = p.copy()
        e[np.arange(len(labels)), labels] -= 1.0
        e /= len(labels)
        dh = (e @ self.W2.T) * (1.0 - h ** 2)
        return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ e, "b2": e.sum(axis=0)}


net = Net(16)
for epoch in range(5):
    order = rng.permutation(800)
    for i in range(0, 800, 20):
        rows = order[i:i + 20]
        for k, g in net.gradients(X[rows], y[rows]).items():
            setattr(net, k, getattr(net, k) - 0.5 * g)
    print(f"epoch {epoch}: accuracy {np.mean(np.argmax(net.forward(X[800:])[1], axis=1) == y[800:]):.3f}")
print("calls", calls, net.calls, Net.forwards, Net.made, "seen", len(SEEN), sum(SEEN), "losses", len(PER_SAMPLE))
