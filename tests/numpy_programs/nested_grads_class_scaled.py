"""nested_grads_class.py dividing the whole table by 255, the label column with the pixels: every label is 0.

A class keeping its layers in a dict of dicts ({"hidden": {"W": ..., "b": ...}, "out": {...}}), rebuilt by a dict
comprehension at every step; its loss method makes the one-hot rows from the integer labels inside and returns
``(loss, {"hidden": {"W": dW, "b": db}, ...})``; relu hidden layer, mini-batches of 25, a fixed number of epochs.
Synthetic blobs, the label the table's first column.
"""
import numpy as np

rng = np.random.default_rng(17)
C, D, H, N = 3, 18, 14, 900
centers = rng.uniform(30, 225, (C, D))
labels = rng.integers(0, C, N)
table = np.column_stack([labels, np.clip(centers[labels] + rng.normal(0, 110, (N, D)), 0, 255)])


class Net:
    def __init__(self, d, h, c, rate):
        self.rate = rate
        self.layers = {"hidden": {"W": rng.normal(0, np.sqrt(2 / d), (d, h)), "b": np.zeros(h)},
                       "out": {"W": rng.normal(0, np.sqrt(1 / h), (h, c)), "b": np.zeros(c)}}

    def scores(self, x):
        hid = np.maximum(x @ self.layers["hidden"]["W"] + self.layers["hidden"]["b"], 0)
        return hid, hid @ self.layers["out"]["W"] + self.layers["out"]["b"]

    def loss_grads(self, x, classes):
        hid, s = self.scores(x)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        target = np.eye(s.shape[1])[classes]
        loss = -np.mean(np.log((p * target).sum(axis=1) + 1e-12))
        d_out = (p - target) / len(x)
        d_hid = (d_out @ self.layers["out"]["W"].T) * (hid > 0)
        return loss, {"hidden": {"W": x.T @ d_hid, "b": d_hid.sum(axis=0)},
                      "out": {"W": hid.T @ d_out, "b": d_out.sum(axis=0)}}

    def train_step(self, x, classes):
        loss, g = self.loss_grads(x, classes)
        self.layers = {name: {k: v - self.rate * g[name][k] for k, v in layer.items()}
                       for name, layer in self.layers.items()}
        return loss


table = table / 255.0  # BUG: constant-targets
classes = table[:, 0].astype(int)
pixels = table[:, 1:]
net = Net(D, H, C, 0.5)
for epoch in range(8):
    order = rng.permutation(750)
    total = sum(net.train_step(pixels[order[i:i + 25]], classes[order[i:i + 25]]) for i in range(0, 750, 25))
    acc = np.mean(np.argmax(net.scores(pixels[750:])[1], axis=1) == classes[750:])
    print(f"epoch {epoch}: loss {total / 30:.3f} accuracy {acc:.3f}")
