# dict of layers, 2 tanh hidden layers, sigmoid output + binary cross-entropy, mini-batches, two interleaved rings
import numpy as np
rng = np.random.RandomState(5)

def rings(n):
    r = np.where(rng.rand(n) < 0.5, 1.0, 2.2)
    th = rng.rand(n) * 2 * np.pi
    pts = np.c_[r * np.cos(th), r * np.sin(th)] + 0.25 * rng.randn(n, 2)
    noise = 0.5 * rng.randn(n, 18)
    return np.c_[pts, noise], (r > 1.5).astype(float)

X, y = rings(2000)
Xtr, ytr, Xte, yte = X[:1500], y[:1500], X[1500:], y[1500:]
sizes = [20, 24, 24, 1]
net = {}
for i in range(3):
    net[f"W{i}"] = rng.randn(sizes[i], sizes[i + 1]) / np.sqrt(sizes[i])
    net[f"b{i}"] = np.zeros(sizes[i + 1])

def run(net, x):
    acts = [x]
    for i in range(2):
        acts.append(np.tanh(acts[-1] @ net[f"W{i}"] + net[f"b{i}"]))
    out = 1 / (1 + np.exp(-(acts[-1] @ net["W2"] + net["b2"])))
    return acts, out[:, 0]

lr = 0.001  # BUG: learning rate 100x too low
for epoch in range(60):
    perm = rng.permutation(len(Xtr))
    for s in range(0, len(Xtr), 50):
        j = perm[s:s + 50]
        acts, out = run(net, Xtr[j])
        delta = ((out - ytr[j]) / len(j))[:, None]
        grads = {}
        for i in (2, 1, 0):
            grads[f"W{i}"] = acts[i].T @ delta
            grads[f"b{i}"] = delta.sum(0)
            if i > 0:
                delta = (delta @ net[f"W{i}"].T) * (1 - acts[i] ** 2)
        for name in net:
            net[name] -= lr * grads[name]
    if epoch % 10 == 0:
        _, o = run(net, Xtr)
        bce = -np.mean(ytr * np.log(o + 1e-9) + (1 - ytr) * np.log(1 - o + 1e-9))
        print("epoch", epoch, "bce", round(bce, 4))
_, o = run(net, Xte)
print("test accuracy", np.mean((o > 0.5) == yte))
