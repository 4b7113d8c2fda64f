"""A PyTorch project in four files whose entry script never imports torch: the model, the data and the loop are
sibling modules (a 784-64-10 MLP fed by its own per-sample ``Dataset``, batch 32, two epochs)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the bench programs' _data.py

from digits_data import loaders  # noqa: E402
from digits_loop import evaluate, train  # noqa: E402
from digits_model import Classifier  # noqa: E402

train_loader, test_rows = loaders(5000, 4000)
model = Classifier()
updates = train(model, train_loader, epochs=2)
print(f"accuracy {evaluate(model, *test_rows):.3f}")
print(f"updates: {updates}")
