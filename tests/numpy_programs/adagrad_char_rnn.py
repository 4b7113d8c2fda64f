"""A character-level vanilla RNN in module globals, trained with Adagrad on a short repeating text: ``lossFun(inputs,
targets, hprev)`` runs the sequence forward and back and returns the loss, the five gradients (clipped) and the last
hidden state; the module loop keeps one memory per parameter (``mem += d * d``) and steps ``p -= lr * d / sqrt(mem)``.
The memories of the biases are vectors as wide as the layers, started at zero and moved as often as the weights.
"""
import numpy as np

text = "the cat sat on the mat. " * 40
chars = sorted(set(text))
V, H, T = len(chars), 16, 8
ix = {c: i for i, c in enumerate(chars)}
rng = np.random.default_rng(2)
Wxh = rng.normal(0, 0.1, (H, V))
Whh = rng.normal(0, 0.1, (H, H))
Why = rng.normal(0, 0.1, (V, H))
bh = np.zeros((H, 1))
by = np.zeros((V, 1))


def lossFun(inputs, targets, hprev):
    xs, hs, ps = {}, {-1: hprev}, {}
    loss = 0.0
    for t in range(len(inputs)):
        xs[t] = np.zeros((V, 1))
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
        y = Why @ hs[t] + by
        ps[t] = np.exp(y - y.max()) / np.sum(np.exp(y - y.max()))
        loss -= np.log(ps[t][targets[t], 0])
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hprev)
    for t in reversed(range(len(inputs))):
        dy = ps[t].copy()
        dy[targets[t]] -= 1
        dWhy += dy @ hs[t].T
        dby += dy
        dh = Why.T @ dy + dhnext
        dhraw = (1 - hs[t] ** 2) * dh
        dbh += dhraw
        dWxh += dhraw @ xs[t].T
        dWhh += dhraw @ hs[t - 1].T
        dhnext = Whh.T @ dhraw
    for d in (dWxh, dWhh, dWhy, dbh, dby):
        np.clip(d, -5, 5, out=d)
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]


mWxh, mWhh, mWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
mbh, mby = np.zeros_like(bh), np.zeros_like(by)
p, hprev, smooth = 0, np.zeros((H, 1)), None
for n in range(400):
    if p + T + 1 >= len(text):
        p, hprev = 0, np.zeros((H, 1))
    inputs = [ix[c] for c in text[p:p + T]]
    targets = [ix[c] for c in text[p + 1:p + T + 1]]
    loss, dWxh, dWhh, dWhy, dbh, dby, hprev = lossFun(inputs, targets, hprev)
    smooth = loss if smooth is None else 0.99 * smooth + 0.01 * loss
    for param, dparam, mem in zip([Wxh, Whh, Why, bh, by], [dWxh, dWhh, dWhy, dbh, dby], [mWxh, mWhh, mWhy, mbh, mby]):
        mem += dparam * dparam
        param += -0.1 * dparam / np.sqrt(mem + 1e-8)
    p += T
print(f"smoothed loss {smooth:.3f}")
