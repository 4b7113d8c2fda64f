"""A dict of parameters, one sample at a time (column vectors); the target column is a row of a code table picked by a
helper and softened there; the output error is computed by a function handed the output and the target.

The data are rows of a table whose first column is the label; synthetic blobs with integer features 0..255.
"""
import numpy as np

rng = np.random.default_rng(11)
C, D, N = 4, 30, 900
centers = rng.uniform(40, 215, (C, D))
labels = rng.integers(0, C, N)
table = np.column_stack([labels, np.clip(centers[labels] + rng.normal(0, 30, (N, D)), 0, 255).round()])


CODES = np.eye(C)


def encode(label):
    row = CODES[label] * 0.9
    row += 0.05
    return row.reshape(-1, 1)


def init():
    return {"W1": rng.normal(0, 1, (16, D)) / np.sqrt(D), "b1": np.zeros((16, 1)),
            "W2": rng.normal(0, 1, (C, 16)) / 4.0, "b2": np.zeros((C, 1))}


def predict(p, x):
    h = np.tanh(p["W1"] @ x + p["b1"])
    return p["W2"] @ h + p["b2"], (x, h)


def output_error(out, target):
    return out - target


def backward(p, cache, d):
    x, h = cache
    dh = p["W2"].T @ d * (1 - h ** 2)
    return {"W1": dh @ x.T, "b1": dh, "W2": d @ h.T, "b2": d}


def main():
    p = init()
    rows = table[:800] / 255.0
    for epoch in range(3):
        for i in rng.permutation(800):
            x = rows[i, 1:].reshape(-1, 1)
            target = encode(int(table[i, 0]))
            out, cache = predict(p, x)
            grads = backward(p, cache, output_error(out, target))
            for k in p:
                p[k] -= 0.02 * grads[k]
        test = table[800:]
        hits = sum(int(np.argmax(predict(p, r[1:].reshape(-1, 1) / 255.0)[0]) == r[0]) for r in test)
        print(f"epoch {epoch}: accuracy {hits / len(test):.3f}")


main()
