"""A healthy PyTorch MLP for `netdoctor check --model examples/torch/model_healthy.py:build`.

784-64-10 with ReLU, cross-entropy on logits (netdoctor's default loss) and
SGD at --lr: netdoctor finds nothing wrong with it.
"""

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def build() -> nn.Module:
    torch.manual_seed(0)
    return Net()


def build_with_optimizer():
    """(module, optimizer, loss): netdoctor trains with these (and the optimizer's learning rate)."""
    model = build()
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss()
