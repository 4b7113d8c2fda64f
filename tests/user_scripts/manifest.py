"""The user-script corpus: what each program is, what it does under plain ``python``, what a diagnosis must say.

The scripts in this folder are training programs written the way users write
them, in seven styles, each with a healthy version and variants that differ
from it by ONE planted bug, plus programs that crash, loop without arrays,
have no network, or read their argv and write a file. ``examples/stalling_mnist``
(the stalling program of issue 13 and its fixed twin) is listed here too.

Each :class:`Script` records

* how to run it (``path`` relative to the repository root, ``args``; run with
  the repository root as working directory);
* what it does without netdoctor (``behaviour``: ``learns``, ``stalls``,
  ``loss-rises``, ``non-finite``, ``crashes``, ``runs``), checked by
  tests/test_user_scripts.py;
* what a diagnosis of it must report: ``expect`` (codes that must appear),
  ``forbid`` (codes that must not), and where the bug sits. In this folder a
  bug's lines carry a marker comment ``# BUG: <code>`` (several lines may
  carry the same code: any of them is the bug's place); the example's lines
  are found by source fragments (``locate``). :func:`bug_lines` returns both
  as ``{code: {line numbers}}``. A crashing script marks the raising line
  ``# RAISES: <ExceptionName>``.

Healthy twins must stay quiet: ``forbid`` is every problem code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SAMPLE = "netdoctor/data/mnist_sample.csv.gz"

CODE_BUGS = ("constant-targets", "aliased-buffers", "stale-accumulator", "mutated-constant", "summed-gradient",
             "frozen-parameters")
"""Findings about the program's code (not its hyper-parameters or their symptoms)."""

SYMPTOMS = ("saturated-activations", "dead-units", "vanishing-gradients", "constant-output", "class-collapse",
            "exploding-gradients", "non-finite", "accuracy-plateau", "label-permutation")
HYPER = ("learning-rate-too-high", "learning-rate-too-low")
PROBLEMS = CODE_BUGS + HYPER + SYMPTOMS
"""Every problem code a diagnosis of these programs could raise; a healthy script must raise none of them."""

# Codes that a planted bug may legitimately bring along (neither required nor forbidden).
_MAY_ACCOMPANY = {
    # the "reset" re-binds to the template: the template is written and the buffers keep old sums
    "aliased-buffers": {"stale-accumulator", "mutated-constant"},
    # targets built in place from a constant table drift until they are all alike
    "mutated-constant": {"constant-targets", "aliased-buffers"},
}


@dataclass(frozen=True)
class Script:
    """One program of the corpus."""

    path: str
    """File, relative to the repository root."""
    style: str
    """How it is written (one of STYLES, or 'example', 'special')."""
    behaviour: str
    """What a plain ``python`` run shows: learns | stalls | loss-rises | non-finite | crashes | runs."""
    bug: str | None = None
    """The planted bug, as the finding code that names it; None for healthy and special scripts."""
    twin: str | None = None
    """The healthy script this variant was made from (it differs only at the bug)."""
    lr: float | None = None
    batch_size: int | None = None
    args: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()
    """Codes a diagnosis must report."""
    forbid: tuple[str, ...] = ()
    """Codes a diagnosis must not report."""
    tolerate: tuple[str, ...] = ()
    """Codes a healthy script is known to get although it learns: a false alarm of netdoctor's (a gap, not a
    choice; the note says why), neither expected nor forbidden until it is fixed."""
    accuracy: str | None = None
    """Regex of the accuracy it prints per epoch: one group (a fraction, or a percentage when the group is
    followed by ``%``) or two (correct, total)."""
    loss: str | None = None
    """Regex of the loss it prints per epoch (one group), when it prints one."""
    raises: str | None = None
    """The exception a crashing script ends with."""
    locate: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Without markers: {code: source fragments}; every line containing one is a place of that bug."""
    network: bool = True
    """False when the program trains no network at all: a diagnosis should say there is nothing to observe
    (and exit 3, "not enough observed")."""
    unfollowed: str = ""
    """Why ``netdoctor run`` is known not to follow this program's training yet (a gap, not a choice): its
    report must say it saw too little (exit 3), never "No problems found". Empty when it is followed."""
    note: str = ""

    @property
    def name(self) -> str:
        return Path(self.path).stem

    @property
    def healthy(self) -> bool:
        return self.bug is None and self.behaviour == "learns"

    @property
    def file(self) -> Path:
        return ROOT / self.path


STYLES = {
    "column_lists": "class with lists of column-vector layers, per-sample loop, tanh + MSE on +-1 targets",
    "row_dict": "row-major mini-batches, parameters in a dict params['W1'], relu + softmax cross-entropy",
    "global_arrays": "plain functions on module-level global arrays, per-sample accumulation, sigmoid + MSE",
    "dense_layers": "layer objects (class Dense, Tanh) in a list with forward/backward, grads zeroed per batch",
    "softmax_momentum": "sigmoid + softmax cross-entropy, batched, momentum in its own optimizer object",
    "functional_tuples": "functional: params and gradients as tuples, in-place p -= lr * g, leaky relu",
    "nielsen_sgd": "textbook Network.SGD(training_data, epochs, mini_batch_size, eta), sigmoid + quadratic cost",
}

_ACC = {
    "column_lists": r"test accuracy ([\d.]+)%",
    "row_dict": r"test acc ([\d.]+)",
    "global_arrays": r"accuracy ([\d.]+)",
    "dense_layers": r"val acc ([\d.]+)%",
    "softmax_momentum": r"test_accuracy=([\d.]+)",
    "functional_tuples": r"acc=([\d.]+)",
    "nielsen_sgd": r"Epoch \d+: (\d+) / (\d+)",
}
_LOSS = {
    "row_dict": r"loss ([\w.+-]+)",
    "dense_layers": r"train loss ([\w.+-]+)",
    "softmax_momentum": r"loss=([\w.+-]+)",
    "functional_tuples": r"loss=([\w.+-]+)",
}
_HYPERS = {  # (lr, batch size) of each healthy script
    "column_lists": (0.05, 5), "row_dict": (0.1, 32), "global_arrays": (2.0, 16), "dense_layers": (0.3, 50),
    "softmax_momentum": (0.5, 64), "functional_tuples": (0.2, 25), "nielsen_sgd": (3.0, 10),
}


def _healthy(style: str) -> Script:
    lr, bs = _HYPERS[style]
    return Script(f"tests/user_scripts/{style}.py", style, "learns", lr=lr, batch_size=bs, forbid=PROBLEMS,
                  accuracy=_ACC[style], loss=_LOSS.get(style))


def _variant(style: str, suffix: str, bug: str, behaviour: str, *, lr: float | None = None,
             expect: tuple[str, ...] = (), note: str = "") -> Script:
    base_lr, bs = _HYPERS[style]
    allowed = _MAY_ACCOMPANY.get(bug, set()) | {bug}
    forbid = tuple(c for c in CODE_BUGS if c not in allowed)
    if bug == "learning-rate-too-low":
        forbid += ("learning-rate-too-high", "exploding-gradients", "non-finite")
    if bug in ("saturated-activations", "stale-accumulator", "frozen-parameters", "constant-targets",
               "aliased-buffers", "mutated-constant"):
        forbid += ("learning-rate-too-low",)
    return Script(f"tests/user_scripts/{style}_{suffix}.py", style, behaviour, bug=bug, twin=f"tests/user_scripts/{style}.py",
                  lr=base_lr if lr is None else lr, batch_size=bs, expect=(bug, *expect), forbid=forbid,
                  accuracy=_ACC[style], loss=_LOSS.get(style), note=note)


SCRIPTS: list[Script] = [
    # (a) class, lists of column vectors, per-sample loop
    _healthy("column_lists"),
    _variant("column_lists", "constant_targets", "constant-targets", "stalls",
             note="the row is divided by 255 before the label is read: int(label/255) = 0 for every sample"),
    _variant("column_lists", "aliased_buffers", "aliased-buffers", "stalls",
             note="gradW/gradB 'reset' by assigning zero templates that the accumulation writes into"),
    _variant("column_lists", "stale_accumulator", "stale-accumulator", "stalls",
             note="step() never empties gradW/gradB"),
    _variant("column_lists", "saturating_init", "saturated-activations", "stalls",
             note="N(0, 1) weights on 784 inputs: |W x| ~ 9, tanh saturated from the start"),
    # (b) row-major batches, dict of parameters
    _healthy("row_dict"),
    _variant("row_dict", "constant_targets", "constant-targets", "stalls",
             note="prepare() divides the whole batch, label column included, by 255; the loss still falls to ~0"),
    _variant("row_dict", "summed_gradient", "summed-gradient", "stalls",
             note="no division by the batch size: steps 32x lr"),
    _variant("row_dict", "frozen_parameters", "frozen-parameters", "stalls",
             note="the update re-binds a local name; no parameter ever changes"),
    _variant("row_dict", "lr_too_high", "learning-rate-too-high", "stalls", lr=10.0),
    # (c) plain functions, module-level global arrays
    _healthy("global_arrays"),
    _variant("global_arrays", "aliased_buffers", "aliased-buffers", "stalls",
             note="the global accumulators are bound to ZERO_* templates at start and at every 'reset'"),
    _variant("global_arrays", "stale_accumulator", "stale-accumulator", "stalls",
             note="apply_updates() never empties dW1/db1/dW2/db2"),
    _variant("global_arrays", "mutated_constant", "mutated-constant", "stalls",
             note="target_for() softens a row of the ONE_HOT table in place; every row drifts to 0.5"),
    _variant("global_arrays", "lr_too_low", "learning-rate-too-low", "stalls", lr=0.0005),
    # (d) layer objects in a list
    _healthy("dense_layers"),
    _variant("dense_layers", "frozen_parameters", "frozen-parameters", "stalls",
             note="Dense.step computes the new W into a local and drops it; only the biases learn"),
    _variant("dense_layers", "saturating_init", "saturated-activations", "learns",
             note="N(0, 1) weights: the tanh layer saturates; it still learns, to 61% instead of 88%"),
    _variant("dense_layers", "lr_too_low", "learning-rate-too-low", "stalls", lr=0.0003),
    _variant("dense_layers", "stale_accumulator", "stale-accumulator", "loss-rises",
             note="zero_grad() is never called: dW/db sum every earlier batch; loss 1.10 -> 2.67"),
    # (e) sigmoid + softmax cross-entropy with a momentum optimizer object
    _healthy("softmax_momentum"),
    _variant("softmax_momentum", "lr_too_high", "learning-rate-too-high", "non-finite", lr=200.0,
             expect=("non-finite",), note="exp overflows in the softmax: loss nan from the first epoch"),
    _variant("softmax_momentum", "summed_gradient", "summed-gradient", "stalls",
             note="delta = P - Y without / m: steps 64x lr, with momentum"),
    _variant("softmax_momentum", "saturating_init", "saturated-activations", "learns",
             note="N(0, 1) first-layer weights: the sigmoid layer saturates; it still reaches 84% instead of 88%"),
    # (f) functional, tuples of gradients, in-place updates
    _healthy("functional_tuples"),
    _variant("functional_tuples", "frozen_parameters", "frozen-parameters", "stalls",
             note="sgd() updates a copy of each parameter"),
    _variant("functional_tuples", "mutated_constant", "mutated-constant", "loss-rises",
             note="batches() divides views of the training array by 255 in place: from epoch 2 on the inputs are "
                  "/65025; loss 0.63 -> 2.3"),
    _variant("functional_tuples", "lr_too_low", "learning-rate-too-low", "stalls", lr=0.0001),
    _variant("functional_tuples", "summed_gradient", "summed-gradient", "stalls",
             note="no division by the batch size: steps 25x lr; the loss explodes to ~1e26"),
    # (g) the textbook network
    _healthy("nielsen_sgd"),
    _variant("nielsen_sgd", "aliased_buffers", "aliased-buffers", "stalls",
             note="nabla_b/nabla_w are the zero templates made in __init__, accumulated in place"),
    _variant("nielsen_sgd", "constant_targets", "constant-targets", "stalls",
             note="training rows divided by 255 label included: vectorized_result(0) for every example"),
    _variant("nielsen_sgd", "lr_too_high", "learning-rate-too-high", "stalls", lr=300.0),
    # programs that are not (or not only) training runs
    Script("tests/user_scripts/crashes_mid_training.py", "special", "crashes", raises="IndexError", lr=0.5,
           batch_size=40, accuracy=r"test accuracy ([\d.]+)", forbid=CODE_BUGS,
           note="trains two healthy epochs, then the learning-rate schedule runs out"),
    Script("tests/user_scripts/no_arrays_loop.py", "special", "runs", network=False, note="gradient descent on Python floats"),
    Script("tests/user_scripts/no_network.py", "special", "runs", network=False, note="arrays, but no network and no training"),
    Script("tests/user_scripts/argv_writes_file.py", "special", "learns", args=("{tmp}/summary.json", "--epochs", "2", "--seed", "3"),
           lr=0.5, batch_size=20, accuracy=r"accuracy ([\d.]+)",
           forbid=PROBLEMS,
           note="its parameters are locals of main(), whose loop calls none of the program's functions (followed since "
                "the observer looks at long-running frames); its first steps from a 0.01-scale init change W by 31-96% "
                "(median 45%), none larger than W itself, and settle at ~9% per step: a small initialisation, not a "
                "learning rate too high (it learns to 85%). "
                "It reads argv, draws from random and np.random, writes the JSON file named by its first argument "
                "({tmp}: a scratch directory), prints to stdout and stderr"),
    # the example of issue 13, quick settings on the bundled sample (the docs run it on the real files)
    Script("examples/stalling_mnist/mnist_network.py", "example", "stalls",
           args=("--train", SAMPLE, "--test", SAMPLE, "--epochs", "2"), lr=0.1, batch_size=100,
           expect=("constant-targets", "aliased-buffers", "summed-gradient", "saturated-activations"),
           forbid=("frozen-parameters", "learning-rate-too-low"),
           accuracy=r"correct \(([\d.]+)%\)",
           locate={
               "constant-targets": ("row = list(row / 255)", "label = row.pop(0)",
                                    "self.backpropagation(input, desired_output_for(label))", "output[int(digit)] = 1.0"),
               "aliased-buffers": ("self.weight_updates = noWeightChange", "self.bias_updates = noBiasChange",
                                   "noWeightChange = [", "noBiasChange = ["),
               "summed-gradient": ("self.weights[i] -= learnRate * self.weight_updates[i]",
                                   "self.biases[i] -= learnRate * self.bias_updates[i]"),
               "saturated-activations": ("self.weights.append(np.random.randn(", "self.biases.append(np.random.randn("),
           },
           note="all four bugs of the issue; exactly the share of digit 0 (10.00% = 200/2000 on the sample, "
                "9.80% = 980/10000 on the real test set)"),
    Script("examples/stalling_mnist/mnist_network_fixed.py", "example", "learns",
           args=("--train", SAMPLE, "--test", SAMPLE, "--epochs", "2"), lr=0.1, batch_size=100, forbid=PROBLEMS,
           accuracy=r"correct \(([\d.]+)%\)"),
]

BY_NAME = {s.name: s for s in SCRIPTS}

_MARK = re.compile(r"#\s*BUG:\s*([a-z-]+)")
_RAISES = re.compile(r"#\s*RAISES:\s*(\w+)")


def bug_lines(script: Script) -> dict[str, set[int]]:
    """{code: 1-based line numbers} of the script's bug, from ``# BUG:`` markers and ``locate`` fragments."""
    found: dict[str, set[int]] = {}
    lines = script.file.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate(lines, start=1):
        for code in _MARK.findall(text):
            found.setdefault(code, set()).add(number)
        for code, fragments in script.locate.items():
            if any(f in text for f in fragments):
                found.setdefault(code, set()).add(number)
    return found


def raising_line(script: Script) -> int | None:
    """The 1-based line marked ``# RAISES:`` (where a crashing script raises), if any."""
    for number, text in enumerate(script.file.read_text(encoding="utf-8").splitlines(), start=1):
        if _RAISES.search(text):
            return number
    return None


def command(script: Script, tmp: str | Path = ".") -> list[str]:
    """The script's argv after ``python`` (path and args, ``{tmp}`` filled in), to run from ROOT."""
    return [script.path, *(a.replace("{tmp}", str(tmp)) for a in script.args)]


def accuracies(script: Script, stdout: str) -> list[float]:
    """The accuracies the script printed, as fractions in [0, 1], in order."""
    if script.accuracy is None:
        return []
    out = []
    for m in re.finditer(script.accuracy, stdout):
        groups = m.groups()
        if len(groups) == 2:
            out.append(int(groups[0]) / int(groups[1]))
        else:
            out.append(float(groups[0]) / (100 if ")%" in script.accuracy else 1))
    return out


def losses(script: Script, stdout: str) -> list[float]:
    """The losses the script printed (nan and inf included), in order."""
    if script.loss is None:
        return []
    return [float(m.group(1)) for m in re.finditer(script.loss, stdout)]
