"""Adam by hand in a class: each parameter's two moments are attributes beside it (``self.b2_m``, ``self.b2_v``),
decayed and fed the gradient in place (``m *= b1; m += (1 - b1) * g``; ``v *= b2; v += (1 - b2) * g * g``), the step
dividing the bias-corrected first moment by the root of the second. The parameters are reached by their attribute
names; the gradients come back from a method as a dict. Mini-batches of 25 rows, ReLU hidden layer, softmax output,
mean cross-entropy. Synthetic blobs in a table whose first column is the label (the pixels in 0..255).
"""
import numpy as np

rng = np.random.default_rng(23)
C, D, H, N = 3, 18, 12, 900
centers = rng.uniform(40, 215, (C, D))
kinds = rng.integers(0, C, N)
table = np.column_stack([kinds, np.clip(centers[kinds] + rng.normal(0, 90, (N, D)), 0, 255)])
labels = table[:, 0].astype(int)
images = table[:, 1:] / 255.0


class Model:
    names = ("W1", "b1", "W2", "b2")

    def __init__(self):
        self.W1 = rng.normal(0, np.sqrt(2 / D), (D, H))
        self.b1 = np.zeros(H)
        self.W2 = rng.normal(0, np.sqrt(1 / H), (H, C))
        self.b2 = np.zeros(C)
        for name in self.names:
            setattr(self, name + "_m", np.zeros_like(getattr(self, name)))
            setattr(self, name + "_v", np.zeros_like(getattr(self, name)))
        self.t = 0

    def probabilities(self, x):
        h = np.maximum(0, x @ self.W1 + self.b1)
        z = h @ self.W2 + self.b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return h, e / e.sum(axis=1, keepdims=True)

    def gradients(self, x, y):
        h, p = self.probabilities(x)
        dz = (p - np.eye(C)[y]) / len(x)
        dh = (dz @ self.W2.T) * (h > 0)
        return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dz, "b2": dz.sum(axis=0)}

    def adam_step(self, grads, lr, beta1=0.9, beta2=0.999):
        self.t += 1
        for name in self.names:
            g, m, v = grads[name], getattr(self, name + "_m"), getattr(self, name + "_v")
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            m_hat = m / (1 - beta1 ** self.t)
            v_hat = v / (1 - beta2 ** self.t)
            getattr(self, name)[...] -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)


model = Model()
for epoch in range(6):
    order = rng.permutation(700)
    for s in range(0, 700, 25):
        idx = order[s:s + 25]
        model.adam_step(model.gradients(images[idx], labels[idx]), 0.01)
    right = np.mean(np.argmax(model.probabilities(images[700:])[1], axis=1) == labels[700:])
    print(f"epoch {epoch}: held-out accuracy {right:.3f}")
