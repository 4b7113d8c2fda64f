"""Parameters in a dict whose subclass reads keys as attributes (``params.W1``), with its own ``__getattr__``.

The program prints how many attribute lookups the dict answered. ``copy.deepcopy`` (which the update check's
replay used for subclasses of ``dict``) asks the instance for ``__deepcopy__``, so ``__getattr__`` ran, and its
copy held no working copies of the parameters: the update check was not run ("forward() does not compute with
p['W1'] ..."), and a backward missing its tanh derivative went unnamed.
"""
import numpy as np

LOG = []


class AttrDict(dict):
    """Parameters read as attributes (params.W1), a common pattern."""
    def __getattr__(self, name):
        LOG.append(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None
    __setattr__ = dict.__setitem__


rng = np.random.default_rng(0)
C, D, N = 3, 8, 600
centers = rng.normal(0, 1.5, (C, D))
labels = rng.integers(0, C, N)
X = centers[labels] + rng.normal(0, 1.0, (N, D))
T = np.eye(C)[labels]
p = AttrDict(W1=rng.normal(0, 0.3, (D, 16)), b1=np.zeros(16), W2=rng.normal(0, 0.3, (16, C)), b2=np.zeros(C))


def forward(p, x):
    h = np.tanh(x @ p.W1 + p.b1)
    z = h @ p.W2 + p.b2
    e = np.exp(z - z.max(1, keepdims=True))
    return h, e / e.sum(1, keepdims=True)


def grads(p, x, t):
    h, y = forward(p, x)
    d2 = (y - t) / len(x)
    d1 = (d2 @ p.W2.T) * (1 - h ** 2)
    return AttrDict(W1=x.T @ d1, b1=d1.sum(0), W2=h.T @ d2, b2=d2.sum(0))


for _epoch in range(30):
    for i in range(0, N, 30):
        g = grads(p, X[i:i + 30], T[i:i + 30])
        for k in p:
            p[k] -= 0.5 * g[k]
print("accuracy", round(float((forward(p, X)[1].argmax(1) == labels).mean()), 3))
print("attribute lookups", len(LOG), sorted(set(LOG)))
