"""A model built by a function whose closures (``forward``, ``backward``, ``train``) share a dict of parameters, the
forward keeping its caches in that dict too; ``backward(x, t)`` adds the batch's gradients into a dict of buffers, which
the training loop applies with RMSProp (``for p, g, sq in zip(...)``: every parameter's step computed in the loop) and
then rebinds to fresh copies of zeros; smoothed one-hot targets, mini-batches of 16. The frozen twin writes the step
into the loop variable (``p = p - step``): nothing of the network ever moves. The training function's loop holds arrays
of every parameter's shape at each iteration (``g``, ``sq``, ``step``) in its one call; the gradients are computed by
``backward``, once per batch.
"""
import numpy as np

rng = np.random.default_rng(52)
K, D, N = 4, 18, 640
centers = rng.normal(0, 1.2, (K, D))
classes = rng.integers(0, K, N)
X = centers[classes] + rng.normal(0, 1.0, (N, D))
EYE = np.eye(K)


def make_model(sizes):
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = rng.normal(0, 1, (a, b)) * np.sqrt(2.0 / a)
        params[f"b{i}"] = np.zeros(b)
    names = list(params)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    zeros = {k: np.zeros_like(v) for k, v in params.items()}
    sqs = {k: np.zeros_like(v) for k, v in params.items()}

    def forward(x):
        params["A1"] = np.maximum(x @ params["W1"] + params["b1"], 0.0)
        z = params["A1"] @ params["W2"] + params["b2"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        params["A2"] = e / e.sum(axis=1, keepdims=True)
        return params["A2"]

    def backward(x, t):
        d2 = (params["A2"] - t) / x.shape[0]
        d1 = (d2 @ params["W2"].T) * (params["A1"] > 0)
        grads["W2"] += params["A1"].T @ d2
        grads["b2"] += d2.sum(axis=0)
        grads["W1"] += x.T @ d1
        grads["b1"] += d1.sum(axis=0)

    def train(X, y, lr, epochs):
        for epoch in range(epochs):
            for idx in np.array_split(rng.permutation(len(y)), len(y) // 16):
                t = np.array([EYE[k] * 0.9 + 0.1 / K for k in y[idx]])
                forward(X[idx])
                backward(X[idx], t)
                for p, g, sq in zip([params[k] for k in names], [grads[k] for k in names], [sqs[k] for k in names]):
                    sq *= 0.9
                    sq += 0.1 * g * g
                    step = lr * g / (np.sqrt(sq) + 1e-8)
                    p -= step
                for k in names:
                    grads[k] = zeros[k].copy()
            print(f"epoch {epoch}: accuracy {np.mean(forward(X).argmax(axis=1) == y):.3f}")

    return train


train = make_model([D, 24, K])
train(X[:512], classes[:512], 0.002, 4)
