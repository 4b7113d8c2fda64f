"""The wild tier of generated PyTorch programs (``ptw...``): how public code trains, not how the team writes it.

Same contract as :mod:`generated.torch_programs` (whose :class:`~generated.torch_programs.Program` it writes, and whose
data it reads: the first ``N_TRAIN`` rows to train on, the rest to test): a classifier trained on a CSV of MNIST rows,
one planted bug of :data:`BUGS` or none, a buggy program and its healthy twin differing only at ``bug_lines``. Every
program prints ``final test accuracy X`` last. The axes (:data:`AXES`), drawn from how tutorials, course notebooks
and repositories train:

* ``trainer``: ``loop`` (module-level epochs), ``function`` (``train_one_epoch(model, optimizer)`` returning the mean
  loss), ``class`` (a Lightning-like ``Trainer`` with ``training_step`` and ``fit``, no Lightning);
* ``layers``: ``attrs`` (``self.fc1``, ``self.fc2``), ``modulelist`` (an ``nn.ModuleList`` walked in ``forward``,
  two hidden layers), ``moduledict`` (an ``nn.ModuleDict`` of an ``encoder`` ``nn.Sequential`` and a ``head``);
* ``init``: ``default`` or ``apply`` (``model.apply(init_weights)``: Kaiming weights, zero biases);
* ``data``: ``loader`` (a ``DataLoader`` over a ``TensorDataset``) or ``numpy`` (labels kept in a NumPy array,
  batches indexed by a permutation and converted per batch with ``torch.from_numpy``);
* ``loss``: ``ce`` (``F.cross_entropy``), ``hand`` (a log-softmax written by hand, ``logsumexp`` and a gather),
  ``mse`` (squared error of the logits against one-hot rows);
* ``optim``: ``sgd``, ``momentum``, ``adam``, ``adamw``; ``stepper``: ``optimizer`` or ``manual`` (``p -= lr *
  p.grad`` under ``torch.no_grad()``, ``model.zero_grad()``; with ``sgd`` only);
* ``accum``: ``1`` or ``2`` micro-batches per update (the loss divided by 2, a step every second batch of half the
  drawn size);
* ``clip``: ``none`` or ``norm`` (``nn.utils.clip_grad_norm_(..., max_norm=5.0)`` before the step);
* ``autocast``: ``none`` or ``bf16`` (forward and loss under ``torch.autocast("cpu", dtype=torch.bfloat16)``);
* ``split``: ``none`` or ``early`` (a validation split, the best ``state_dict`` kept by ``copy.deepcopy``, early
  stopping with a patience of 2, ``load_state_dict(best)`` at the end);
* ``metrics``: ``item`` (running loss and hits accumulated with ``.item()``) or ``tensor`` (the loss summed as a
  detached tensor, printed once per epoch).

Each bug of :data:`BUGS` must really stall or hurt the run against its twin (:data:`BEHAVIOUR`, checked by plain
runs): ``.detach()`` of the hidden features in ``forward``, gradient ascent by hand (``p += lr * p.grad``), a
forgotten ``optimizer.step()``, targets shifted by one row against the images, labels shuffled apart from the images,
gradients never emptied, a softmax fed to ``cross_entropy``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from generated.numpy_programs import changed_lines
from generated.torch_programs import N_TEST, N_TRAIN, Program

__all__ = ["N_TRAIN", "N_TEST", "AXES", "BUGS", "BEHAVIOUR", "WildStyle", "WildProgram", "sample_style", "write", "plan", "applicable", "valid"]

AXES: dict[str, tuple[str, ...]] = {
    "trainer": ("loop", "function", "class"),
    "layers": ("attrs", "modulelist", "moduledict"),
    "init": ("default", "apply"),
    "data": ("loader", "numpy"),
    "loss": ("ce", "hand", "mse"),
    "optim": ("sgd", "momentum", "adam", "adamw"),
    "stepper": ("optimizer", "manual"),
    "accum": ("1", "2"),
    "clip": ("none", "norm"),
    "autocast": ("none", "bf16"),
    "split": ("none", "early"),
    "metrics": ("item", "tensor"),
}

BUGS: dict[str, str] = {
    "detach-forward": "frozen-parameters",
    "shifted-targets": "no-learning",
    "gradient-ascent": "gradient-mismatch",
    "shuffled-labels": "no-learning",
    "step-forgotten": "frozen-parameters",
    "zero-grad-missing": "stale-accumulator",
    "softmax-into-ce": "double-softmax",
}
"""Planted bug -> the finding code that names it (in an order where no two neighbours exclude each other: the plan
pairs neighbours, and gradient ascent needs a hand-written step where a forgotten ``optimizer.step()`` and a detached
hidden output need an optimizer)."""

BEHAVIOUR: dict[str | None, str] = {
    None: "learns",
    "detach-forward": "worse",
    "gradient-ascent": "stalls",
    "step-forgotten": "stalls",
    "shifted-targets": "stalls",
    "shuffled-labels": "stalls",
    "zero-grad-missing": "differs",
    "softmax-into-ce": "differs",
}

_LR = {"sgd": 0.1, "momentum": 0.03, "adam": 0.002, "adamw": 0.002}
_MSE_LR = {"sgd": 0.5, "momentum": 0.1, "adam": 0.002, "adamw": 0.002}
"""Squared error of logits against one-hot rows has gradients ~10x smaller than cross-entropy's: SGD takes 0.5."""
_MSE_KAIMING_SGD_LR = 0.25
"""Plain SGD on squared error when ``model.apply`` re-initialises the layers with Kaiming's ReLU gain: the weights'
bound is sqrt(6 / fan_in) against PyTorch's default 1 / sqrt(fan_in), sqrt(6) = 2.45 times larger in each of the three
layers, so the logits start ~15 times larger and squared error's gradient, linear in the logits' error, is no longer
the small one :data:`_MSE_LR` assumes. Measured on the seven healthy twins of seeds 1048-1115 in that style (plain
runs): at 0.5 they ended at 44-87% (ptw1080 at 43.7%, 9 of its 24 second-layer units never firing), at 0.25 at
69-84% (ptw1080 72.3%)."""


@dataclass(frozen=True)
class WildStyle:
    """One choice per axis of :data:`AXES`, plus the program's own settings."""

    trainer: str = "loop"
    layers: str = "attrs"
    init: str = "default"
    data: str = "loader"
    loss: str = "ce"
    optim: str = "sgd"
    stepper: str = "optimizer"
    accum: str = "1"
    clip: str = "none"
    autocast: str = "none"
    split: str = "none"
    metrics: str = "item"
    lr: float = 0.1
    batch_size: int = 32
    hidden: int = 64
    epochs: int = 3
    seed: int = 0
    wild: bool = True

    def axes(self) -> dict[str, str]:
        return {axis: getattr(self, axis) for axis in AXES}

    @property
    def label(self) -> str:
        return "/".join(self.axes().values())

    @property
    def n_fit(self) -> int:
        """Rows the optimizer trains on (the training rows less the validation split's)."""
        return N_TRAIN - 200 if self.split == "early" else N_TRAIN


@dataclass(frozen=True)
class WildProgram(Program):
    """A program of the wild tier: its bug's finding code and behaviour are this tier's."""

    @property
    def expect(self) -> str | None:
        return BUGS[self.bug] if self.bug else None

    @property
    def behaviour(self) -> str:
        return BEHAVIOUR[self.bug]


def valid(style: WildStyle) -> bool:
    return style.stepper == "optimizer" or style.optim == "sgd"


def applicable(style: WildStyle, bug: str | None) -> bool:
    if bug == "gradient-ascent":
        return style.stepper == "manual"
    if bug in ("step-forgotten", "detach-forward"):
        # a hand-written step over every parameter meets the cut layer's .grad of None: the program fails at once
        return style.stepper == "optimizer"
    if bug == "softmax-into-ce":
        return style.loss == "ce"
    if bug == "zero-grad-missing":
        # Adam and AdamW divide by the gradient's own scale: a growing .grad acts as momentum and trains as well
        return style.optim in ("sgd", "momentum")
    return True


def sample_style(seed: int, require=None, **fixed) -> WildStyle:
    """The style of ``seed``: the first valid draw (that ``require`` accepts); ``fixed`` axes or settings win."""
    rnd = random.Random(f"torch-wild-{seed}")
    for _ in range(1000):
        choice = {axis: rnd.choice(values) for axis, values in AXES.items()}
        choice.update({k: str(v) for k, v in fixed.items() if k in AXES})
        if choice["stepper"] == "manual":
            choice["optim"] = "sgd"
        lr = (_MSE_LR if choice["loss"] == "mse" else _LR)[choice["optim"]]
        if choice["loss"] == "mse" and choice["optim"] == "sgd" and choice["init"] == "apply":
            lr = _MSE_KAIMING_SGD_LR
        # accumulation over 2 micro-batches of half the drawn batch: the update sees as many rows as one batch (a
        # whole batch per micro-batch made ptw0006's twin take 32 updates in 4 epochs and stop at 34%)
        batch = rnd.choice((16, 32, 64)) // int(choice["accum"])
        epochs = 3 + (choice["accum"] == "2") + (choice["split"] == "early")
        style = WildStyle(**choice, lr=float(fixed.get("lr", lr)), batch_size=int(fixed.get("batch_size", batch)),
                          hidden=int(fixed.get("hidden", rnd.choice((48, 64, 100)))), epochs=int(fixed.get("epochs", epochs)),
                          seed=seed)
        if valid(style) and (require is None or require(style)):
            return style
    raise ValueError(f"no valid wild style with {fixed}")


def updates_of(style: WildStyle) -> int:
    batches = -(-style.n_fit // style.batch_size)
    return style.epochs * (batches // int(style.accum))


class _Writer:
    def __init__(self, style: WildStyle, bug: str | None):
        self.s, self.bug = style, bug

    def model(self) -> list[str]:
        s, cut = self.s, ".detach()" if self.bug == "detach-forward" else ""
        out = ["class Net(nn.Module):", "    def __init__(self, hidden):", "        super().__init__()"]
        if s.layers == "attrs":
            out += ["        self.fc1 = nn.Linear(784, hidden)", "        self.fc2 = nn.Linear(hidden, 10)", "",
                    "    def forward(self, x):", f"        h = F.relu(self.fc1(x)){cut}", "        return self.fc2(h)"]
        elif s.layers == "modulelist":
            out += ["        sizes = [784, hidden, hidden // 2, 10]",
                    "        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))", "",
                    "    def forward(self, x):", "        for layer in self.layers[:-1]:", "            x = torch.relu(layer(x))",
                    f"        return self.layers[-1](x{cut})"]
        else:
            out += ["        self.blocks = nn.ModuleDict({", '            "encoder": nn.Sequential(nn.Linear(784, hidden), nn.ReLU()),',
                    '            "head": nn.Linear(hidden, 10),', "        })", "", "    def forward(self, x):",
                    f'        features = self.blocks["encoder"](x){cut}', '        return self.blocks["head"](features)']
        if s.init == "apply":
            out += ["", "", "def init_weights(m):", "    if isinstance(m, nn.Linear):",
                    '        nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")', "        nn.init.zeros_(m.bias)"]
        return out + ["", ""]

    def data(self) -> list[str]:
        s = self.s
        out = ['rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)', "images = torch.from_numpy(rows[:, 1:] / 255.0)"]
        out.append("labels = rows[:, 0].astype(np.int64)" if s.data == "numpy" else "labels = torch.from_numpy(rows[:, 0]).long()")
        if self.bug == "shuffled-labels":
            out.append("labels = labels[np.random.permutation(len(labels))]" if s.data == "numpy"
                       else "labels = labels[torch.randperm(len(labels))]")
        if self.bug == "shifted-targets":
            out.append("labels = np.roll(labels, 1)" if s.data == "numpy" else "labels = torch.roll(labels, 1)")
        out += [f"x_train, y_train = images[:{N_TRAIN}], labels[:{N_TRAIN}]",
                f"x_test, y_test = images[{N_TRAIN}:], labels[{N_TRAIN}:]"]
        if s.split == "early":
            if s.data == "numpy":
                out += ["held_out = np.random.permutation(len(y_train))",
                        "x_val, y_val = x_train[held_out[:200]], y_train[held_out[:200]]",
                        "x_train, y_train = x_train[held_out[200:]], y_train[held_out[200:]]"]
            else:
                out += ["train_set, val_set = random_split(TensorDataset(x_train, y_train), [len(y_train) - 200, 200],",
                        "                                  generator=torch.Generator().manual_seed(0))",
                        "x_val, y_val = val_set[:]"]
        if s.data == "loader":
            data = "train_set" if s.split == "early" else "TensorDataset(x_train, y_train)"
            out += [f"loader = DataLoader({data}, batch_size=batch_size, shuffle=True)", "", "",
                    "def batches():", "    return loader"]
        else:
            out += ["", "", "def batches():", "    order = torch.randperm(len(y_train))",
                    "    for idx in order.split(batch_size):",
                    "        yield x_train[idx], torch.from_numpy(y_train[idx.numpy()])"]
        return out + ["", ""]

    def loss_fn(self) -> list[str]:
        s = self.s
        if s.loss == "ce":
            inner = "F.softmax(logits, dim=1)" if self.bug == "softmax-into-ce" else "logits"
            return ["def loss_fn(logits, targets):", f"    return F.cross_entropy({inner}, targets)", "", ""]
        if s.loss == "hand":
            return ["def loss_fn(logits, targets):", "    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)",
                    "    return -log_probs[torch.arange(len(targets)), targets].mean()", "", ""]
        return ["def loss_fn(logits, targets):", "    return F.mse_loss(logits, F.one_hot(targets, 10).float())", "", ""]

    def optimizer(self) -> list[str]:
        s = self.s
        if s.stepper == "manual":
            return []
        return [{"sgd": "optimizer = torch.optim.SGD(model.parameters(), lr=lr)",
                 "momentum": "optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)",
                 "adam": "optimizer = torch.optim.Adam(model.parameters(), lr=lr)",
                 "adamw": "optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)"}[s.optim]]

    def step(self, model: str, opt: str) -> list[str]:
        """One micro-batch: the forward and the loss, backward, and (every ``accum`` batches) the update."""
        s = self.s
        fwd = [f"logits = {model}(xb)", "loss = loss_fn(logits, yb)" + (f" / {s.accum}" if s.accum != "1" else "")]
        if s.autocast == "bf16":
            fwd = ['with torch.autocast("cpu", dtype=torch.bfloat16):', *("    " + x for x in fwd)]
        update: list[str] = []
        if s.clip == "norm":
            update.append(f"nn.utils.clip_grad_norm_({model}.parameters(), max_norm=5.0)")
        zero = [] if self.bug == "zero-grad-missing" else [f"{model}.zero_grad()" if s.stepper == "manual" else f"{opt}.zero_grad()"]
        if s.stepper == "manual":
            sign = "+=" if self.bug == "gradient-ascent" else "-="
            update += ["with torch.no_grad():", f"    for p in {model}.parameters():", f"        p {sign} lr * p.grad", *zero]
        else:
            update += ([] if self.bug == "step-forgotten" else [f"{opt}.step()"]) + zero
        body = [*fwd, "loss.backward()"]
        if s.accum != "1":
            body += [f"if (i + 1) % {s.accum} == 0:", *("    " + x for x in update)]
        else:
            body += update
        return body

    def metric_lines(self) -> tuple[list[str], list[str], str]:
        """(before the batches, after each batch, the epoch's loss expression)."""
        if self.s.metrics == "item":
            return (["total, hits, seen = 0.0, 0, 0"],
                    ["total += loss.item() * len(yb)", "hits += (logits.argmax(dim=1) == yb).sum().item()", "seen += len(yb)"],
                    "total / seen")
        return ["running = torch.zeros(())"], ["running += loss.detach()"], "running.item() / (i + 1)"

    def evaluate(self) -> list[str]:
        return ["def accuracy(model, x, y):", "    model.eval()", "    with torch.no_grad():",
                "        pred = model(x).argmax(dim=1)", "    model.train()",
                "    return (pred == torch.as_tensor(y)).float().mean().item()", "", ""]

    def epoch_end(self, model: str) -> list[str]:
        """After an epoch (``loss_value`` bound): the print, and the early stopping's bookkeeping."""
        out = [f'print(f"epoch {{epoch + 1}}: loss {{loss_value:.4f}}, test accuracy {{accuracy({model}, x_test, y_test):.4f}}")']
        if self.s.split == "early":
            out += [f"val = accuracy({model}, x_val, y_val)", "if val > best_val:",
                    f"    best_val, best_state, waited = val, copy.deepcopy({model}.state_dict()), 0",
                    "else:", "    waited += 1", "    if waited >= 2:",
                    '        print(f"stopped early after epoch {epoch + 1}")', "        break"]
        return out

    def training(self) -> list[str]:
        s = self.s
        before, each, loss_expr = self.metric_lines()
        enum = "for i, (xb, yb) in enumerate(batches()):"
        stop_init = ["best_val, best_state, waited = -1.0, None, 0"] if s.split == "early" else []
        restore = ["model.load_state_dict(best_state)"] if s.split == "early" else []
        init = ["model.apply(init_weights)"] if s.init == "apply" else []
        if s.trainer == "class":
            step = self.step("self.model", "self.optimizer")
            opt = [x.replace("optimizer = ", "self.optimizer = ").replace("model.", "self.model.") for x in self.optimizer()]
            fit_before = [x.replace("total, hits, seen", "total, hits, seen") for x in before]
            out = ["class Trainer:", "    def __init__(self, model):", "        self.model = model",
                   *("        " + x for x in opt), "", "    def training_step(self, i, xb, yb):",
                   *("        " + x for x in step), "        return loss, logits", "",
                   "    def fit(self, epochs):", *("        " + x for x in stop_init),
                   "        for epoch in range(epochs):", *("            " + x for x in fit_before),
                   "            " + enum, "                loss, logits = self.training_step(i, xb, yb)",
                   *("                " + x for x in each), f"            loss_value = {loss_expr}",
                   *("            " + x.replace("accuracy(self.model", "accuracy(self.model") for x in self.epoch_end("self.model"))]
            if s.split == "early":
                out += ["        self.model.load_state_dict(best_state)"]
            out += ["", "", "model = Net(hidden)", *init, "Trainer(model).fit(epochs)"]
            return out
        if s.trainer == "function":
            step = self.step("model", "optimizer")
            out = ["def train_one_epoch(model, optimizer):", *("    " + x for x in before), "    " + enum,
                   *("        " + x for x in step), *("        " + x for x in each), f"    return {loss_expr}", "", "",
                   "model = Net(hidden)", *init, *self.optimizer(), *stop_init, "for epoch in range(epochs):",
                   "    loss_value = train_one_epoch(model, " + ("None" if s.stepper == "manual" else "optimizer") + ")",
                   *("    " + x for x in self.epoch_end("model")), *restore]
            return out
        step = self.step("model", "optimizer")
        return ["model = Net(hidden)", *init, *self.optimizer(), *stop_init, "for epoch in range(epochs):",
                *("    " + x for x in before), "    " + enum, *("        " + x for x in step),
                *("        " + x for x in each), f"    loss_value = {loss_expr}", *("    " + x for x in self.epoch_end("model")),
                *restore]

    def program(self) -> list[str]:
        s = self.s
        imports = ["import sys", *(["import copy"] if s.split == "early" else []), "", "import numpy as np", "import torch",
                   "import torch.nn.functional as F", "from torch import nn"]
        if s.data == "loader" or s.split == "early":
            imports.append("from torch.utils.data import DataLoader, TensorDataset" + (", random_split" if s.split == "early" and s.data == "loader" else ""))
        settings = [f"torch.manual_seed({s.seed})", f"np.random.seed({s.seed})", f"lr = {s.lr}",
                    f"batch_size = {s.batch_size}", f"hidden = {s.hidden}", f"epochs = {s.epochs}", ""]
        return [*imports, "", *settings, *self.data(), *self.model(), *self.loss_fn(), *self.evaluate(), *self.training(),
                'print(f"final test accuracy {accuracy(model, x_test, y_test):.4f}")']


def write(style: WildStyle, bug: str | None = None, variant: str | None = None) -> Program:
    """The program of ``style`` with ``bug`` planted (None: the healthy twin)."""
    if not valid(style):
        raise ValueError(f"invalid style {style}")
    if not applicable(style, bug):
        raise ValueError(f"{bug} cannot be planted in {style.label}")
    mine, twin = _Writer(style, bug).program(), _Writer(style, None).program()
    marked = changed_lines(twin, mine) if bug else ()
    # a forgotten optimizer.step() applies no update at all
    updates = 0 if bug == "step-forgotten" else updates_of(style)
    return WildProgram(f"ptw{style.seed:04d}_{bug or 'healthy'}", style, bug, variant or "",  # type: ignore[arg-type]
                       "\n".join(mine) + "\n", updates, style.epochs * style.n_fit, marked)


def plan(n_styles: int, bugs_per_style: int = 2, start: int = 0, bugs: tuple[str, ...] | None = None) -> list[Program]:
    """``n_styles`` styles, each as its healthy twin followed by ``bugs_per_style`` bugs (round-robin over the seeds, as
    :func:`generated.torch_programs.plan`; each style the first draw of its seed in which both of its bugs apply)."""
    bugs = bugs or tuple(BUGS)
    out: list[Program] = []
    for seed in range(start, start + n_styles):
        k = min(bugs_per_style, len(bugs))
        mine = tuple(bugs[(seed * k + i) % len(bugs)] for i in range(k))
        style = sample_style(seed, require=lambda st, mine=mine: all(applicable(st, b) for b in mine))
        out.append(write(style))
        out += [write(style, bug) for bug in mine]
    return out

