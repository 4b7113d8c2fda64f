"""The project's data: MNIST rows served one sample at a time by a ``Dataset`` of its own."""

import numpy as np
import torch
from _data import mnist
from torch.utils.data import DataLoader, Dataset


class Digits(Dataset):
    def __init__(self, X, y):
        self.X, self.y = X.astype(np.float32), y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i]), int(self.y[i])


def loaders(n, n_train):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    X, y = mnist(n)
    loader = DataLoader(Digits(X[:n_train], y[:n_train]), batch_size=32, shuffle=True)
    return loader, (torch.from_numpy(X[n_train:].astype(np.float32)), torch.from_numpy(y[n_train:]))
