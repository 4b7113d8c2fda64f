"""tuples_rebuilt.py whose backward drops the tanh derivative: the hidden delta is not multiplied by 1 - h ** 2.

Layers as a list of (W, b) tuples rebuilt by a comprehension at every step of a module-level loop; the loss
function makes the one-hot rows from the integer labels inside and returns ``(loss, [(dW, db), ...])``; tanh hidden
layer, softmax output, mini-batches of 20, early stopping on a held-out split. Synthetic blobs in a table whose first
column is the label (the pixels in 0..255).
"""
import numpy as np

rng = np.random.default_rng(5)
C, D, H, N = 4, 24, 16, 1300
centers = rng.uniform(40, 215, (C, D))
labels = rng.integers(0, C, N)
raw = np.column_stack([labels, np.clip(centers[labels] + rng.normal(0, 120, (N, D)), 0, 255)])
y = raw[:, 0].astype(np.int64)
x = raw[:, 1:] / 255.0
train_x, val_x, test_x = x[:1000], x[1000:1150], x[1150:]
train_y, val_y, test_y = y[:1000], y[1000:1150], y[1150:]

sizes = [D, H, C]
layers = [(rng.normal(0, 1 / np.sqrt(a), (a, b)), np.zeros(b)) for a, b in zip(sizes[:-1], sizes[1:])]


def predict(layers, x):
    outs = [x]
    for i, (W, b) in enumerate(layers):
        z = outs[-1] @ W + b
        outs.append(np.tanh(z) if i < len(layers) - 1 else z)
    return outs


def loss_and_grads(layers, x, y):
    outs = predict(layers, x)
    z = outs[-1] - outs[-1].max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    onehot = np.eye(C)[y]
    loss = -np.mean(np.sum(onehot * np.log(p + 1e-12), axis=1))
    delta = (p - onehot) / len(x)
    grads = []
    for i in reversed(range(len(layers))):
        W, b = layers[i]
        grads.append((outs[i].T @ delta, delta.sum(axis=0)))
        if i > 0:
            delta = delta @ W.T
            delta = delta * 1.0  # BUG: gradient-mismatch
    return loss, grads[::-1]


best, patience = 0.0, 0
for epoch in range(12):
    order = rng.permutation(len(train_x))
    losses = []
    for s in range(0, len(order), 20):
        idx = order[s:s + 20]
        loss, grads = loss_and_grads(layers, train_x[idx], train_y[idx])
        layers = [(W - 0.3 * dW, b - 0.3 * db) for (W, b), (dW, db) in zip(layers, grads)]
        losses.append(loss)
    val = np.mean(np.argmax(predict(layers, val_x)[-1], axis=1) == val_y)
    print(f"epoch {epoch}: loss {np.mean(losses):.4f} val {val:.3f}")
    if val > best:
        best, patience = val, 0
    else:
        patience += 1
        if patience >= 3:
            print("early stop")
            break
print("test", np.mean(np.argmax(predict(layers, test_x)[-1], axis=1) == test_y))
