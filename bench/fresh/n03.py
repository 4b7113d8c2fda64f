# functional style: params dict, forward returns cache, backward returns grads dict, ReLU + softmax, Adam by hand
import numpy as np

def make_data(seed=0, n=2400, d=40, k=6):
    r = np.random.RandomState(seed)
    mu = r.randn(k, d)
    y = r.randint(k, size=n)
    x = mu[y] + 1.8 * r.randn(n, d)
    return x[:1800], y[:1800], x[1800:], y[1800:]

def init(d, h, k, r):
    return {"W1": r.randn(d, h) * np.sqrt(2.0 / d), "b1": np.zeros(h),
            "W2": r.randn(h, k) * np.sqrt(1.0 / h), "b2": np.zeros(k)}

def forward(p, x):
    z = x @ p["W1"] + p["b1"]
    a = np.maximum(z, 0)
    s = a @ p["W2"] + p["b2"]
    e = np.exp(s - s.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True), (x, z, a)

def backward(p, probs, cache, y):
    x, z, a = cache
    g = probs.copy(); g[np.arange(len(y)), y] -= 1; g /= len(y)
    grads = {"W2": a.T @ g, "b2": g.sum(0)}
    da = g @ p["W2"].T
    dz = da * (z > 0)
    grads["W1"] = x.T @ dz
    grads["b1"] = dz.sum(0)
    return grads

def adam(p, grads, state, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    for k in grads:
        state["m"][k] = b1 * state["m"][k] + (1 - b1) * grads[k]
        state["v"][k] = b2 * state["v"][k] + (1 - b2) * grads[k] ** 2
        mh = state["m"][k] / (1 - b1 ** t)
        vh = state["v"][k] / (1 - b2 ** t)
        p[k] -= lr * mh / (np.sqrt(vh) + eps)

xtr, ytr, xte, yte = make_data()
r = np.random.RandomState(1)
params = init(xtr.shape[1], 64, 6, r)
state = {"m": {k: np.zeros_like(v) for k, v in params.items()},
         "v": {k: np.zeros_like(v) for k, v in params.items()}}
t = 0
for epoch in range(15):
    order = r.permutation(len(xtr))
    for s in range(0, len(xtr), 64):
        b = order[s:s + 64]
        probs, cache = forward(params, xtr[b])
        grads = backward(params, probs, cache, ytr[b])
        t += 1
        adam(params, grads, state, t)
    probs, _ = forward(params, xtr)
    print(epoch, -np.mean(np.log(probs[np.arange(len(ytr)), ytr] + 1e-9)))
acc = np.mean(forward(params, xte)[0].argmax(1) == yte)
print("test acc", acc)
