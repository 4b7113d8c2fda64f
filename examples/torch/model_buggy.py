"""Three classic PyTorch bugs, one factory each, for `netdoctor check --model`.

* ``build`` (the default): softmax at the end of forward() feeding
  nn.CrossEntropyLoss, which applies its own softmax (``double-softmax``);
* ``build_frozen``: the first layer never learns: the optimizer is given only
  the second layer's parameters (``frozen-parameters``);
* ``build_detached``: forward() cuts the graph with ``.detach()`` after the
  first layer, so no gradient reaches it (``gradient-mismatch`` on fc1.weight
  and fc1.bias, and ``frozen-parameters``).
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


class SoftmaxNet(Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(super().forward(x), dim=1)  # bug: CrossEntropyLoss wants logits


class DetachedNet(Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(x)).detach()  # bug: no gradient flows back into fc1
        return self.fc2(h)


def build():
    torch.manual_seed(0)
    model = SoftmaxNet()
    return model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss()


def build_frozen():
    torch.manual_seed(0)
    model = Net()
    return model, torch.optim.SGD(model.fc2.parameters(), lr=0.1)  # bug: fc1 is not given to the optimizer


def build_detached():
    torch.manual_seed(0)
    model = DetachedNet()
    return model, torch.optim.SGD(model.parameters(), lr=0.1)
