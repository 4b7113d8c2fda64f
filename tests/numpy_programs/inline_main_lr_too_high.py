"""As inline_main.py, at a learning rate 120 times too high. Everything inline in main(): the weights are main()'s local variables, rebound at every step
(``W1 = W1 - lr * dW1``), and the training loop calls none of the program's own functions.

Mini-batches of 20 rows, tanh hidden layer, softmax output, mean cross-entropy; synthetic blobs.
"""
import numpy as np


def main():
    rng = np.random.default_rng(6)
    C, D, N = 5, 24, 1200
    centers = rng.normal(0, 1, (C, D)) * 0.6
    y = rng.integers(0, C, N)
    X = centers[y] + rng.normal(0, 1, (N, D))
    eye = np.eye(C)
    W1 = rng.normal(0, 1, (D, 16)) / np.sqrt(D)
    b1 = np.zeros(16)
    W2 = rng.normal(0, 1, (16, C)) / 4.0
    b2 = np.zeros(C)
    lr = 60.0  # BUG: learning-rate-too-high
    for epoch in range(8):
        order = rng.permutation(1000)
        for i in range(0, 1000, 20):
            rows = order[i:i + 20]
            x, t = X[rows], eye[y[rows]]
            h = np.tanh(x @ W1 + b1)
            z = h @ W2 + b2
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - t) / len(x)
            dh = (dz @ W2.T) * (1 - h ** 2)
            W2 = W2 - lr * h.T @ dz
            b2 = b2 - lr * dz.sum(axis=0)
            W1 = W1 - lr * x.T @ dh
            b1 = b1 - lr * dh.sum(axis=0)
        scores = np.tanh(X[1000:] @ W1 + b1) @ W2 + b2
        print(f"epoch {epoch}: accuracy {np.mean(np.argmax(scores, axis=1) == y[1000:]):.3f}")


if __name__ == "__main__":
    main()
