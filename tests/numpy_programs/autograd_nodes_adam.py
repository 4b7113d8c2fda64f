"""Autograd nodes built by functions (not operators, no methods besides __init__), the parameters a dict of nodes
whose ``.value`` is rebound by Adam at every step, gradients set to None after it; a tanh hidden layer, softmax
cross-entropy; synthetic blobs."""
import numpy as np


class Node:
    def __init__(self, value, inputs=(), grad_fn=None):
        self.value = value
        self.grad = None
        self.inputs = inputs
        self.grad_fn = grad_fn


def matmul(a, b):
    def grad_fn(g):
        return g @ b.value.T, a.value.T @ g
    return Node(a.value @ b.value, (a, b), grad_fn)


def add_bias(a, b):
    def grad_fn(g):
        return g, g.sum(axis=0)
    return Node(a.value + b.value, (a, b), grad_fn)


def tanh(a):
    y = np.tanh(a.value)

    def grad_fn(g):
        return (g * (1 - y ** 2),)
    return Node(y, (a,), grad_fn)


def softmax_xent(logits, labels):
    z = logits.value - logits.value.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(labels)

    def grad_fn(g):
        d = p.copy()
        d[np.arange(n), labels] -= 1
        return (g * d / n,)
    return Node(-np.log(p[np.arange(n), labels]).mean(), (logits,), grad_fn)


def backprop(loss):
    loss.grad = 1.0
    stack, order, seen = [loss], [], set()
    while stack:  # a topological order by depth-first search, iteratively
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(node.inputs)
    for node in order:
        if node.grad_fn is None or node.grad is None:
            continue
        for inp, g in zip(node.inputs, node.grad_fn(node.grad)):
            inp.grad = g if inp.grad is None else inp.grad + g


def init(rng, sizes):
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"W{i}"] = Node(rng.normal(0, 1 / np.sqrt(a), (a, b)))
        params[f"b{i}"] = Node(np.zeros(b))
    return params


def forward(params, x):
    h = Node(x)
    n = len(params) // 2
    for i in range(n):
        h = add_bias(matmul(h, params[f"W{i}"]), params[f"b{i}"])
        if i < n - 1:
            h = tanh(h)
    return h


rng = np.random.default_rng(1)
C, D, N = 4, 20, 1100
centers = rng.normal(0, 1, (C, D))
labels = rng.integers(0, C, N)
images = centers[labels] + rng.normal(0, 1, (N, D))
params = init(rng, [D, 16, C])
m = {k: np.zeros_like(p.value) for k, p in params.items()}
v = {k: np.zeros_like(p.value) for k, p in params.items()}
lr, b1, b2, t = 1e-3, 0.9, 0.999, 0
for epoch in range(4):
    perm = rng.permutation(1000)
    for s in range(0, 1000, 25):
        idx = perm[s:s + 50]
        loss = softmax_xent(forward(params, images[idx]), labels[idx])
        backprop(loss)
        t += 1
        for k, p in params.items():
            g = p.grad
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            mh, vh = m[k] / (1 - b1 ** t), v[k] / (1 - b2 ** t)
            p.value = p.value - lr * mh / (np.sqrt(vh) + 1e-8)
            p.grad = None
    out = forward(params, images[1000:]).value
    print(f"epoch {epoch}: loss {loss.value:.3f}, test accuracy {(out.argmax(1) == labels[1000:]).mean():.3f}")
