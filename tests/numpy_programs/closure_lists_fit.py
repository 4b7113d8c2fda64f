"""A model built by make_model(): its weight matrices and biases in two lists and their velocities in two more, all
held by the closures it returns (step, predict, fit); fit() trains in mini-batches of 24 columns, keeps copies of the
best parameters by held-out accuracy in its locals and puts them back at the end. Samples as columns, ReLU hidden
layer, softmax output, cross-entropy on integer labels, momentum applied in step() (``v *= mu; v -= lr * g; w += v``).
"""
import numpy as np

rng = np.random.default_rng(2163)
K, D, H = 4, 14, 18
centres = rng.normal(0.0, 1.0, (K, D))
y = rng.integers(0, K, 900)
X = (centres[y] + rng.normal(0.0, 1.0, (900, D))).T


def make_model(sizes, lr=0.05, mu=0.9):
    weights = [rng.normal(0.0, 1.0, (b, a)) * np.sqrt(2.0 / a) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros((b, 1)) for b in sizes[1:]]
    vel_w = [np.zeros_like(w) for w in weights]
    vel_b = [np.zeros_like(b) for b in biases]

    def predict(x):
        h = np.maximum(weights[0] @ x + biases[0], 0.0)
        s = weights[1] @ h + biases[1]
        e = np.exp(s - s.max(axis=0, keepdims=True))
        return h, e / e.sum(axis=0, keepdims=True)

    def step(x, labels):
        h, q = predict(x)
        d2 = q.copy()
        d2[labels, np.arange(len(labels))] -= 1.0
        d2 /= len(labels)
        d1 = (weights[1].T @ d2) * (h > 0)
        grads = (d1 @ x.T, d1.sum(axis=1, keepdims=True), d2 @ h.T, d2.sum(axis=1, keepdims=True))
        for w, v, g in zip((weights[0], biases[0], weights[1], biases[1]), (vel_w[0], vel_b[0], vel_w[1], vel_b[1]), grads):
            v *= mu
            v -= lr * g
            w += v

    def fit(epochs):
        best, best_acc = None, -1.0
        for epoch in range(epochs):
            order = rng.permutation(720)
            for start in range(0, 720, 24):
                cols = order[start:start + 24]
                step(X[:, cols], y[cols])
            acc = float(np.mean(predict(X[:, 720:])[1].argmax(axis=0) == y[720:]))
            print(f"epoch {epoch + 1}: held-out accuracy {acc:.3f}")
            if acc > best_acc:
                best, best_acc = [weights[0].copy(), biases[0].copy(), weights[1].copy(), biases[1].copy()], acc
        for p, saved in zip((weights[0], biases[0], weights[1], biases[1]), best):
            p[...] = saved

    return fit, predict


fit, predict = make_model([D, H, K])
fit(4)
