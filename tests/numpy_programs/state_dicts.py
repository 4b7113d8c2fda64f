"""A class keeping its weights, the forward's results and its gradients in dicts whose names say nothing of roles.

``self.p`` holds the weights (``w_in``, ``bias_in``, ``w_out``, ``bias_out``) and also what the forward computed
(``pre``, ``act``, ``probs``); ``self.memo`` holds the gradients under the weights' keys, accumulated sample by sample
over a mini-batch of 16 and emptied after each step; ``self.keep`` the momentum's velocities, which move the weights. Every 4 steps a forward on 16 held-out rows checks the loss: the
results are rewritten with no update following. Synthetic blobs, tanh hidden layer, softmax output, cross-entropy.
"""
import numpy as np

rng = np.random.default_rng(7)
C, D = 4, 20
centers = rng.normal(0, 1, (C, D)) * 0.7
y = rng.integers(0, C, 1100)
X = centers[y] + rng.normal(0, 1, (1100, D))


class Model:
    def __init__(self, rng):
        self.p = {"w_in": rng.normal(0, 1, (D, 12)) / np.sqrt(D), "bias_in": np.zeros(12),
                  "w_out": rng.normal(0, 1, (12, C)) / np.sqrt(12), "bias_out": np.zeros(C)}
        self.memo = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.keep = {k: np.zeros_like(v) for k, v in self.p.items()}

    def run(self, x):
        self.p["pre"] = x @ self.p["w_in"] + self.p["bias_in"]
        self.p["act"] = np.tanh(self.p["pre"])
        z = self.p["act"] @ self.p["w_out"] + self.p["bias_out"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.p["probs"] = e / e.sum(axis=1, keepdims=True)
        return self.p["probs"]

    def learn_from(self, x, label):
        d = self.run(x[None, :]) - np.eye(C)[label][None, :]
        self.memo["w_out"] += self.p["act"].T @ d
        self.memo["bias_out"] += d[0]
        dh = (d @ self.p["w_out"].T) * (1 - self.p["act"] ** 2)
        self.memo["w_in"] += x[:, None] @ dh
        self.memo["bias_in"] += dh[0]

    def step(self, lr, n):
        for k in ("w_in", "bias_in", "w_out", "bias_out"):
            self.keep[k] = 0.5 * self.keep[k] - lr / n * self.memo[k]
            self.p[k] += self.keep[k]
            self.memo[k][...] = 0.0


model = Model(rng)
lr = 0.3
for epoch in range(4):
    order = rng.permutation(992)
    for i in range(0, 992, 16):
        for j in order[i:i + 16]:
            model.learn_from(X[j], y[j])
        model.step(lr, 16)
        if i % 64 == 0:
            probs = model.run(X[1000:1016])
            loss = -np.mean(np.log(probs[np.arange(16), y[1000:1016]] + 1e-12))
    print(f"epoch {epoch}: held-out loss {loss:.3f}, accuracy {np.mean(np.argmax(model.run(X[1000:]), axis=1) == y[1000:]):.3f}")
