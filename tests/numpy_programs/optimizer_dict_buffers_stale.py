"""An optimizer object over the weights of a module-level dict (Optimizer(net).update(sums, n): the arrays updated in
place); the gradients of a mini-batch summed one sample at a time into a second module-level dict, emptied after each
update by copying a dict of zeros into it. Sigmoid hidden layer, softmax output, cross-entropy; 4 epochs of 40
batches of 15 samples; synthetic blobs.
"""
import numpy as np

rng = np.random.default_rng(44)
C, D, H, N = 3, 9, 14, 800
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
rows = centers[labels] + rng.normal(0, 1, (N, D))

net = {"w1": rng.normal(0, 0.4, (D, H)), "c1": np.zeros(H), "w2": rng.normal(0, 0.4, (H, C)), "c2": np.zeros(C)}
sums = {k: np.zeros_like(v) for k, v in net.items()}
blank = {k: np.zeros_like(v) for k, v in net.items()}


class Optimizer:
    def __init__(self, weights, rate):
        self.weights = weights
        self.rate = rate

    def update(self, grads, n):
        for k, w in self.weights.items():
            w -= self.rate * grads[k] / n


def run(x):
    a = 1.0 / (1.0 + np.exp(-(x @ net["w1"] + net["c1"])))
    z = a @ net["w2"] + net["c2"]
    e = np.exp(z - z.max())
    return a, e / e.sum()


def add_sample(x, c):
    a, p = run(x)
    d = p.copy()
    d[c] -= 1.0
    sums["w2"] += np.outer(a, d)  # BUG: stale-accumulator
    sums["c2"] += d  # BUG: stale-accumulator
    da = (net["w2"] @ d) * a * (1 - a)
    sums["w1"] += np.outer(x, da)  # BUG: stale-accumulator
    sums["c1"] += da  # BUG: stale-accumulator


opt = Optimizer(net, 0.4)
for epoch in range(4):
    order = rng.permutation(600)
    for start in range(0, 600, 15):
        for i in order[start:start + 15]:
            add_sample(rows[i], labels[i])
        opt.update(sums, 15)  # (the sums are never emptied)
    right = np.mean([run(rows[i])[1].argmax() == labels[i] for i in range(600, 800)])
    print(f"epoch {epoch}: held-out accuracy {right:.3f}")
