# PyTorch without nn.Module: raw tensors with requires_grad, manual update under no_grad, tanh + sigmoid, BCE
import torch
torch.manual_seed(3)
n, d = 1600, 12
X = torch.randn(n, d)
y = ((X[:, 0] ** 2 + X[:, 1] ** 2 - X[:, 2]) > 1.5).float()
Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]

w1 = (torch.randn(d, 32) / d ** 0.5).requires_grad_()
b1 = torch.zeros(32, requires_grad=True)
w2 = (torch.randn(32, 1) / 32 ** 0.5).requires_grad_()
b2 = torch.zeros(1, requires_grad=True)
params = [w1, b1, w2, b2]
lr = 0.5

def predict(x):
    return torch.sigmoid(torch.tanh(x @ w1 + b1) @ w2 + b2).squeeze(1)

for epoch in range(40):
    perm = torch.randperm(len(Xtr))
    for i in range(0, len(Xtr), 100):
        idx = perm[i:i + 100]
        p = predict(Xtr[idx])
        loss = -(ytr[idx] * torch.log(p + 1e-7) + (1 - ytr[idx]) * torch.log(1 - p + 1e-7)).mean()
        loss.backward()
        with torch.no_grad():
            for prm in params:
                prm += lr * prm.grad  # BUG: sign flipped, gradient ascent
                prm.grad.zero_()
    if epoch % 10 == 0:
        print("epoch", epoch, "loss", loss.item())

with torch.no_grad():
    print("test accuracy", ((predict(Xte) > 0.5).float() == yte).float().mean().item())
