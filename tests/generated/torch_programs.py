"""A seeded writer of complete PyTorch training programs, each with one planted bug or none.

Same contract as :mod:`generated.numpy_programs`: :func:`write` composes a
classifier trained on a CSV of MNIST rows from a :class:`TorchStyle` and a bug
of :data:`BUGS`; a buggy program and its healthy twin differ only at
``Program.bug_lines``. The axes (:data:`AXES`):

* ``model``: ``sequential`` (``nn.Sequential``), ``module`` (an ``nn.Module``
  class with ``nn.Linear`` layers), ``functional`` (an ``nn.Module`` holding
  ``nn.Parameter`` tensors, ``F.linear`` in its forward), ``tensors`` (plain
  tensors with ``requires_grad`` and a forward function);
* ``data``: ``tensors`` (index slices of a shuffled order), ``loader``
  (``DataLoader`` over a ``TensorDataset``), ``dataset`` (a custom
  ``Dataset`` class indexing the training tensors), ``samples`` (a custom
  ``Dataset`` over NumPy arrays whose ``__getitem__`` builds one sample: a new
  float tensor and a Python ``int`` label, batched by the ``DataLoader``'s
  collate);
* ``optim``: ``sgd``, ``momentum``, ``adam``, ``sched`` (SGD with a learning
  rate schedule, ``schedule`` of the style: a per-epoch ``StepLR`` or
  ``ExponentialLR``, or a ``CosineAnnealingLR`` down to 0 over the whole run
  stepped every batch, which must stay quiet), ``lbfgs`` (``LBFGS`` with a
  closure, a few large batches);
* ``loop``: ``epochs`` (epochs x batches), ``iterations`` (a fixed number of
  steps drawing batches), ``sanity`` (a throwaway model first overfits one
  batch, then the real model trains for epochs);
* ``dropout``: ``none``, ``module`` (``nn.Dropout``), ``functional``
  (``F.dropout(..., training=...)``);
* ``finetune``: ``no``, ``yes`` (the first layer "pretrained" as centred
  templates of training images and frozen on purpose: ``requires_grad=False``
  and left out of the optimizer);
* ``project``: ``script`` (one file), ``package`` (a multi-file project: the
  entry script never imports torch itself; settings, data, model and the
  training loop, inside a ``train()`` function, are sibling modules it
  imports, written beside it from :attr:`Program.modules`).

The extended axes (:data:`EXTENDED_AXES`, drawn only by ``sample_style(seed, extended=True)``, which draws the
axes above exactly as ``sample_style(seed)`` does and then these from a stream of their own; programs named
``ptx...``): how users write PyTorch that learns, and the bugs of :data:`EXTENDED_BUGS` planted in them:

* ``loss``: ``functional`` (``F.cross_entropy``), ``module`` (an ``nn.CrossEntropyLoss()`` object), ``nll``
  (``F.nll_loss`` of ``F.log_softmax``);
* ``targets``: ``indices`` (class indices) or ``onehot`` (float one-hot rows: cross-entropy with class
  probabilities, PyTorch >= 1.10);
* ``reduction``: ``mean``, or ``sum`` with the learning rate divided by the batch size (the same step);
* ``norm``: ``none`` or ``batchnorm`` (``nn.BatchNorm1d`` after the first layer);
* ``zero``: how gradients are cleared: ``optimizer`` (``optimizer.zero_grad()``), ``model``
  (``model.zero_grad()``), ``none`` (``p.grad = None`` for every parameter);
* ``order``: ``shuffled`` (the rows come in random order) or ``sorted`` (sorted by digit, as some exports are:
  only the loader's shuffling mixes them).

The stepper axis (:data:`STEPPERS`, drawn from a stream of its own for seeds from :data:`STEPPER_FROM` on, so
that every earlier seed writes the program it wrote before; base and extended styles alike): how the parameters are
updated:

* ``optimizer``: ``torch.optim`` (the ``optim`` axis);
* ``manual``: by hand, ``with torch.no_grad(): for param in params: param -= lr * param.grad`` (``optim`` is
  ``sgd``: the step is plain SGD's), gradients emptied by ``param.grad.zero_()`` for each parameter where the
  ``zero`` axis says ``optimizer``;
* ``raw``: by hand through ``.data``, ``param.data.add_(param.grad.data, alpha=-lr)`` (older tutorials' way).

Bugs about an optimizer object or a step that has no gradient to apply (``stale-optimizer``,
``scheduler-every-batch``, ``step-before-backward``, ``requires-grad-false``, ``zero-grad-after-backward``,
``no-grad-forward``) are planted with ``optimizer`` only.

The last two draws come from streams of their own (``data="samples"`` in a
quarter of the styles, replacing the first draw), so that the programs of
seeds written before them keep their other axes. :func:`plan` spreads the bugs
evenly over consecutive seeds (a round-robin offset by the seed) and draws the
style so that both of its bugs can be planted.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from generated.numpy_programs import changed_lines

_FIRST_DRAW: dict[str, tuple[str, ...]] = {
    "model": ("sequential", "module", "functional", "tensors"),
    "data": ("tensors", "loader", "dataset"),
    "optim": ("sgd", "momentum", "adam", "sched", "lbfgs"),
    "loop": ("epochs", "iterations", "sanity"),
    "dropout": ("none", "module", "functional"),
    "finetune": ("no", "yes"),
}
"""The axes drawn from the style's first stream, with the values they had when it was written (unchanged, so that
the seeds' draws stay as they were)."""
AXES: dict[str, tuple[str, ...]] = {
    **_FIRST_DRAW,
    "data": ("tensors", "loader", "dataset", "samples"),
    "project": ("script", "package"),
}

BUGS: dict[str, str] = {
    "zero-grad-missing": "stale-accumulator",
    "zero-grad-per-epoch": "stale-accumulator",
    "softmax-into-ce": "double-softmax",
    "stale-optimizer": "frozen-parameters",
    "shuffled-labels": "no-learning",
    "scheduler-every-batch": "learning-rate-too-low",
    "dropout-at-eval": "train-mode-evaluation",
    "step-before-backward": "frozen-parameters",
    "requires-grad-false": "frozen-parameters",
}
"""Planted bug -> the finding code that names it (issue 23)."""

EXTENDED_BUGS: dict[str, str] = {
    "zero-grad-after-backward": "frozen-parameters",
    "summed-loss": "summed-gradient",
    "eval-left-on": "eval-mode-training",
    "no-grad-forward": "frozen-parameters",
    "unshuffled-sorted": "unshuffled-data",
}
"""Bugs planted only in extended styles: ``optimizer.zero_grad()`` between ``backward()`` and ``step()``; a summed
loss at the learning rate tuned for the mean; ``evaluate()`` leaving the model in eval mode (dropout or batch norm
off for the rest of training); the forward under ``torch.no_grad()`` and ``loss.requires_grad_(True)`` to silence
the error; rows sorted by digit fed unshuffled (``shuffle=False``)."""

HAND_BUGS: dict[str, str] = {
    "gradient-ascent": "gradient-mismatch",
}
"""Bugs planted only where the program steps by hand (``stepper`` ``manual`` or ``raw``), and only by plans that ask
for hand-stepped styles (:func:`plan` with ``steppers``): the gradient added to the weights, ``param += lr *
param.grad`` (``param.data.add_(param.grad.data, alpha=lr)``)."""

EXTENDED_AXES: dict[str, tuple[str, ...]] = {
    "loss": ("functional", "module", "nll"),
    "targets": ("indices", "onehot"),
    "reduction": ("mean", "sum"),
    "norm": ("none", "batchnorm"),
    "zero": ("optimizer", "model", "none"),
    "order": ("shuffled", "sorted"),
}
"""Axes drawn only for extended styles; the first value is what every style of :data:`AXES` alone writes."""

BEHAVIOUR: dict[str | None, str] = {
    None: "learns",
    "zero-grad-missing": "differs",
    "zero-grad-per-epoch": "differs",
    "softmax-into-ce": "differs",
    "stale-optimizer": "stalls",
    "shuffled-labels": "stalls",
    "scheduler-every-batch": "worse",
    "dropout-at-eval": "differs",
    "step-before-backward": "stalls",
    "requires-grad-false": "differs",
    "zero-grad-after-backward": "stalls",
    "summed-loss": "worse",
    "eval-left-on": "differs",
    "no-grad-forward": "stalls",
    "unshuffled-sorted": "worse",
    "gradient-ascent": "stalls",
}

N_TRAIN, N_TEST = 1000, 300


@dataclass(frozen=True)
class TorchStyle:
    """One choice per axis of :data:`AXES`, plus the program's own settings."""

    model: str = "module"
    data: str = "loader"
    optim: str = "sgd"
    loop: str = "epochs"
    dropout: str = "none"
    finetune: str = "no"
    lr: float = 0.1
    batch_size: int = 32
    hidden: int = 64
    epochs: int = 3
    seed: int = 0
    schedule: str = "step"
    """With ``optim="sched"``: one of :data:`SCHEDULES`."""
    project: str = "script"
    loss: str = "functional"
    targets: str = "indices"
    reduction: str = "mean"
    norm: str = "none"
    zero: str = "optimizer"
    order: str = "shuffled"
    stepper: str = "optimizer"
    extended: bool = False
    """Drawn with the extended axes: they are part of :meth:`axes` and the label."""

    def axes(self) -> dict[str, str]:
        out = {axis: getattr(self, axis) for axis in (*AXES, *EXTENDED_AXES) if axis in AXES or self.extended}
        if self.optim == "sched":
            out["optim"] = f"sched-{self.schedule}"
        if self.seed >= STEPPER_FROM:
            out["stepper"] = self.stepper
        return out

    @property
    def label(self) -> str:
        return "/".join(self.axes().values())


@dataclass(frozen=True)
class Program:
    name: str
    style: TorchStyle
    bug: str | None
    variant: str
    source: str
    updates: int
    samples: int
    bug_lines: tuple[int, ...]
    """Lines that differ from the healthy twin: of ``source``, or of the project's files in the order of
    ``(source, *modules)`` taken as one text."""
    modules: tuple[tuple[str, str], ...] = ()
    """A multi-file project's sibling modules as (file name, text), written beside the entry script (``source``)."""

    def place(self, folder: Path) -> Path:
        """Write the program into ``folder`` (a project: into ``folder/name/``); the entry script's path."""
        if self.modules:
            folder = folder / self.name
            folder.mkdir(exist_ok=True)
            for name, text in self.modules:
                (folder / name).write_text(text, encoding="utf-8")
        script = folder / f"{self.name}.py"
        script.write_text(self.source, encoding="utf-8")
        return script

    @property
    def expect(self) -> str | None:
        return {**BUGS, **EXTENDED_BUGS, **HAND_BUGS}[self.bug] if self.bug else None

    @property
    def behaviour(self) -> str:
        return BEHAVIOUR[self.bug]


def valid(style: TorchStyle) -> bool:
    if style.model == "sequential" and style.dropout == "functional":
        return False
    if style.model == "tensors" and style.dropout == "module":
        return False
    if style.optim == "lbfgs" and style.loop == "iterations":
        return False
    if style.loss == "nll" and style.targets == "onehot":
        return False  # nll_loss takes class indices only
    if style.reduction == "sum" and style.optim == "lbfgs":
        return False
    if style.norm == "batchnorm" and (style.model == "tensors" or style.finetune == "yes"):
        return False
    if style.zero == "model" and style.model == "tensors":
        return False
    if style.stepper != "optimizer" and style.optim != "sgd":
        return False
    return True


def applicable(style: TorchStyle, bug: str | None) -> bool:
    if bug is None:
        return True
    if bug in _OPTIMIZER_ONLY and style.stepper != "optimizer":
        return False
    if bug in HAND_BUGS:
        return style.stepper != "optimizer"
    if bug in ("zero-grad-missing", "step-before-backward"):
        return style.optim != "lbfgs"
    if bug == "zero-grad-per-epoch":
        return style.optim != "lbfgs" and style.loop != "iterations"
    if bug == "scheduler-every-batch":
        return style.optim == "sched" and style.schedule != "cosine" and style.loop != "iterations"
    if bug == "dropout-at-eval":
        return style.dropout == "functional"
    if bug == "requires-grad-false":
        return style.finetune == "no"
    if bug in EXTENDED_BUGS and not style.extended:
        return False
    if bug in ("zero-grad-after-backward", "no-grad-forward"):
        return style.optim != "lbfgs"
    if bug == "summed-loss":
        # not when fine-tuning: a linear head on frozen features still learns at 32x the step (ptx0002: 67% against
        # its twin's 63%)
        return style.reduction == "mean" and style.optim in ("sgd", "momentum", "sched") and style.finetune == "no"
    if bug == "eval-left-on":
        return style.model != "tensors" and (style.dropout != "none" or style.norm == "batchnorm")
    if bug == "unshuffled-sorted":
        return style.order == "sorted"
    return True


STEPPERS = ("optimizer", "manual", "raw")
STEPPER_FROM = 1050
"""Seeds from which the stepper is drawn (earlier seeds keep ``optimizer``: the programs they wrote before the axis)."""
_STEPPER_DRAW = ("optimizer",) * 4 + ("manual", "raw")
"""The stepper's draw: a third of the styles step by hand."""
_OPTIMIZER_ONLY = ("stale-optimizer", "scheduler-every-batch", "step-before-backward", "requires-grad-false",
                   "zero-grad-after-backward", "no-grad-forward")
"""Bugs planted only where an optimizer steps (they are about its object, or leave a hand update no gradient)."""

_LR = {"sgd": 0.1, "momentum": 0.02, "adam": 0.002, "sched": 0.15, "lbfgs": 0.5}
SCHEDULES = ("step", "exponential", "cosine")
"""The schedules of ``optim="sched"`` (drawn from a stream of their own: the other axes' draws stay as they were)."""


def sample_style(seed: int, require: Callable[[TorchStyle], bool] | None = None, extended: bool = False,
                 **fixed) -> TorchStyle:
    """The style of ``seed``: the first valid draw (that ``require`` accepts) of its streams; ``fixed`` axes or settings win.

    With ``extended``, the axes of :data:`AXES` and the settings are drawn exactly as without it, and then the axes of
    :data:`EXTENDED_AXES` from a stream of their own (see :func:`extend`).
    """
    rnd = random.Random(f"torch-{seed}")
    extras = random.Random(f"torch-extended-{seed}")
    # Streams of their own, one draw per attempt: a seed whose first draw was valid keeps its other axes. The schedule
    # is the stream's first draw on every attempt (as it was before these streams), unless ``require`` asks for more.
    schedules, datas = random.Random(f"torch-schedule-{seed}"), random.Random(f"torch-data-{seed}")
    projects, steppers = random.Random(f"torch-project-{seed}"), random.Random(f"torch-stepper-{seed}")
    for _ in range(1000):
        choice = {axis: rnd.choice(values) for axis, values in _FIRST_DRAW.items()}
        choice["data"] = "samples" if datas.random() < 0.25 else choice["data"]
        choice["project"] = projects.choice(AXES["project"])
        choice.update({k: v for k, v in fixed.items() if k in AXES})
        stepper = str(fixed.get("stepper", steppers.choice(_STEPPER_DRAW) if seed >= STEPPER_FROM else "optimizer"))
        if stepper != "optimizer":
            choice["optim"] = "sgd"  # a hand-written update is plain SGD's step
        lbfgs = choice["optim"] == "lbfgs"
        # Fine-tuning trains the last layer alone on the frozen first layer's features (100 templates): it needs a
        # larger step and a fourth epoch to reach 60% (measured: 47-60% with Adam at 0.002 or 3 epochs, 64-79% so).
        finetune = choice["finetune"] == "yes"
        boost = (5.0 if choice["optim"] == "adam" else 1.0 if lbfgs else 3.0) if finetune else 1.0
        batch_size, hidden = 250 if lbfgs else rnd.choice((16, 32, 64)), rnd.choice((32, 64, 100))
        style = TorchStyle(**choice, lr=float(fixed.get("lr", _LR[choice["optim"]] * boost)),
                           batch_size=int(fixed.get("batch_size", batch_size)),
                           hidden=int(fixed.get("hidden", 100 if finetune else hidden)),
                           epochs=int(fixed.get("epochs", 4 if finetune else 3)), seed=seed,
                           schedule=str(fixed.get("schedule", (schedules if require else random.Random(
                               f"torch-schedule-{seed}")).choice(SCHEDULES))), stepper=stepper)
        if extended and valid(style):
            style = extend(style, extras, require, **fixed) or style
        if valid(style) and (require is None or require(style)) and style.extended == extended:
            return style
    raise ValueError(f"no valid style with {fixed}")


def extend(style: TorchStyle, rnd: random.Random, require: Callable[[TorchStyle], bool] | None = None,
           **fixed) -> TorchStyle | None:
    """``style`` with the axes of :data:`EXTENDED_AXES` drawn from ``rnd`` (those in ``fixed`` kept): the first valid
    draw that ``require`` accepts, or None. A summed loss divides the learning rate by the batch size (the same step
    as the mean's; Adam's steps do not scale with the loss, so its rate stays)."""
    for _ in range(50):
        choice = {axis: rnd.choice(values) for axis, values in EXTENDED_AXES.items()}
        choice.update({k: str(v) for k, v in fixed.items() if k in EXTENDED_AXES})
        lr = style.lr
        if choice["reduction"] == "sum" and style.optim != "adam" and "lr" not in fixed:
            lr = style.lr / style.batch_size
        out = replace(style, **choice, lr=lr, extended=True)
        if valid(out) and (require is None or require(out)):
            return out
    return None


def steps_per_epoch(style: TorchStyle) -> int:
    return -(-N_TRAIN // style.batch_size)


def updates_of(style: TorchStyle) -> int:
    """Optimizer steps of the real model (the throwaway model of a sanity check not counted)."""
    return style.epochs * steps_per_epoch(style)


class _Writer:
    def __init__(self, style: TorchStyle, bug: str | None):
        self.s, self.bug = style, bug

    def is_bug(self, bug: str) -> bool:
        return self.bug == bug

    # the model -----------------------------------------------------------------------------------------
    def model_lines(self) -> list[str]:
        s, H = self.s, "hidden"
        soft = self.is_bug("softmax-into-ce")
        if s.model == "sequential":
            layers = ["nn.Linear(784, hidden)", *(["nn.BatchNorm1d(hidden)"] if s.norm == "batchnorm" else []), "nn.ReLU()"] + (["nn.Dropout(0.5)"] if s.dropout == "module" else []) + [
                "nn.Linear(hidden, 10)"] + (["nn.Softmax(dim=1)"] if soft else [])
            return ["def make_model():", "    return nn.Sequential(" + ", ".join(layers) + ")", "", ""]
        drop = {"none": [], "module": ["        h = self.drop(h)"],
                "functional": ["        h = F.dropout(h, 0.5)" if self.is_bug("dropout-at-eval")
                               else "        h = F.dropout(h, 0.5, training=self.training)"]}[s.dropout]
        if s.model == "module":
            out = ["class Net(nn.Module):", "    def __init__(self):", "        super().__init__()",
                   f"        self.fc1 = nn.Linear(784, {H})", f"        self.fc2 = nn.Linear({H}, 10)"]
            if s.dropout == "module":
                out.append("        self.drop = nn.Dropout(0.5)")
            first = "self.fc1(x)"
            if s.norm == "batchnorm":
                out.append(f"        self.bn = nn.BatchNorm1d({H})")
                first = f"self.bn({first})"
            out += ["", "    def forward(self, x):", f"        h = torch.relu({first})", *drop]
            out.append("        return F.softmax(self.fc2(h), dim=1)" if soft else "        return self.fc2(h)")
            return out + ["", "", "def make_model():", "    return Net()", "", ""]
        if s.model == "functional":
            out = ["class Net(nn.Module):", "    def __init__(self):", "        super().__init__()",
                   f"        self.w1 = nn.Parameter(torch.randn({H}, 784) / 784 ** 0.5)",
                   f"        self.b1 = nn.Parameter(torch.zeros({H}))",
                   f"        self.w2 = nn.Parameter(torch.randn(10, {H}) / {H} ** 0.5)",
                   "        self.b2 = nn.Parameter(torch.zeros(10))"]
            if s.dropout == "module":
                out.append("        self.drop = nn.Dropout(0.5)")
            first = "F.linear(x, self.w1, self.b1)"
            if s.norm == "batchnorm":
                out.append(f"        self.bn = nn.BatchNorm1d({H})")
                first = f"self.bn({first})"
            out += ["", "    def forward(self, x):", f"        h = F.relu({first})", *drop]
            out.append("        return F.softmax(F.linear(h, self.w2, self.b2), dim=1)" if soft
                       else "        return F.linear(h, self.w2, self.b2)")
            return out + ["", "", "def make_model():", "    return Net()", "", ""]
        # plain tensors: the "model" is a list of tensors and a function
        out = ["def make_model():", f"    w1 = (torch.randn(784, {H}) / 784 ** 0.5).requires_grad_()",
               f"    b1 = torch.zeros({H}, requires_grad=True)",
               f"    w2 = (torch.randn({H}, 10) / {H} ** 0.5).requires_grad_()",
               "    b2 = torch.zeros(10, requires_grad=True)", "    return [w1, b1, w2, b2]", "", "",
               "def forward(params, x, training=True):", "    w1, b1, w2, b2 = params", "    h = torch.relu(x @ w1 + b1)"]
        if s.dropout == "functional":
            out.append("    h = F.dropout(h, 0.5)" if self.is_bug("dropout-at-eval")
                       else "    h = F.dropout(h, 0.5, training=training)")
        out.append("    return F.softmax(h @ w2 + b2, dim=1)" if soft else "    return h @ w2 + b2")
        return out + ["", ""]

    def call(self, model: str, x: str, training: bool = True) -> str:
        if self.s.model == "tensors":
            return f"forward({model}, {x})" if training else f"forward({model}, {x}, training=False)"
        return f"{model}({x})"

    def trainable(self, model: str) -> str:
        """The expression handed to the optimizer."""
        s = self.s
        if s.model == "tensors":
            return f"{model}[2:]" if s.finetune == "yes" else model
        if s.finetune == "yes":
            first = {"sequential": f"{model}[0]", "module": f"{model}.fc1"}.get(s.model)
            if first:
                return f"[p for p in {model}.parameters() if p.requires_grad]"
            return f"[{model}.w2, {model}.b2]"
        return f"{model}.parameters()"

    def freeze_lines(self, model: str) -> list[str]:
        s = self.s
        if s.finetune == "yes":
            # The first layer comes "pretrained" (centred templates of training images, each answering ~1 to its
            # own image) and is frozen: fine-tuning trains the layers after it.
            weight = {"sequential": f"{model}[0].weight", "module": f"{model}.fc1.weight", "functional": f"{model}.w1",
                      "tensors": f"{model}[0]"}[s.model]
            pretrained = ["templates = x_train[:hidden] - x_train[:hidden].mean(0)",
                          "templates = templates / (templates ** 2).sum(1, keepdim=True)", "with torch.no_grad():",
                          f"    {weight}.copy_(templates{'.T' if s.model == 'tensors' else ''})"]
            if s.model == "tensors":
                return [*pretrained, f"for p in {model}[:2]:", "    p.requires_grad_(False)"]
            first = {"sequential": f"{model}[0].parameters()", "module": f"{model}.fc1.parameters()",
                     "functional": f"({model}.w1, {model}.b1)"}[s.model]
            return [*pretrained, f"for p in {first}:", "    p.requires_grad_(False)"]
        if self.is_bug("requires-grad-false"):
            if s.model == "tensors":
                return [f"{model}[0].requires_grad_(False)"]
            first = {"sequential": f"{model}[0].weight", "module": f"{model}.fc1.weight", "functional": f"{model}.w1"}[s.model]
            return [f"{first}.requires_grad_(False)"]
        return []

    def optimizer_lines(self, model: str, opt: str = "optimizer") -> list[str]:
        s, params = self.s, self.trainable(model)
        if s.stepper != "optimizer":
            return []  # the program updates its parameters itself (update_lines)
        o = {"sgd": f"torch.optim.SGD({params}, lr=lr)", "momentum": f"torch.optim.SGD({params}, lr=lr, momentum=0.9)",
             "adam": f"torch.optim.Adam({params}, lr=lr)", "sched": f"torch.optim.SGD({params}, lr=lr)",
             "lbfgs": f"torch.optim.LBFGS({params}, lr=lr, max_iter=5, history_size=10)"}[s.optim]
        out = [f"{opt} = {o}"]
        if s.optim == "sched" and opt == "optimizer":
            out.append({"step": "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.8)",
                        "exponential": "scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)",
                        "cosine": "scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, "
                                  f"T_max=epochs * {steps_per_epoch(s)})"}[s.schedule])
        return out

    # data ------------------------------------------------------------------------------------------------
    def data_lines(self) -> list[str]:
        s = self.s
        out = ['rows = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)',
               "x_all = torch.from_numpy(rows[:, 1:] / 255.0)", "y_all = torch.from_numpy(rows[:, 0]).long()",
               "x_train, y_train = x_all[:n_train], y_all[:n_train]", "x_test, y_test = x_all[n_train:], y_all[n_train:]",
               "perm = torch.argsort(y_train, stable=True)" if s.order == "sorted" else "perm = torch.randperm(n_train)",
               "x_train, y_train = x_train[perm], y_train[torch.randperm(n_train)]" if self.is_bug("shuffled-labels")
               else "x_train, y_train = x_train[perm], y_train[perm]"]
        if s.targets == "onehot":
            out.append("y_train = torch.nn.functional.one_hot(y_train, 10).float()")
        shuffle = "False" if self.is_bug("unshuffled-sorted") else "True"
        if s.data == "dataset":
            out += ["", "", "class Digits(Dataset):", "    def __init__(self, x, y):", "        self.x, self.y = x, y", "",
                    "    def __len__(self):", "        return len(self.y)", "", "    def __getitem__(self, i):",
                    "        return self.x[i], self.y[i]", "", "",
                    f"loader = DataLoader(Digits(x_train, y_train), batch_size=batch_size, shuffle={shuffle})"]
        elif s.data == "samples":
            out += ["", "", "class Digits(Dataset):",
                    '    """One training sample per item, built when asked: its pixels as a new tensor, its label an int."""',
                    "", "    def __init__(self, x, y):", "        self.pixels, self.labels = x.numpy(), y.numpy()", "",
                    "    def __len__(self):", "        return len(self.labels)", "", "    def __getitem__(self, i):",
                    "        x = torch.tensor(self.pixels[i], dtype=torch.float32)",
                    "        return x, torch.tensor(self.labels[i])" if s.targets == "onehot" else "        return x, int(self.labels[i])",
                    "", "", f"loader = DataLoader(Digits(x_train, y_train), batch_size=batch_size, shuffle={shuffle})"]
        elif s.data == "loader":
            out += [f"loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle={shuffle})"]
        else:
            out += ["", "", "def batches():", "    order = torch.arange(n_train)" if self.is_bug("unshuffled-sorted")
                    else "    order = torch.randperm(n_train)", "    for i in range(0, n_train, batch_size):",
                    "        idx = order[i:i + batch_size]", "        yield x_train[idx], y_train[idx]"]
        return out + ["", ""]

    def batches(self) -> str:
        return "batches()" if self.s.data == "tensors" else "loader"

    # a step ------------------------------------------------------------------------------------------------
    def loss(self, out: str, target: str = "yb", opt: str = "optimizer") -> str:
        """The loss of ``out`` against ``target`` as the style spells it (the summed-loss bug: summed, not averaged)."""
        s = self.s
        if s.loss == "module":
            return f"criterion({out}, {target})"
        summed = s.reduction == "sum" or (self.is_bug("summed-loss") and opt == "optimizer")
        red = ', reduction="sum"' if summed else ""
        if s.loss == "nll":
            return f"F.nll_loss(F.log_softmax({out}, dim=1), {target}{red})"
        return f"F.cross_entropy({out}, {target}{red})"

    def criterion_lines(self) -> list[str]:
        s = self.s
        if s.loss != "module":
            return []
        summed = s.reduction == "sum" or self.is_bug("summed-loss")
        return ['criterion = nn.CrossEntropyLoss(reduction="sum")' if summed else "criterion = nn.CrossEntropyLoss()"]

    def zero_lines(self, model: str, opt: str) -> list[str]:
        s = self.s
        if s.stepper != "optimizer" and s.zero == "optimizer":  # no optimizer: each parameter's gradient emptied
            return [f"for param in {self.trainable(model)}:", "    if param.grad is not None:", "        param.grad.zero_()"]
        if s.zero == "model":
            return [f"{model}.zero_grad()"]
        if s.zero == "none":
            params = model if s.model == "tensors" else f"{model}.parameters()"
            return [f"for param in {params}:", "    param.grad = None"]
        return [f"{opt}.zero_grad()"]

    def update_lines(self, model: str, opt: str) -> list[str]:
        """The step: the optimizer's, or the program's own update of the parameters (the ``stepper`` axis)."""
        s = self.s
        ascent = self.is_bug("gradient-ascent") and opt == "optimizer"
        if s.stepper == "manual":
            return ["with torch.no_grad():", f"    for param in {self.trainable(model)}:",
                    f"        param {'+=' if ascent else '-='} lr * param.grad"]
        if s.stepper == "raw":
            return [f"for param in {self.trainable(model)}:", f"    param.data.add_(param.grad.data, alpha={'' if ascent else '-'}lr)"]
        return [f"{opt}.step()"]

    def step_lines(self, model: str, opt: str = "optimizer") -> list[str]:
        s = self.s
        out = self.call(model, "xb")
        mine = opt == "optimizer"
        if s.optim == "lbfgs":
            return ["def closure():", *("    " + x for x in self.zero_lines(model, opt)),
                    f"    loss = {self.loss(out, opt=opt)}", "    loss.backward()", "    return loss", "", f"loss = {opt}.step(closure)"]
        zero = [] if (self.is_bug("zero-grad-missing") or self.is_bug("zero-grad-per-epoch")) and mine \
            else self.zero_lines(model, opt)
        if not s.extended:
            lines = zero + [f"loss = {self.loss(out, opt=opt)}"]
        elif self.is_bug("no-grad-forward") and mine:
            lines = zero + ["with torch.no_grad():", f"    out = {out}", f"loss = {self.loss('out', opt=opt)}",
                            "loss.requires_grad_(True)"]
        else:
            lines = zero + [f"out = {out}", f"loss = {self.loss('out', opt=opt)}"]
        if self.is_bug("step-before-backward") and mine:
            return lines + [f"{opt}.step()", "loss.backward()"]
        if self.is_bug("zero-grad-after-backward") and mine:
            return lines[len(zero):] + ["loss.backward()", *zero, f"{opt}.step()"]
        return lines + ["loss.backward()", *self.update_lines(model, opt)]

    def evaluate_lines(self) -> list[str]:
        s = self.s
        train_mode = [] if s.model == "tensors" else ["    model.eval()"]
        back = [] if s.model == "tensors" or self.is_bug("eval-left-on") else ["    model.train()"]
        return ["def evaluate():", *train_mode, "    with torch.no_grad():",
                f"        pred = {self.call('model', 'x_test', training=False)}.argmax(dim=1)", *back,
                "    return (pred == y_test).float().mean().item()", "", ""]

    def imports(self) -> list[str]:
        s = self.s
        out = ["import sys", "", "import numpy as np", "import torch", "import torch.nn.functional as F", "from torch import nn"]
        if s.data in ("dataset", "samples"):
            out.append("from torch.utils.data import DataLoader, Dataset")
        elif s.data == "loader":
            out.append("from torch.utils.data import DataLoader, TensorDataset")
        return out

    def settings(self) -> list[str]:
        s = self.s
        return [f"lr = {s.lr}", f"batch_size = {s.batch_size}", f"hidden = {s.hidden}", f"epochs = {s.epochs}",
                f"n_train = {N_TRAIN}"]

    def training_lines(self) -> list[str]:
        """The sanity check, the model and its optimizer, the evaluation and the loop (module level in a script)."""
        s = self.s
        lines: list[str] = self.criterion_lines()
        if s.loop == "sanity":  # overfit one batch with a throwaway model first
            lines += ["probe = make_model()", *self.optimizer_lines("probe", "probe_opt"),
                      f"xb, yb = next(iter({self.batches()}))", "for _ in range(20):"]
            lines += ["    " + x for x in self.step_lines("probe", "probe_opt")]
            lines += ['print(f"sanity check: one batch overfit to loss {loss.item():.4f}")', ""]
        lines += ["model = make_model()", *self.freeze_lines("model"), *self.optimizer_lines("model")]
        if self.is_bug("stale-optimizer"):
            lines.append("model = make_model()")
        lines += ["", ""] + self.evaluate_lines()
        if s.model != "tensors":
            lines.append("model.train()")
        if s.loop == "iterations":
            lines += ["stream = iter(" + self.batches() + ")", f"for it in range(epochs * {steps_per_epoch(s)}):",
                      "    try:", "        xb, yb = next(stream)", "    except StopIteration:",
                      f"        stream = iter({self.batches()})", "        xb, yb = next(stream)"]
            lines += ["    " + x for x in self.step_lines("model")]
            if s.optim == "sched" and s.schedule == "cosine":
                lines.append("    scheduler.step()")
            lines += [f"    if (it + 1) % {steps_per_epoch(s)} == 0:",
                      '        print(f"epoch {(it + 1) // STEPS}: loss {loss.item():.4f}, test accuracy {evaluate():.4f}")'
                      .replace("STEPS", str(steps_per_epoch(s)))]
            if s.optim == "sched" and s.schedule != "cosine":
                lines.insert(len(lines) - 1, "        scheduler.step()")
        else:
            lines.append("for epoch in range(epochs):")
            if self.is_bug("zero-grad-per-epoch"):
                lines += (["    optimizer.zero_grad()"] if s.stepper == "optimizer"
                          else ["    " + x for x in self.zero_lines("model", "optimizer")])
            lines.append(f"    for xb, yb in {self.batches()}:")
            lines += ["        " + x for x in self.step_lines("model")]
            if s.optim == "sched":
                every_batch = self.is_bug("scheduler-every-batch") or s.schedule == "cosine"
                lines.append("        scheduler.step()" if every_batch else "    scheduler.step()")
            lines.append('    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {evaluate():.4f}")')
        lines.append('print(f"final test accuracy {evaluate():.4f}")')
        return lines

    def program(self) -> list[str]:
        """The one-file program."""
        lines = self.imports() + ["", f"torch.manual_seed({self.s.seed})", *self.settings(), ""]
        return lines + self.data_lines() + self.model_lines() + self.training_lines()

    def project(self) -> list[tuple[str, list[str]]]:
        """The multi-file project: (file name, lines), the entry script (which never imports torch) first.

        The same statements as :meth:`program` in the same order (its output is the script's), split as a project
        splits them: ``settings.py`` (plain Python), ``datasets.py`` (seeds torch and loads the data on import),
        ``models.py`` and ``engine.py`` (the training, inside ``train()``: its names are locals and closures).
        """
        s = self.s
        imports = self.imports()
        data, model, body = self.data_lines(), self.model_lines(), self.training_lines()
        text = "\n".join(body)

        def used(names: list[str]) -> str:
            return ", ".join(n for n in names if re.search(rf"\b{n}\b", text))

        data_names = ["batches", "loader", "x_test", "x_train", "y_test"]
        model_names = ["forward", "make_model"]
        engine = ["import torch", "import torch.nn.functional as F", *(["from torch import nn"] if s.loss == "module" else []), "",
                  f"from datasets import {used(data_names)}", f"from models import {used(model_names)}",
                  f"from settings import {used(['epochs', 'hidden', 'lr'])}", "", "",
                  "def train():", *("    " + x if x else "" for i, x in enumerate(body) if x or (i and body[i - 1]))]
        entry = ['"""Train the digit classifier on the CSV file named by the first argument."""', "",
                 "from engine import train", "", 'if __name__ == "__main__":', "    train()"]
        return [("entry", entry),
                ("settings.py", ["seed = " + str(s.seed), *self.settings()]),
                ("datasets.py", [*(x for x in imports if "nn" not in x), "",
                                 "from settings import batch_size, n_train, seed", "", "torch.manual_seed(seed)", *data]),
                ("models.py", ["import torch", "import torch.nn.functional as F", "from torch import nn", "",
                               "from settings import hidden", "", "", *model]),
                ("engine.py", engine)]


def write(style: TorchStyle, bug: str | None = None, variant: str | None = None) -> Program:
    """The program of ``style`` with ``bug`` planted (None: the healthy twin)."""
    if not valid(style):
        raise ValueError(f"invalid style {style}")
    if not applicable(style, bug):
        raise ValueError(f"{bug} cannot be planted in {style.label}")
    name = f"pt{'x' if style.extended else ''}{style.seed:04d}_{bug or 'healthy'}"

    def files(b: str | None) -> list[tuple[str, list[str]]]:
        w = _Writer(style, b)
        return w.project() if style.project == "package" else [("entry", w.program())]

    mine = files(bug)
    marked = changed_lines([x for _, f in files(None) for x in f], [x for _, f in mine for x in f]) if bug else ()
    text = {n: "\n".join(f).rstrip("\n") + "\n" for n, f in mine}
    return Program(name, style, bug, variant or "", text.pop("entry"), updates_of(style), style.epochs * N_TRAIN,
                   marked, tuple(text.items()))


def _pair(seed: int, bugs: tuple[str, ...], k: int) -> tuple[str, ...]:
    """The ``k`` bugs of style ``seed`` in a round-robin over ``bugs``: consecutive seeds take consecutive bugs."""
    return tuple(bugs[(seed * k + i) % len(bugs)] for i in range(k))


def plan(n_styles: int, bugs_per_style: int = 2, start: int = 0, bugs: tuple[str, ...] | None = None,
         extended: bool = False, steppers: tuple[str, ...] | None = None) -> list[Program]:
    """``n_styles`` styles, each as its healthy twin followed by ``bugs_per_style`` bugs.

    The bugs go round-robin over the seeds (every run of ``len(bugs)`` consecutive seeds plants each bug
    ``bugs_per_style`` times), and each style is its seed's first draw in which both of its bugs can be
    planted: a bug that fits few styles (a per-epoch schedule stepped every batch) is planted as often as the others.
    ``extended``: the styles also draw the axes of :data:`EXTENDED_AXES`, and the bugs (by default) include
    :data:`EXTENDED_BUGS`.
    ``steppers`` (values of :data:`STEPPERS`): the hand-stepped yardstick. Seed ``s`` steps with
    ``steppers[s % len(steppers)]`` (the other axes drawn as for any seed), and the bugs (by default) are those that
    apply to a program without an optimizer, :data:`HAND_BUGS` with them (without it, most drawn bugs need an optimizer
    and few seeds step by hand).
    """
    if bugs is None:
        bugs = (*BUGS, *EXTENDED_BUGS) if extended else tuple(BUGS)
        if steppers and all(x != "optimizer" for x in steppers):
            bugs = tuple(b for b in (*bugs, *HAND_BUGS) if b not in _OPTIMIZER_ONLY)
    out: list[Program] = []
    for seed in range(start, start + n_styles):
        mine = _pair(seed, bugs, min(bugs_per_style, len(bugs)))
        fixed = {"stepper": steppers[seed % len(steppers)]} if steppers else {}
        style = sample_style(seed, require=lambda st, mine=mine: all(applicable(st, b) for b in mine), extended=extended,
                             **fixed)
        out.append(write(style))
        out += [write(style, bug) for bug in mine]
    return out
