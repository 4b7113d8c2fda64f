"""A PyTorch classifier whose hidden activation is a custom autograd.Function with a hand-written backward.
usage: torch_custom.py [VARIANT]

VARIANT: "" (healthy: a softplus written by hand), sign (the backward's sign flipped), no-derivative (the
backward passes grad_output through without the sigmoid factor), straight-through (a rounding forward with
an identity backward on purpose: a surrogate gradient, not a mismatch), builtin (torch's own softplus: no
custom Function at all).
"""
import sys

import torch
from torch import nn

VARIANT = sys.argv[1] if len(sys.argv) > 1 else ""
torch.manual_seed(0)


class Softplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return torch.log1p(torch.exp(z))

    @staticmethod
    def backward(ctx, grad_output):
        (z,) = ctx.saved_tensors
        if VARIANT == "sign":
            return -grad_output * torch.sigmoid(z)  # BUG: gradient-mismatch (sign flipped)
        if VARIANT == "no-derivative":
            return grad_output  # BUG: gradient-mismatch (the sigmoid factor missing)
        return grad_output * torch.sigmoid(z)


class RoundSTE(torch.autograd.Function):
    """Rounding to steps of 1/4 with the gradient passed straight through (a surrogate on purpose)."""

    @staticmethod
    def forward(ctx, z):
        return torch.round(z * 4) / 4

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(16, 24)
        self.out = nn.Linear(24, 4)

    def forward(self, x):
        z = self.hidden(x)
        if VARIANT == "builtin":
            h = nn.functional.softplus(z)
        elif VARIANT == "straight-through":
            h = RoundSTE.apply(torch.relu(z))
        else:
            h = Softplus.apply(z)
        return self.out(h)


X = torch.randn(640, 16)
y = (X @ torch.randn(16, 4)).argmax(dim=1)
model = Classifier()
opt = torch.optim.SGD(model.parameters(), lr=0.2)
for _epoch in range(4):
    for i in range(0, len(X), 32):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X[i:i + 32]), y[i:i + 32])
        loss.backward()
        opt.step()
with torch.no_grad():
    print(f"accuracy {(model(X).argmax(dim=1) == y).float().mean().item():.3f}")
