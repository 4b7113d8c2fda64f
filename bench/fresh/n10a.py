# deeper ReLU MLP with lists of params, He init, zip loops, mini-batch SGD, softmax CE
import numpy as np
np.random.seed(123)
n_cls, n_feat = 4, 50
C = np.random.randn(n_cls, n_feat) * 0.8
lab = np.random.randint(n_cls, size=3000)
X = C[lab] + np.random.randn(3000, n_feat) * 1.5
Xtr, Xte, ytr, yte = X[:2400], X[2400:], lab[:2400], lab[2400:]

dims = [n_feat, 64, 64, 32, n_cls]
Ws = [np.random.randn(a, b) * np.sqrt(2.0 / a) for a, b in zip(dims[:-1], dims[1:])]
bs = [np.full(b, -3.0) for b in dims[1:]]  # BUG: negative bias init kills ReLUs

def forward(x):
    hs = [x]
    for W, b in zip(Ws[:-1], bs[:-1]):
        hs.append(np.maximum(hs[-1] @ W + b, 0.0))
    return hs, hs[-1] @ Ws[-1] + bs[-1]

lr, B = 0.05, 64
for ep in range(15):
    order = np.random.permutation(len(Xtr))
    for k in range(0, len(Xtr), B):
        sel = order[k:k + B]
        hs, logits = forward(Xtr[sel])
        p = np.exp(logits - logits.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
        d = p; d[np.arange(len(sel)), ytr[sel]] -= 1; d /= len(sel)
        gW, gb = [], []
        for i in reversed(range(len(Ws))):
            gW.insert(0, hs[i].T @ d)
            gb.insert(0, d.sum(0))
            if i > 0:
                d = (d @ Ws[i].T) * (hs[i] > 0)
        for i in range(len(Ws)):
            Ws[i] -= lr * gW[i]
            bs[i] -= lr * gb[i]
    _, lg = forward(Xtr)
    print("epoch", ep, "train acc", np.mean(lg.argmax(1) == ytr))
_, lg = forward(Xte)
print("test accuracy", np.mean(lg.argmax(1) == yte))
