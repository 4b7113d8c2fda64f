"""Findings from what the NumPy observer recorded while the program ran.

Each function reads the :class:`~netdoctor.observe.numpy.backend.NumpyBackend`
record and returns findings with the numbers seen and the user's file:line
(:mod:`netdoctor.observe.source`). The update measurements are read from the
sampled coordinates of each window between two updates:

* ``Δ_t`` the applied change of the parameters, ``C_t`` the gradient
  contributions of the window (what the contributor added into the buffers,
  or the sum of the gradients it returned), ``B_start`` and ``B_end`` the
  buffer contents at the window's first contribution and after its last;
* the update is fitted as ``Δ_t ≈ -(a·B_start + c·C_t)`` (least squares):
  ``c / lr`` is the step per contributed gradient, so ``c · n / lr`` is 1 for
  a mean over the ``n`` contributions of the window and ``n`` for a sum
  (``summed-gradient``);
* the buffer's carry-over ``ρ = <B_start(t+1), B_end(t)> / |B_end(t)|²`` is
  the weight with which a window's gradients come back in the next one: 0 for
  fresh buffers, 1 when the "reset" keeps everything (every gradient is
  applied again at every later update), ``lr`` when the buffer is scaled in
  place by the learning rate (``stale-accumulator``).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import math
import re
import types
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from netdoctor.findings import Finding
from netdoctor.monitor.layer_stats import activation_label, layer_stats
from netdoctor.nn.stats import median
from netdoctor.observe.numpy.activations import activation_name, layer_flow
from netdoctor.observe.numpy.arrays import LR_NAME, Cell
from netdoctor.observe.numpy.order import BLOCK_ROWS
from netdoctor.observe.numpy.velocity import (
    MIN_PAIRS,
    MOMENTUM_FIT,
    VelocityFit,
    decay_only,
    effective_steps,
    fit_velocity,
    intakes,
)
from netdoctor.observe.source import (
    Line,
    copied_names,
    find_lines,
    for_targets,
    function_lines,
    shallow_copy_source,
    short_path,
    targets_text,
    where_text,
)
from netdoctor.rules.activations import dead_units, saturated_activations, saturated_by_steps
from netdoctor.rules.batches import unshuffled_batches
from netdoctor.rules.evidence import (
    BatchScale,
    CarryOver,
    FrozenGroup,
    FrozenParameters,
    InitScale,
    LayerActivity,
    LayerReach,
    Mutation,
    NonFinite,
    NormTrace,
    OutputSpread,
    Predictions,
    SharedMemory,
    TargetBuilder,
    TargetCounts,
    TrainingCurve,
    UpdateSizes,
    largest_growth,
)
from netdoctor.rules.frozen import frozen_parameters
from netdoctor.rules.learning_rate import learning_rate_too_high, learning_rate_too_low
from netdoctor.rules.mutation import mutated_constant
from netdoctor.rules.outputs import class_collapse, constant_output
from netdoctor.rules.policy import (
    FIT_OK,
    MIN_PREDICTIONS,
    MIN_TARGET_ROWS,
    SCALE_TOL,
    SUMMED_MIN_ROWS,
    SUMMED_STEP_RATIO,
    UNSHUFFLED_EXPECTED,
    Framework,
    working_scale,
)
from netdoctor.rules.sharing import aliased_buffers
from netdoctor.rules.stability import exploding_gradients, non_finite, vanishing_through_layers
from netdoctor.rules.targets import constant_targets
from netdoctor.rules.updates import is_summed, stale_accumulator, summed_gradient

if TYPE_CHECKING:
    from netdoctor.buffers.aliasing import SecondName
    from netdoctor.observe.numpy.backend import NumpyBackend
    from netdoctor.observe.numpy.network import Param
    from netdoctor.rules.backprop import UpdateCheck

__all__ = ["findings_from", "sections_from", "step_at"]

_T = TypeVar("_T")
_MEMOS: dict[int, dict[tuple[Any, ...], Any]] = {}
"""Per backend (by id) being judged now: the readings of its windows already made (see :func:`_remembered`)."""


@contextlib.contextmanager
def _judging(b: NumpyBackend) -> Iterator[None]:
    """While the rules (or the sections) read ``b``, each reading of its windows is made once: the program has ended,
    so what ``b`` recorded no longer changes; the rules only add notes. Forgotten afterwards."""
    _MEMOS[id(b)] = {}
    try:
        yield
    finally:
        del _MEMOS[id(b)]


def _remembered(fn: Callable[..., _T]) -> Callable[..., _T]:
    """``fn(b, **keywords)`` made once per :func:`_judging` (the velocity fit was made 11 times per report, the update
    sizes twice, each over every window); outside it, made at every call."""

    @functools.wraps(fn)
    def once(b: NumpyBackend, **keywords: Any) -> _T:
        memo = _MEMOS.get(id(b))
        if memo is None:
            return fn(b, **keywords)
        key = (fn.__name__, *sorted(keywords.items()))
        if key not in memo:
            memo[key] = fn(b, **keywords)
        return memo[key]

    return once


# -- source lines -------------------------------------------------------------------
def _files(b: NumpyBackend) -> list[str]:
    return sorted(b.user_files)


def _value(node: ast.AST) -> ast.AST:
    """The value a statement assigns or returns, else the statement itself (``W: np.ndarray`` in a dataclass and a
    bare ``return`` have a ``value`` of None)."""
    return getattr(node, "value", None) or node


def _head(text: str) -> str:
    """``self.weight_updates[0]`` -> ``self.weight_updates``; ``params['W1']`` -> ``params``."""
    return text.split("[")[0]


def _attr_name(text: str) -> str:
    """The name code writes through: ``self.layers[0].dW`` -> ``dW``, ``params['W1']`` -> ``params``."""
    return re.sub(r"\[[^\]]*\]", "", text).split(".")[-1]


def _assign_lines(b: NumpyBackend, text: str, *, augmented: bool | None = None, value_has: str = "") -> list[Line]:
    name = _attr_name(text)

    def pred(node: ast.AST, src: str) -> bool:
        if augmented is True and not isinstance(node, ast.AugAssign):
            return False
        if augmented is False and isinstance(node, ast.AugAssign):
            return False
        hit = any(_attr_name(t) == name for t in targets_text(node))
        if not hit:
            return False
        return not value_has or value_has in ast.unparse(_value(node))

    return find_lines(_files(b), pred)


def _update_lines(b: NumpyBackend) -> list[Line]:
    """Lines that apply the update to the parameters (``w -= lr * ...``, ``self.weights = [w - ...]``), and to the
    velocities the steps read (``v = mu * v - lr * g``: where a momentum takes the rate in)."""
    names = {_attr_name(p.text) for p in b.params} | {_attr_name(t) for t in b.decaying}
    lr = b.lr_name.split(".")[-1] if b.lr_name else ""

    def pred(node: ast.AST, src: str) -> bool:
        targets = targets_text(node)
        if not targets or not any(_attr_name(t) in names for t in targets):
            return False
        value = ast.unparse(_value(node))
        return (isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Sub, ast.Add))) or (bool(lr) and lr in value)

    lines = find_lines(_files(b), pred)
    if lr:
        with_lr = [l for l in lines if lr in l.text]
        lines = with_lr or lines
    return lines or _helper_calls(b, lr)


def _helper_calls(b: NumpyBackend, lr: str) -> list[Line]:
    """Where a helper that applies the update (the updater, ``momentum(p, v, g, scale)``: its own lines name no
    parameter) is called, with the assignments in the caller of the names it is handed from the learning rate
    (``scale = lr``, the rate of that step); none when the updater is no such helper."""
    code = b.updater
    if code is None or not code.co_name.isidentifier():
        return []
    name = code.co_name
    args = set(code.co_varnames[:code.co_argcount])
    # a helper handed the parameter it moves (``p += v`` on its own argument), not a training step that moves the
    # network it reaches (``step(xb, yb)``: its callers' lines say where a batch is trained, not where a step is applied)
    if not find_lines(code.co_filename, lambda node, src: isinstance(node, ast.AugAssign)
                      and re.sub(r"[\[.].*", "", ast.unparse(node.target)) in args, within=code, limit=1):
        return []

    def calls(node: ast.AST) -> list[ast.Call]:
        return [c for c in ast.walk(node) if isinstance(c, ast.Call)
                and (c.func.id if isinstance(c.func, ast.Name) else c.func.attr if isinstance(c.func, ast.Attribute)
                     else "") == name]

    handed: set[str] = set()

    def site(node: ast.AST, src: str) -> bool:
        found = calls(node) if isinstance(node, (ast.Expr, ast.Assign)) else []
        handed.update(a.id for c in found for a in c.args if isinstance(a, ast.Name))
        return bool(found)

    sites = find_lines(_files(b), site, limit=4)
    if not sites or not lr:
        return sites
    rate = find_lines(_files(b), lambda node, src: isinstance(node, ast.Assign) and bool(set(targets_text(node)) & handed)
                      and re.search(rf"\b{re.escape(lr)}\b", ast.unparse(node.value)) is not None, limit=2)
    rate = [l for l in rate if any(l.filename == s.filename and l.function == s.function for s in sites)]
    return sorted(rate + sites, key=lambda l: (l.filename, l.lineno))


def step_at(b: NumpyBackend, checks: list[UpdateCheck]) -> None:
    """Name where each checked update's gradient was computed and where it was applied.

    The gradients' function is the one that returned them or held them in its locals (read by the check), else the
    contributor (the function that wrote them into the buffers). A module-level update is named by the line that
    applies it: ``<module>() at train.py:1`` (a module's code starts at line 1) says nothing of where the step is; the
    first update line outside every function does."""
    code = b.contributor
    if code is not None and code.co_name != "<module>":
        for c in checks:
            if not c.gradient_by:
                c.gradient_by = f"{code.co_name}() at {short_path(code.co_filename)}:{code.co_firstlineno}"
    module = [c for c in checks if c.where.startswith("<module>() at ")]
    if not module:
        return
    top = [l for l in _update_lines(b) if not l.function]
    if not top:  # the parameters' container rebuilt from itself (``layers = [(W - 0.5 * dW, ...) for ... in zip(layers, g)]``)
        names = {_attr_name(p.text) for p in b.params}

        def rebuilt(node: ast.AST, src: str) -> bool:
            value = ast.unparse(_value(node))
            return (any(_attr_name(t) in names for t in targets_text(node)) and (" - " in value or " + " in value)
                    and any(re.search(rf"\b{re.escape(n)}\b", value) for n in names))

        top = [l for l in find_lines(_files(b), rebuilt) if not l.function]
    if top:
        for c in module:
            c.where = f"the step at {top[0]}"


# -- the rules -----------------------------------------------------------------------
def findings_from(b: NumpyBackend) -> list[Finding]:
    """Every finding the observation supports, unranked (the session links causes and ranks)."""
    if not b.params:
        return []
    with _judging(b):
        return _findings(b)


def _findings(b: NumpyBackend) -> list[Finding]:
    out: list[Finding] = []
    for rule in (_constant_targets, _unshuffled, _aliased, _stale, _summed, _frozen, _mutated, _nonfinite, _exploding,
                 _lr_high, _lr_low, _vanishing, _saturation, _dead, _constant_output, _collapse):
        try:
            found = rule(b)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError, ZeroDivisionError) as exc:  # a rule must not sink the report
            b.notes.append(f"{rule.__name__.strip('_')} skipped: {exc}")
            continue
        if isinstance(found, Finding):
            out.append(found)
        elif found:
            out.extend(found)
    return _rate_not_at_fault(out)


def _rate_not_at_fault(out: list[Finding]) -> list[Finding]:
    """Without ``learning-rate-too-low`` where a finding says what the steps were taken toward stopped naming a class:
    one class for all (``constant-targets``), or a table written into through the rows it hands out
    (``mutated-constant`` of kind ``view``: a target table smoothed in place drifts to the prior, a data set rescaled
    in place shrinks to nothing). The output error ``P - T`` or the inputs shrink with it, and so do the steps, at any
    rate: raising the rate, the finding's fix, would be wrong advice."""
    if not any(f.code == "constant-targets" or f.code == "mutated-constant" and f.evidence.get("kind") == "view"
               for f in out):
        return out
    return [f for f in out if f.code != "learning-rate-too-low"]


def _train_labels(b: NumpyBackend) -> dict[str, Any]:
    return b.label_sets.get(b.train_labels_key, {}) if b.train_labels_key is not None else {}


def _target_lines(b: NumpyBackend, top: int, one: bool) -> list[Line]:
    """Where the targets are built: the calls of the target builder, the lines in it that divide by 255, and (one class 0)
    the lines that scale whole rows by 255 (a label scaled with the pixels gives int(label / 255) == 0)."""
    lines: list[Line] = [Line(f, l, "", fn) for f, l, fn in b.helper_calls]
    lines += _label_sources(b, lines)
    scaled = []
    if b.helper_args:
        for l in list(lines):
            scaled += find_lines(l.filename, lambda node, src: "255" in src and "/" in src,
                                 within=b.code_named(l.function), limit=2)
    lines += scaled
    if top == 0 and one and not scaled:
        # the scaling that reached the label is not beside the target builder's call: any that divides whole rows,
        # except in the functions that only evaluate (their pixels never become targets)
        evaluators = {(s["code"].co_filename, s["code"].co_name) for s in b.eval_segments
                      if id(s["code"]) != b.train_labels_key}  # the training loop may evaluate too: not excluded
        if b.contributor is not None:
            evaluators.discard((b.contributor.co_filename, b.contributor.co_name))
        found = [l for l in find_lines(
            _files(b), lambda node, src: bool(re.search(r"/=?\s*255", src)) and not re.search(r"\[\s*:?\s*,?\s*1\s*:", src)
            and not isinstance(node, ast.Return) or bool(re.search(r"/\s*255[^\]]*\[[^\]]*0\s*\]", src)), limit=6)
            if (l.filename, l.function) not in evaluators][:3]
        lines += found + _label_reads(b, found)
    return list(dict.fromkeys(lines))


def _label_sources(b: NumpyBackend, calls: list[Line]) -> list[Line]:
    """Where the value handed to the target builder is bound: the assignments of the array or name in the builder
    call's argument (``target_for(y_train[j])`` -> ``y_train = data[:n, 1]``; through a comprehension's iterable,
    ``[target_for(label) for label in y_train[idx]]`` -> ``y_train``)."""
    helper = b.target_helper.co_name if b.target_helper is not None else ""
    if not helper:
        return []
    out: list[Line] = []
    for call in calls[:2]:
        names: set[str] = set()

        def at_call(node: ast.AST, src: str, at: int = call.lineno, names: set[str] = names) -> bool:
            if getattr(node, "lineno", 0) != at:
                return False
            comps = {g.target.id: g.iter for c in ast.walk(node) if isinstance(c, ast.comprehension)
                     for g in [c] if isinstance(g.target, ast.Name)}
            for c in ast.walk(node):
                if isinstance(c, ast.Call) and (getattr(c.func, "id", None) == helper or getattr(c.func, "attr", None) == helper):
                    for arg in c.args[:1]:
                        base = _base_name(comps.get(arg.id, arg) if isinstance(arg, ast.Name) else arg)
                        if base is not None:
                            names.add(base)
            return False

        def binds(node: ast.AST, src: str, names: set[str] = names) -> bool:
            return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in _target_nodes(node))

        find_lines(call.filename, at_call, limit=1)
        if names:
            out += find_lines(call.filename, binds, limit=2)
    return out


def _base_name(node: ast.AST) -> str | None:
    """The name an expression reads its value from: ``y_train[idx]`` -> ``y_train``, ``row[0]`` -> ``row``."""
    while isinstance(node, (ast.Subscript, ast.Call)):
        if isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node.func, ast.Attribute):  # y.astype(int) -> y
            node = node.func.value
        elif node.args:  # int(row[0]) -> row
            node = node.args[0]
        else:
            return None
    return node.id if isinstance(node, ast.Name) else None


def _label_reads(b: NumpyBackend, scalings: list[Line]) -> list[Line]:
    """Lines that read column 0 (the label) of an array the ``scalings`` bound (``rows = table / 255`` then
    ``int(rows[i, 0])``): where a scaled label becomes a target."""
    names: set[str] = set()

    def bound(node: ast.AST, src: str) -> bool:
        names.update(t.id for t in _target_nodes(node) if isinstance(t, ast.Name))
        return False

    for l in scalings:
        at = l.lineno

        def on_line(node: ast.AST, src: str, at: int = at) -> bool:
            return getattr(node, "lineno", 0) == at and bound(node, src)

        find_lines(l.filename, on_line, limit=1)
    if not names:
        return []
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\s*\[([^\]]*,\s*)?0\s*\]")
    return [l for l in find_lines(_files(b), lambda node, src: bool(pattern.search(src)), limit=6) if l not in scalings][:2]


def _constant_targets(b: NumpyBackend) -> Finding | None:
    """``constant-targets`` from the targets read while the network trained: those read after its weights went
    non-finite are left out (no update is counted after that, so targets that are read once they come back at a
    later update, soft ones, would be counted for the first few samples' classes only); a note says what was seen
    when the targets read after would have made a finding and those before do not."""
    n_out = b.layout[1][-1] if b.layout else 0
    if n_out == 1:
        return _single_output_targets(b)
    if n_out < 2 or not b.targets:
        return None
    nf = b.nonfinite
    seen = nf.get("targets") if nf else None
    if nf is None or seen is None or seen.rows >= b.target_samples:
        return _constant_targets_of(b, b.targets, b.target_samples, len(b.target_values))
    before = _constant_targets_of(b, seen.counts, seen.rows, seen.distinct, after=b.target_samples - seen.rows) if (
        seen.counts) else None
    if before is None and _constant_targets_of(b, b.targets, b.target_samples, len(b.target_values)) is not None:
        present = sorted(seen.counts)
        few = seen.rows < max(MIN_TARGET_ROWS, 3 * n_out)
        b.notes.append(
            f"targets: {seen.rows:,} {'was' if seen.rows == 1 else 'were'} read before the weights went non-finite at "
            f"update {nf['update']:,} (class{'es' if len(present) != 1 else ''} {', '.join(map(str, present)) or 'none'}"
            f"){', too few to judge' if few else ''}; the {b.target_samples - seen.rows:,} read after it, while no "
            "update was counted, are not judged")
    return before


def _unshuffled(b: NumpyBackend) -> Finding | None:
    """``unshuffled-data`` from the classes of blocks of consecutive training rows (whole updates, at least
    :data:`~netdoctor.observe.numpy.order.BLOCK_ROWS` rows: see :mod:`~netdoctor.observe.numpy.order`) against those of
    random blocks of their size drawn from every target counted."""
    n_out = b.layout[1][-1] if b.layout else 0
    blocks = b.block_classes.blocks
    if n_out < 2 or not blocks or not b.targets or len(b.block_classes.alone) < UNSHUFFLED_EXPECTED:
        return None  # (blocks filled by one class, always the same one: few classes, not rows in order)
    return unshuffled_batches(
        f"training batches ({b.target_arg})" if b.target_arg else "training batches", blocks,
        [int(b.targets.get(k, 0)) for k in range(n_out)], Framework.NUMPY,
        {"labels_read": f"the targets read ({b.target_samples:,} rows)",
         "block": f"consecutive whole updates of at least {BLOCK_ROWS} rows"})


def _constant_targets_of(b: NumpyBackend, counts: Counter, rows: int, distinct: int, *, after: int = 0) -> Finding | None:
    """``constant-targets`` from ``rows`` targets counted per class (``counts``), ``distinct`` target vectors among
    them; ``after``: targets read after the weights went non-finite, left out."""
    n_out = b.layout[1][-1] if b.layout else 0
    labels = _train_labels(b)
    top = counts.most_common(1)[0][0]
    lines = _target_lines(b, top, distinct == 1 or len(counts) == 1)
    vec = np.frombuffer(next(iter(b.target_values)), dtype=float) if distinct == 1 else None
    details: dict = {"argument": b.target_arg, "lines": [str(l) for l in lines]}
    if after:
        details["read_after_nonfinite"] = after
    return constant_targets(TargetCounts(
        where=where_text(lines, f"targets ({b.target_arg})" if b.target_arg else "targets"), framework=Framework.NUMPY,
        counts=tuple(counts.get(k, 0) for k in range(max(n_out, max(counts) + 1))), rows=rows,
        distinct_vectors=distinct, target_vector=tuple(vec.tolist()) if vec is not None and vec.size <= 16 else None,
        label_counts=tuple(labels["counts"]) if labels else None,
        labels_from=f"`{labels['name']}` ({labels['function']}())" if labels else "",
        builder=TargetBuilder(b.target_helper.co_name if b.target_helper is not None else "",
                              tuple(float(v) for v in b.helper_args)) if len(b.helper_args) else None,
        details=details))


def _single_output_targets(b: NumpyBackend) -> Finding | None:
    """A network of one output unit whose targets are all one value, while the data's labels hold several classes
    (``n_out = int(y.max()) + 1`` of labels all 0: the one-hot of one class is a column of ones)."""
    tally = b.single_output_targets
    labels = _train_labels(b)
    if len(tally) != 1 or not labels:
        return None
    (value, rows), = tally.items()
    lines = _target_lines(b, 0, True)
    return constant_targets(TargetCounts(
        where=where_text(lines, f"targets ({b.target_arg})" if b.target_arg else "targets"), framework=Framework.NUMPY,
        counts=(rows,), rows=rows, distinct_vectors=1, target_vector=(float(np.frombuffer(value, dtype=np.float64)[0]),),
        label_counts=tuple(labels["counts"]), labels_from=f"`{labels['name']}` ({labels['function']}())",
        details={"argument": b.target_arg, "lines": [str(l) for l in lines],
                 **({"labels_scaled_by": labels["scaled"]} if labels.get("scaled") else {})}))


def _rebinds(node: ast.AST, a: str, o: str) -> str:
    """Whether an assignment binds one of the names ``a``, ``o`` to what the other holds (``grad_w[0] = zero_w[0]``,
    ``self.gradW = self.zeroW``, ``dW1, db1 = ZERO_W1, ZERO_b1``, ``a = b = [...]``): the name bound (the buffer the
    assignment "resets"), or "" (names as :func:`_attr_name` reads them)."""
    if not isinstance(node, ast.Assign):
        return ""
    if len(node.targets) > 1 and {a, o} <= {_attr_name(ast.unparse(t)) for t in node.targets}:
        return a
    pairs: list[tuple[ast.expr, ast.expr]] = []
    for t in node.targets:
        if isinstance(t, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)) and len(t.elts) == len(node.value.elts):
            pairs += zip(t.elts, node.value.elts)
        else:
            pairs.append((t, node.value))
    for t, v in pairs:
        bound, source = _attr_name(ast.unparse(t)), _attr_name(ast.unparse(v))
        if isinstance(v, (ast.Name, ast.Attribute, ast.Subscript)) and {bound, source} == {a, o}:
            return bound
    return ""


def _runs_in_training(b: NumpyBackend, line: Line) -> bool:
    """Whether ``line`` runs while the program trains, so that a binding there is a reset: its function ran a loop of
    the training (it was on the stack when a window started), or was called more than once (a helper of the steps).
    A constructor that stores the lists it was handed (``self.grads = grads``) runs once, before the training."""
    for code in [*b.sharing.loop_codes, *b.called_again()]:
        if code.co_filename != line.filename:
            continue
        if code.co_name == "<module>" and not line.function:  # a module's loop: its own lines, outside every def
            return True
        lo, hi = function_lines(code)
        if code.co_name == line.function and lo <= line.lineno <= hi:
            return True
    return False


def _shared(b: NumpyBackend, carry: dict[str, Any] | None, copies: list[tuple[str, str, Line]]) -> Finding | None:
    """Buffers seen to be one object with a second name (a template they are re-bound to), at the lines that bind them;
    or (``copies``: the program's shallow copies) the arrays of a container bound to a shallow copy of another."""
    pairs: list[tuple[str, str, SecondName]] = []
    lines: list[Line] = []
    copied: list[tuple[str, str]] = []
    copy_lines: list[Line] = []
    for s in b.sharing.found.values():
        a, o = _attr_name(s.path), _attr_name(s.other)
        bound: list[str] = []

        def binds(node: ast.AST, src: str, a: str = a, o: str = o, bound: list[str] = bound) -> bool:
            name = _rebinds(node, a, o)
            bound.extend([name] if name else [])
            return bool(name)

        at = [line for line in find_lines(_files(b), binds, limit=8) if _runs_in_training(b, line)]
        if at:  # the program binds one name to the other (not two names built together): the one bound is reset
            pairs.append((s.path, s.other, s) if Counter(bound).most_common(1)[0][0] == a else (s.other, s.path, s))
            lines += at
        elif copies:  # one name bound to a shallow copy of the other's container: the arrays in it are the other's
            for bound_name, source, line in copies:
                if {bound_name, source} == {a, o} and bound_name != source:
                    copied.append((s.path, s.other) if a == bound_name else (s.other, s.path))
                    copy_lines.append(line)
    if not pairs and copied:
        copy_lines = sorted(dict.fromkeys(copy_lines), key=lambda l: (l.filename, l.lineno))
        return aliased_buffers(SharedMemory(
            kind="shallow", paths=(_head(copied[0][0]), _head(copied[0][1])), roles=(), object_type="ndarray",
            where=where_text(copy_lines, f"{_head(copied[0][0])} = copy of {_head(copied[0][1])}"),
            details={"pairs": dict(copied), "scope": next(iter(b.sharing.found.values())).scope,
                     "first_update": b.sharing.first_update, "lines": [str(l) for l in copy_lines]}))
    if not pairs or b.writes.overwritten:
        # (buffers the gradient function overwrites, ``dW[...] = g``: whatever a reset leaves in them, the next write
        # replaces; nothing carries into the gradients)
        return None
    upd, tpl, first = pairs[0]
    lines = sorted(dict.fromkeys(lines), key=lambda l: (l.filename, l.lineno))
    return aliased_buffers(SharedMemory(
        kind="same", paths=(upd, tpl), roles=((upd, "buffer"), (tpl, "buffer")),
        object_type=first.object_type, where=where_text(lines, f"{upd} = {tpl}"), templates=(tpl,),
        details={"pairs": {u: t for u, t, _ in pairs}, "scope": first.scope, "first_update": b.sharing.first_update,
                 "lines": [str(l) for l in lines],
                 **({"carry_over": carry["rho"], "carry_windows": carry["windows"]} if carry else {})}))


def _shallow_copies(b: NumpyBackend) -> list[tuple[str, str, Line]]:
    """``(bound, copied, line)`` of the assignments that bind a name to a shallow copy of another container (names as
    :func:`_attr_name` reads them): where two containers come to hold the same arrays."""
    found: list[tuple[str, str]] = []

    def copies(node: ast.AST, src: str) -> bool:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            return False
        source = shallow_copy_source(node)
        if source is None or not isinstance(source, (ast.Name, ast.Attribute, ast.Subscript)):
            return False
        found.append((_attr_name(ast.unparse(node.targets[0])), _attr_name(ast.unparse(source))))
        return True

    lines = find_lines(_files(b), copies, limit=16)
    return [(bound, source, line) for (bound, source), line in zip(found, lines)]


def _copied(b: NumpyBackend, findings: list[Finding], copies: list[tuple[str, str, Line]]) -> list[Finding]:
    """The findings of arrays shared by two containers one of which the program binds to a shallow copy of the other
    (``grads = dict(zero_grads)``), as one finding at the copy's line; the others as they are."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    rest: list[Finding] = []
    for f in findings:
        paths = f.evidence.get("paths", [])
        names = [_attr_name(p) for p in paths]
        pair = next(((bound, source) for bound, source, _ in copies if len(paths) == 2 and sorted(names) == sorted(
            (bound, source)) and bound != source), None)
        if pair is None or "container" in f.evidence:  # (one array repeated in a list is no copy)
            rest.append(f)
            continue
        copy_path, source_path = paths if names[0] == pair[0] else paths[::-1]
        groups.setdefault(pair, []).append((copy_path, source_path))
    for (bound, source), shared in groups.items():
        lines = [line for c, s, line in copies if (c, s) == (bound, source)]
        where = where_text(lines, f"{bound} = copy of {source}")
        finding = aliased_buffers(SharedMemory(
            kind="shallow", paths=(_head(shared[0][0]), _head(shared[0][1])), roles=(), object_type="ndarray",
            where=where, details={"pairs": dict(shared), "lines": [str(l) for l in lines]}))
        if finding is not None:
            rest.append(finding)
    return rest


def _aliased(b: NumpyBackend) -> list[Finding]:
    from netdoctor.buffers.aliasing import find_aliasing

    out: list[Finding] = []
    copies = _shallow_copies(b)
    found = _shared(b, _carry(b), copies)
    known: set[str] = set()
    if found is not None:
        out.append(found)
        known = {_head(p) for pair in found.evidence["pairs"].items() for p in pair}
    root = b.root.obj
    if issubclass(type(root), Cell):  # a closure cell: the container in it now
        root = root.contents
    if b.root.globals_root:  # module globals: the arrays and lists, under their own names
        # the module's loop variables (`for p, g in zip(params, grads)`) are bound to the network's arrays by the
        # loop itself: never parts of the network, never an alias of what they point at. A container the loop binds
        # to a shallow copy of another (`grads = dict(zero_grads)`) is looked at: the copy shares the other's arrays
        copied = copied_names(b.root.obj.get("__file__", "")) if issubclass(type(b.root.obj), dict) else frozenset()
        root = types.SimpleNamespace(**{k: v for k, v in root.items() if issubclass(type(k), str) and not k.startswith("__")
                                        and (k not in b.root.skip or k in copied and issubclass(type(v), (list, dict)))
                                        and issubclass(type(v), (list, dict, tuple, np.ndarray))})
    shallow: list[Finding] = []
    # a data set kept as lists (rows of numbers, ``([[v] for v in row], label)`` samples) holds none of the network's
    # arrays: its rows are not walked (np0107's 500 rows and 400 samples: 65,000 lists, 0.17 s of 0.2 s)
    for f in find_aliasing(root, tables=False):
        paths = [p if b.root.globals_root else f"{b.root.prefix}.{p}" for p in f.evidence.get("paths", [])]
        if any(_head(p) in known for p in paths):
            continue
        if copies and len(paths) == 2 and {_attr_name(p) for p in paths} in ({c, s} for c, s, _ in copies):
            shallow.append(dataclasses.replace(f, evidence={**f.evidence, "paths": paths}))
            continue
        lines = [l for p in paths[:4] for l in _assign_lines(b, p, augmented=False)]
        message = f.message
        if not b.root.globals_root:
            for p in sorted(f.evidence.get("paths", []), key=len, reverse=True):
                message = message.replace(f"`{p}`", f"`{b.root.prefix}.{p}`")
        out.append(dataclasses.replace(f, where=where_text(lines, " = ".join(paths)), message=message,
                                       evidence={**f.evidence, "paths": paths, "lines": [str(l) for l in lines]}))
    return out + _copied(b, shallow, copies)


def _carry(b: NumpyBackend) -> dict[str, Any] | None:
    """Buffer carry-over between windows (accumulating buffers only)."""
    rhos, ratios = [], []
    for w in b.windows:
        nxt, end, start = w.get("B_next_start"), w.get("B_end"), w.get("B_start")
        if nxt is None or end is None:
            continue
        m = np.isfinite(nxt) & np.isfinite(end)
        e = end[m]
        ee = float(e @ e)
        if ee == 0 or not np.isfinite(ee):
            continue
        rho = float(nxt[m] @ e / ee)
        resid = float(np.linalg.norm(nxt[m] - rho * e) / math.sqrt(ee))
        rhos.append((rho, resid))
        c = w.get("contrib")
        if start is not None and c is not None:
            cn = float(np.linalg.norm(c[m]))
            if cn > 0:
                ratios.append(float(np.linalg.norm(start[m]) / cn))
    if not rhos:
        return None
    good = [r for r, res in rhos if res < FIT_OK]
    if not good:
        return {"rho": float("nan"), "windows": len(rhos)}
    return {"rho": float(median(good)), "windows": len(good), "rhos": good[:8], "start_over_contrib": ratios[:8]}


def _stale(b: NumpyBackend) -> Finding | None:
    carry = _carry(b)
    if carry is None:
        return None
    bufs = sorted({p.buffer_text for p in b.params if p.buffer is not None})
    if _buffers_decay(b):
        # velocities, which keep the earlier gradients on purpose, whatever the carry-over their windows show
        return None
    lines = [l for t in bufs for l in _assign_lines(b, t, augmented=False)] + _update_lines(b)
    added = [l for t in bufs for l in _assign_lines(b, t, augmented=True)][:4]
    if not added and b.contributor is not None:
        # buffers the program adds to under another name than the one they were reached by (a layer's ``self.dW +=``
        # and an optimizer's ``self.grads[0]``): the additions of the function that writes them
        added = find_lines(_files(b), lambda node, src: isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add),
                           within=b.contributor, limit=4)
    lines = list(dict.fromkeys(lines + added))
    return stale_accumulator(CarryOver(
        where=where_text(lines, ", ".join(bufs)), framework=Framework.NUMPY, weight=carry["rho"], windows=carry["windows"],
        buffers=tuple(bufs), overwritten=b.writes.overwritten, lr=b.lr, lr_name=b.lr_name or "lr", unit="update",
        details={"carry_per_window": carry.get("rhos"), "start_over_contribution": carry.get("start_over_contrib"),
                 "writes_added_replaced": [b.writes.accumulated, b.writes.replaced],
                 "lines": [str(l) for l in lines]}))


def _buffers_decay(b: NumpyBackend) -> bool:
    """Whether the buffers are velocities: they (or their siblings in the same list or dict, or numbered alike:
    ``net.mb3`` beside ``net.mb1``, ``net.mb2``; a bias's velocity starts at zero like the bias and is told apart
    later) were seen decaying before they took in the gradient (``v *= mu; v += g; p -= lr * v``, Adam's moments)."""
    bufs = {p.buffer_text for p in b.params if p.buffer is not None}
    stems = {_sibling_stem(t) for t in b.decaying}
    return bool(bufs) and all(t in b.decaying or _sibling_stem(t) in stems for t in bufs)


def _sibling_stem(text: str) -> str:
    """``text`` without its last index or number: what an array shares with its siblings (``v[2]`` -> ``v``,
    ``net.mb3`` -> ``net.mb``)."""
    return re.sub(r"(\[[^\]]*\]|\d+)$", "", text)


def _written_velocity(b: NumpyBackend) -> bool:
    """Whether the arrays paired with the parameters as what they were given (overwritten each update) are velocities
    themselves: the steps read a velocity (:attr:`~NumpyBackend.momentum`, measured while discovering) and every
    window's step is an exact multiple of what was paired (``net.vW1 = mu * net.vW1 - lr * dW1; net.W1 += net.vW1``
    with the gradient inline: the velocity is the only array written, and ``p += v`` moves by it). A gradient paired
    beside a velocity is no multiple of the step (the velocity mixes the earlier gradients in)."""
    if b.momentum is None or b.style == "accumulate":
        return False
    pairs = [(w["delta"], w["contrib"]) for w in b.early + b.windows
             if w.get("delta") is not None and w.get("contrib") is not None and w["delta"].shape == w["contrib"].shape]
    if len(pairs) < MIN_PAIRS:
        return False
    with np.errstate(all="ignore"):
        d, a = np.concatenate([d for d, _ in pairs]), np.concatenate([a for _, a in pairs])
        ok = np.isfinite(d) & np.isfinite(a)
        d, a = d[ok], a[ok]
        aa = float(a @ a)
        if len(d) < 8 or not (aa > 0 and math.isfinite(aa)) or not np.any(d):
            return False
        return float(np.linalg.norm(d - (float(d @ a) / aa) * a)) < MOMENTUM_FIT * float(np.linalg.norm(d))


def _applied(b: NumpyBackend) -> Callable[[dict[str, Any]], np.ndarray | None]:
    """What a window applied, on the sampled entries: the buffers after its last contribution (accumulating buffers)
    or what it contributed (overwritten buffers, the sum of the gradients returned). Buffers that are velocities
    (:func:`_buffers_decay`, :func:`_written_velocity`) applied what they took in: ``B(t) - mu B(t-1)`` over
    consecutive windows."""
    key = "B_end" if b.style == "accumulate" else "contrib"
    if b.momentum is not None and (b.style == "accumulate" and _buffers_decay(b) or _written_velocity(b)):
        by = {w["update"]: w for w in b.early + b.windows}
        mu = b.momentum

        def intake(w: dict[str, Any]) -> np.ndarray | None:
            p = by.get(w["update"] - 1)
            a, ap = w.get(key), p.get(key) if p is not None else None
            return a - mu * ap if a is not None and ap is not None and a.shape == ap.shape else None

        return intake
    return lambda w: w.get(key)


@_remembered
def _velocity(b: NumpyBackend) -> VelocityFit | None:
    """The velocity the steps followed (momentum, Nesterov), fitted over consecutive windows; None for plain SGD, an
    adaptive rule, or too few consecutive windows (see :mod:`~netdoctor.observe.numpy.velocity`)."""
    if b.adaptive is not None:
        return None
    seen = {w["update"] for w in b.windows}
    windows = [w for w in b.early if w["update"] not in seen] + b.windows
    fit = fit_velocity(windows, _applied(b))
    if fit is None and b.momentum is not None and not any(_applied(b)(w) is not None for w in windows):
        # no gradient array seen (computed and applied inline): the decay the velocity arrays showed while discovering
        return decay_only(b.momentum)
    return fit


def _layer_calls(b: NumpyBackend) -> tuple[int, bool]:
    """How many times the gradient function is called per row: once per layer for a layer object's backward method,
    else 1.

    Told by what the calls change (``per_row`` of the windows heard deep, :func:`~netdoctor.observe.numpy.updates.
    _calls_per_row`): the most common reading wins. Row counts cannot tell it: a window that ran partly held can hold
    one row's layer calls and the next row's target (``rows == calls``). Without a reading, a method (``self`` first)
    is taken for a layer's, with as many calls as weight matrices. Also whether the calls were read (True) or guessed.
    """
    windows = {w["update"]: w for w in b.early + b.windows}.values()
    votes = Counter(w["per_row"] for w in windows if w.get("per_row"))
    if votes:
        return votes.most_common(1)[0][0], True
    code = b.contributor
    per_layer = code is not None and code.co_argcount > 0 and code.co_varnames[0] == "self"
    return (sum(1 for p in b.params if not p.bias) if per_layer else 1), False


@_remembered
def _fits(b: NumpyBackend) -> list[dict[str, float]]:
    """Per window, the step per contributed gradient: ``Δ_t ≈ -c · A_t`` with ``A_t`` what the program applies.

    ``A_t`` is the buffer after the window's last contribution (accumulating or
    overwritten buffers) or the sum of the gradients returned in the window. With a velocity
    (:func:`_velocity`) the step is read from its recurrence, ``Δ_t - mu Δ_{t-1} ≈ -c · A_t``: what the velocity
    takes in of each window's gradients, whatever it keeps of the earlier ones. With too few consecutive windows for
    that fit (a summed step that overflowed the weights within a few updates: npt1710, momentum 0.5, sums of 20
    per-sample gradients, NaN from update 6) the decay measured on the velocity arrays while discovering stands for
    ``mu``, on each window whose predecessor was a window: only a fit within :data:`FIT_OK` counts.
    """
    fit = _velocity(b)
    seen = {w["update"] for w in b.windows}
    if fit is not None:
        windows = [w for w in b.early if w["update"] not in seen] + b.windows
        return [{"c": c, "calls": w["calls"], "rows": w["rows"], "resid": resid} for w, c, resid in
                intakes(fit, windows, _applied(b)) if resid < FIT_OK and w["calls"]]
    mu = b.momentum if b.adaptive is None else None
    by = {w["update"]: w for w in [w for w in b.early if w["update"] not in seen] + b.windows}
    out: list[dict[str, float]] = []
    for w in (b.windows if mu is None else sorted(by.values(), key=lambda w: w["update"])):
        d = w.get("delta")
        A = _applied(b)(w)
        if d is None or A is None or w["calls"] == 0:
            continue
        # plain SGD's fit on the windows it always read; the velocity's memory taken out of the step
        # (Δ_t - mu Δ_{t-1} = -c A_t) only where that fails: a buffer that decays need not be a velocity (the forum
        # program's buffers, scaled in place by the learning rate and never emptied, fit plain steps)
        p = by.get(w["update"] - 1)
        tries = [d] if w["update"] in seen else []
        if mu is not None and p is not None and p.get("delta") is not None and p["delta"].shape == d.shape:
            tries.append(d - mu * p["delta"])
        for y0 in tries:
            read = _step_fit(y0, A)
            if read is not None:
                out.append({"c": read[0], "calls": w["calls"], "rows": w["rows"], "resid": read[1]})
                break
    return out


def _step_fit(d: np.ndarray, A: np.ndarray) -> tuple[float, float] | None:
    """``d ≈ -c · A`` by least squares over the finite entries: ``(c, relative residual)`` when the residual is under
    :data:`FIT_OK`, else None."""
    m = np.isfinite(A) & np.isfinite(d)
    y, x = d[m], A[m]
    xx = float(x @ x)
    if not np.any(y) or xx == 0 or not np.isfinite(xx):
        return None
    c = -float(y @ x) / xx
    resid = float(np.linalg.norm(y + c * x) / np.linalg.norm(y))
    return (c, resid) if resid < FIT_OK else None


def _batch_sums(b: NumpyBackend) -> list[dict[str, float]]:
    """Per window of one batch: |gradient of the output bias| / |mean over the batch of (output - target)|.

    For a mean loss the output-bias gradient is exactly that mean (softmax or
    sigmoid with cross-entropy; a factor f' <= 1 for MSE through tanh/sigmoid),
    so the ratio is <= ~1; for a summed loss it is the batch size times that.

    A gradient applied inline (no array of it seen) is read from the bias's step: plain SGD moves it by ``lr`` times
    the gradient; a velocity known by its decay ``mu`` moves it by ``Δ_t = mu Δ_{t-1} - lr g_t`` (``v = mu v - lr g;
    p += v``, or ``v = mu v + g; p -= lr v``), so ``(Δ_t - mu Δ_{t-1}) / lr`` is the gradient, read on a window
    whose two predecessors were windows (then ``Δ_{t-1}`` is one update's step). npt1717 (momentum 0.5, batches of
    32, ``d3 = out - t`` not divided by the batch): 32.0 on each of five windows before its weights overflowed; its
    twin: 1.0. (A moving average, ``v = mu v + (1 - mu) g``, reads ``1 - mu`` times that: see
    :func:`_velocity_intake_scale`.)
    """
    n_out = b.layout[1][-1] if b.layout else 0
    offsets = np.cumsum([0] + [len(p.idx) for p in b.params])
    k = next((i for i, p in enumerate(b.params) if int(np.prod(p.shape)) == n_out and (p.bias or min(p.shape) == 1
                                                                                    or len(p.shape) == 1)), None)
    if k is None:
        return []
    out = []
    seen = {w["update"] for w in b.windows}
    lr = b.lr if isinstance(b.lr, (int, float)) and b.lr > 0 else None
    whole = len(b.params[k].idx) == n_out  # every entry of the output bias is sampled
    windows = [w for w in b.early if w["update"] not in seen] + b.windows  # the first batches too: later ones may overflow
    by = {w["update"]: w for w in windows}
    # buffers that are the velocities themselves hold no one batch's gradient: the step is read instead
    velocities = b.momentum is not None and (b.style == "accumulate" and _buffers_decay(b) or _written_velocity(b))
    for w in windows:
        A = None if velocities else w.get("B_end") if b.style == "accumulate" else w.get("contrib")
        d = w.get("delta")
        stepped = False
        if A is None and lr is not None and whole and d is not None:
            stepped = True
            p = by.get(w["update"] - 1)
            if b.momentum is None:  # applied inline: plain SGD moves the bias by lr x its gradient
                A = d / lr
            elif p is not None and w["update"] - 2 in by and p.get("delta") is not None and p["delta"].shape == d.shape:
                # a velocity's step mixes earlier batches in: its memory taken out, Δ_t - mu Δ_{t-1} = -lr g_t
                A = (d - b.momentum * p["delta"]) / lr
        if A is None or w.get("dsum") is None or w["drows"] < 2:
            continue
        g = A[offsets[k]:offsets[k + 1]]
        mean = w["dsum"] / w["drows"]
        mn = float(np.linalg.norm(mean))
        if np.isfinite(g).all() and mn > 0 and np.isfinite(mn):
            out.append({"ratio": float(np.linalg.norm(g)) / mn, "rows": w["drows"],
                        "velocity": bool(stepped and b.momentum is not None)})
    return out


def _one_hot_subtracted(node: ast.AST, src: str) -> bool:
    """``p[range(n), y] -= 1``: the output error ``p - onehot(y)`` written in place (its two-index form names it)."""
    return (isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Sub) and isinstance(node.value, ast.Constant)
            and node.value.value == 1 and isinstance(node.target, ast.Subscript)
            and isinstance(node.target.slice, ast.Tuple) and len(node.target.slice.elts) == 2)


def _error_lines(b: NumpyBackend) -> list[Line]:
    """Where the gradient's function computes the output error from the targets (``d = out - t``, or from an array
    made of them, ``T = np.eye(C)[t]; d = out - T``), then the update; where it computes none, the program's
    ``p[range(n), y] -= 1`` (a loss object's backward). Targets read beside the gradient's function (in its caller's
    locals: ``backward(xb, yb)`` calling a ``step(name, grad)`` helper) are looked for in that caller."""
    target, within = b.target_arg, b.contributor
    if not target and b.beside_targets is not None:
        target, within = b.beside_targets
    names = {target} if target else set()
    if target and within is not None:  # arrays the function makes of the targets stand for them
        def made_of_targets(node: ast.AST, src: str) -> bool:
            if isinstance(node, ast.Assign) and re.search(rf"\b{re.escape(target)}\b", ast.unparse(node.value)):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            return False

        find_lines(_files(b), made_of_targets, within=within)
    word = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names)) + r")\b") if names else None
    lines = find_lines(_files(b), lambda node, src: word is not None and bool(word.search(src)) and (
        isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Sub) or " - " in src), within=within, limit=3)
    if not lines and b.comparer is None and not b.forward:
        lines = find_lines(_files(b), _one_hot_subtracted, limit=2)
    if not lines and b.comparer is not None:
        # the error computed where the output meets its targets (``return loss, p - onehot`` in ``loss(out, y)``):
        # the difference it returns, or a line subtracting with the targets' name; and the lines that scale that
        # difference into what the call returns (``diff = out - y``, then ``dout = 2 * diff / len(y)``: a summed error is
        # fixed there)
        made: set[str] = set()

        def error_here(node: ast.AST, src: str) -> bool:
            sub = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) for n in ast.walk(node))
            if sub and (isinstance(node, ast.Return) or bool(target) and bool(re.search(rf"\b{re.escape(target)}\b", src))):
                made.update(t.id for t in getattr(node, "targets", ()) if isinstance(t, ast.Name))
                return True
            value = getattr(node, "value", None)
            return (isinstance(node, ast.Assign) and isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Mult, ast.Div))
                    and any(isinstance(n, ast.Name) and n.id in made for n in ast.walk(value)))

        lines = find_lines(_files(b), error_here, within=b.comparer, limit=3)
    return lines + _update_lines(b)


def _summed_batch(b: NumpyBackend) -> BatchScale | None:
    sums = _batch_sums(b)
    if not sums:
        return None
    lines = _error_lines(b)
    factor, batch = float(median([s["ratio"] for s in sums])), int(median([s["rows"] for s in sums]))
    ratios = [s["ratio"] for s in sums[:8]]
    details: dict[str, Any] = {}
    if any(s["velocity"] for s in sums) and b.momentum is not None:
        # read through a velocity: a moving average of the sum takes in (1 - mu) x it (as the update check's intake)
        read = _velocity_intake_scale(factor, b.momentum, batch)
        if read is None:
            return None
        if read[0] != factor:
            ratios = [r * read[0] / factor for r in ratios]
        factor, details = read
    return BatchScale(
        where=where_text(lines, "the gradient"), framework=Framework.NUMPY, measured="bias",
        factor=factor, batch=batch, windows=len(sums), lr=b.lr, lr_name=b.lr_name or "lr",
        function=b.contributor.co_name if b.contributor else "", blew_up=b.nonfinite is not None,
        details={"lines": [str(l) for l in lines], "ratios": ratios, **details})


def _summed_contributions(b: NumpyBackend) -> BatchScale | None:
    if b.lr is None or b.style not in ("accumulate", "returns"):
        return None
    every = _fits(b)
    layers, read = _layer_calls(b)
    per_sample = (layers,) if read else (1, layers)  # a guess of per-layer calls may be wrong: either count

    # the calls per row where a window's rows and calls agree: a window that counted part of its batch's targets (the
    # first after discovery: npt1710 read 13 rows of targets beside 20 per-sample calls, its later windows 20 and 20)
    # takes the count the others agree on
    agree = Counter(int(w["calls"] // w["rows"]) for w in {w["update"]: w for w in b.early + b.windows}.values()
                    if w["rows"] and w["calls"] in tuple(w["rows"] * k for k in per_sample))
    steady = agree.most_common(1)[0][0] if len(agree) == 1 else None

    def samples(f: dict[str, float]) -> int:
        """The samples whose gradients the window applied, one per contribution: 0 when that is not known (targets
        read for another number of rows, unless the other windows agree on the calls per row; a few calls per update
        without targets may be one per layer, or micro-batches)."""
        if f["rows"] and f["calls"] in tuple(f["rows"] * k for k in per_sample):
            return int(f["rows"])
        if f["rows"] and steady and f["calls"] % steady == 0:
            return int(f["calls"] // steady)
        n = int(f["calls"] // layers) if read else int(f["calls"])
        return n if not f["rows"] and n >= SUMMED_MIN_ROWS else 0

    fits = [dict(f, samples=samples(f)) for f in every if samples(f) > 1]
    # one gradient per update over the run (or in most windows): the windows with two are updates the count missed
    # in between (a module-level loop's inline step seen late), not batches summed
    # (the updates whose windows ran untraced made calls nobody counted: b.held_updates)
    # two windows decide; one does, read within FIT_OK, when the run went non-finite (the blow-up cut the windows short)
    least = 1 if b.nonfinite is not None else 2
    if len(fits) < least or median([f["calls"] for f in every]) <= 1 or b.contrib_calls <= 1.5 * (b.updates - b.held_updates):
        return None
    divided = False
    if b.style == "accumulate" and b.contributor is not None:
        bufs = {_attr_name(p.buffer_text) for p in b.params if p.buffer is not None}
        divided = bool(find_lines(_files(b), lambda node, src: isinstance(node, ast.AugAssign) and "/" in ast.unparse(node.value)
                                  and any(_attr_name(t) in bufs for t in targets_text(node)), within=b.contributor))
    lines = _update_lines(b)
    return BatchScale(
        where=where_text(lines, "the update"), framework=Framework.NUMPY, measured="contributions",
        factor=float(median([f["c"] / b.lr for f in fits])), batch=int(median([f["samples"] for f in fits])),
        windows=len(fits), lr=b.lr, lr_name=b.lr_name or "lr", divided=divided, details={"lines": [str(l) for l in lines]})


def _summed_checked(b: NumpyBackend) -> BatchScale | None:
    """The step of the checked updates against the gradient of the batch's summed loss (the update check's factor).

    The assumed losses are sums over the batch's rows (squared error ``sum((y - t)**2)``, cross-entropy
    ``-sum(t log p)``), so the factor per row ``q`` is about 1 for a step of the batch mean (2 for a mean squared
    error without its 1/2) and about the batch size ``n`` (or ``2n``) for the sum. Only checks in which every
    tensor agreed on one factor, carried by two tensors or more with a weight matrix among them, count. The program's
    own loss counts when it was measured to be an assumed loss over ``r`` (:attr:`UpdateCheck.own_scale`: ``r`` the
    batch size for a mean): its factor against that sum is ``factor / r``; else its reduction is unknown.
    """
    lr = b.lr if isinstance(b.lr, (int, float)) and b.lr > 0 else None
    qs, rows, kinds = [], [], set()
    for step in b.update_checks.steps:
        c = step.check
        if not c.loss_assumed and c.own_scale is not None:
            r = c.own_scale[1]  # (a silent tensor's ratio 1 with no spread stays: it carries no factor)
            c = dataclasses.replace(c, loss=c.own_scale[0], factor=c.factor / r, loss_assumed=True, tensors=[
                t if (t.ratio, t.spread) == (1.0, 0.0) else dataclasses.replace(t, ratio=t.ratio / r) for t in c.tensors])
        if not c.tensors or not c.ok or not c.loss_assumed or step.rows < 2 or not math.isfinite(c.factor) or c.factor <= 0:
            continue
        if c.kind in ("update", "velocity") and lr is None:
            continue
        # the factor must be carried by the weights: a tensor whose gradient and update are both zero (dead units) is
        # read as ratio 1 with no spread (update_check._ratio) and agrees with any factor; it carries none
        carried = [t for t in c.tensors if math.isfinite(t.ratio) and abs(t.ratio - c.factor) <= 1e-2 * c.factor
                   and (t.ratio, t.spread) != (1.0, 0.0)]
        # every unit dead (a summed step blows the weights up within a few updates): only the output bias still
        # moves, and it alone carries the factor; with any other tensor measurable, two must agree, a weight among them
        silent = all((t.ratio, t.spread) == (1.0, 0.0) for t in c.tensors if t not in carried)
        if not carried or not silent and (len(carried) < 2 or all(t.bias for t in carried)):
            continue
        # an update and a velocity's intake carry the learning rate (a velocity's intake as its step applies it, see
        # update_window._intake); a gradient returned or buffered does not
        s = c.factor / lr if c.kind in ("update", "velocity") and lr is not None else c.factor
        qs.append(s * step.rows * (2.0 if c.loss.startswith("squared") else 1.0))
        rows.append(step.rows)
        kinds.add(c.kind)
    if not qs:
        return None
    lines = _error_lines(b)
    c = b.update_checks.steps[0].check
    factor, batch = float(median(qs)), int(median(rows))
    details: dict[str, Any] = {}
    if kinds == {"velocity"} and b.momentum is not None:
        read = _velocity_intake_scale(factor, b.momentum, batch)
        if read is None:
            note = (
                f"the velocity takes in {factor:.3g}x the batch's mean gradient per step (batches of {batch} rows, "
                f"kept at mu = {b.momentum:.3g}): a heavy ball of the mean gradient (v = mu * v + g) or a moving "
                f"average of the gradient summed over the rows (v = mu * v + (1 - mu) * g, 1 - mu = "
                f"{1 - b.momentum:.3g} ~ {(1 - b.momentum) * batch:.2g}/{batch}) do "
                "the same arithmetic, so whether the gradient is summed is not told; either way each step moves "
                f"the weights ~{factor / (1 - b.momentum):.3g}x the learning rate times the mean gradient in the long run")
            if note not in b.notes:
                b.notes.append(note)
            return None
        factor, details = read
    return BatchScale(
        where=where_text(lines, "the update"), framework=Framework.NUMPY, measured="update",
        factor=factor, batch=batch, windows=len(qs), lr=b.lr, lr_name=b.lr_name or "lr",
        function=c.forward, details={"per_row_factors": qs, "loss": c.loss.replace(" (assumed)", ""),
                                     "lines": [str(l) for l in lines], **details})


def _velocity_intake_scale(q: float, mu: float, batch: int) -> tuple[float, dict[str, Any]] | None:
    """The per-row factor of a velocity's intake (``q``: ~1 or 2 for the batch mean, see :func:`_summed_checked`) read
    as the gradient's scale, with how it was read; None when the reading is ambiguous.

    A velocity takes in ``g`` (a heavy ball, ``v = mu * v + g``) or ``(1 - mu) * g`` (a moving average,
    ``v = mu * v + (1 - mu) * g``): its intake is ``q`` or ``(1 - mu) * q`` times the gradient of the batch mean.
    A sum over ``n`` rows read through a moving average gives ``q = (1 - mu) * n`` (or twice that, a squared error
    without its 1/2) exactly; when that ``q`` is also about 1 or 2 (``1 - mu`` about ``1/n`` or ``2/n``), the heavy
    ball of the mean does the same arithmetic and neither is told."""
    lo, hi = SUMMED_STEP_RATIO
    if lo <= q / batch <= hi or not 0 < mu < 1:
        return q, {}  # a heavy ball of the sum (a moving average of a mean takes in less than 2x the mean)
    averaged = q / (1 - mu)
    if not any(abs(averaged / (m * batch) - 1) < SCALE_TOL for m in (1.0, 2.0)):
        return q, {}
    if any(abs(q / m - 1) < SCALE_TOL for m in (1.0, 2.0)):
        return None
    return averaged, {"velocity": "moving average", "momentum": mu, "intake_per_row": q}


def _summed(b: NumpyBackend) -> Finding | None:
    if b.adaptive is not None:
        # an adaptive step divides the gradient's scale out (m / sqrt(v)): a sum over the batch moves the weights as
        # far as the mean would, so it is no finding; said when the update check measured it
        sums = _summed_checked(b)
        # (the factor per row is ~2 for a mean squared error without its 1/2: summed is the rule's one decision)
        if sums is not None and is_summed(sums):
            b.notes.append(f"the gradient is about {sums.factor:.3g}x the batch mean (summed over the rows, not "
                           "averaged); the update rule is adaptive (each step ~ m / sqrt(v)), which divides that "
                           "scale out: the steps are as large as with the mean")
        return None
    return _summed_any(b)


def _summed_any(b: NumpyBackend) -> Finding | None:
    return summed_gradient(_summed_scale(b))


@_remembered
def _summed_scale(b: NumpyBackend) -> BatchScale | None:
    """The measurement that says the batch's gradient is summed, not averaged (:func:`~netdoctor.rules.updates.
    is_summed`): per batch (the output-bias gradient, the update check's factor) first, then per-sample
    contributions; None when none does."""
    for read in (_summed_batch, _summed_checked, _summed_contributions):
        s = read(b)
        if s is not None and is_summed(s):
            return s
    return None


def _frozen(b: NumpyBackend) -> list[Finding]:
    # a network found as frozen was found from the gradient computations seen while discovering: they count
    calls = b.gradient_computations if b.frozen else b.contrib_calls
    if b.updates < 3 and calls < 10:
        return []
    start, end = b.sampled_params()
    offsets = np.cumsum([0] + [len(p.idx) for p in b.params])
    same = [np.array_equal(end[offsets[i]:offsets[i + 1]], start[offsets[i]:offsets[i + 1]], equal_nan=True)
            for i in range(len(b.params))]
    frozen = tuple(p.text for p, s in zip(b.params, same) if s and b.changed[p.text] == 0)
    moving = tuple(p.text for p, s in zip(b.params, same) if not s)
    if not frozen or not (moving or calls >= 10):
        return []
    lines = find_lines(_files(b), lambda node, src: any(LR_NAME.match(n) for n in re.findall(r"[A-Za-z_]\w*", ast.unparse(
                       _value(node)))) and any(isinstance(t, ast.Name) for t in _target_nodes(node)), limit=3)
    if moving:  # an assignment to a frozen array that takes no rate (``W1 = W1`` in a step returning new weights), first
        lines = list(dict.fromkeys(find_lines(_files(b), functools.partial(_rateless_write, names=set(frozen)),
                                              limit=2) + lines))[:3]
    else:
        # a loop variable rebound to itself moved (``for p, g in ...: p = p - step``): the update that is dropped, first
        names = set().union(*(for_targets(f) for f in _files(b)))
        lines = list(dict.fromkeys(find_lines(_files(b), functools.partial(_rebound_step, names=names), limit=2) + lines))[:3]
    group = (FrozenGroup(frozen, "update_dropped") if moving else
             FrozenGroup(frozen, "nothing_changes", numbers={"calls": calls, "function": b.contributor.co_name
                                                             if b.contributor else "the program"}))
    return frozen_parameters(FrozenParameters(
        framework=Framework.NUMPY, groups=(group,), updated=moving, steps=b.updates, unit="update",
        site=where_text(lines, ""), details={"gradient_computations": calls, "lines": [str(l) for l in lines]}))


def _rateless_write(node: ast.AST, src: str, *, names: set[str]) -> bool:
    """An assignment that binds one of ``names`` (the frozen arrays, as the report writes them) to itself and names no
    learning rate (``W1 = W1``, ``W1, b1 = W1, b1``): where an update of theirs was meant to be."""
    return (isinstance(node, ast.Assign) and any(ast.unparse(t) in names for t in _target_nodes(node))
            and not any(LR_NAME.match(n) for n in re.findall(r"[A-Za-z_]\w*", ast.unparse(node.value)))
            and any(ast.unparse(t) == ast.unparse(v) for t, v in _pairs(node)))


def _pairs(node: ast.Assign) -> list[tuple[ast.AST, ast.AST]]:
    """(target, value) pairs of an assignment, element by element when both sides are tuples of one length."""
    t, v = node.targets[-1], node.value
    if isinstance(t, (ast.Tuple, ast.List)) and isinstance(v, (ast.Tuple, ast.List)) and len(t.elts) == len(v.elts):
        return list(zip(t.elts, v.elts))
    return [(t, v)]


def _rebound_step(node: ast.AST, src: str, *, names: set[str]) -> bool:
    """``p = p - step`` (or ``+``): a loop variable among ``names`` bound to a new array of its own value moved."""
    return (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in names and isinstance(node.value, ast.BinOp)
            and isinstance(node.value.op, (ast.Sub, ast.Add)) and isinstance(node.value.left, ast.Name)
            and node.value.left.id == node.targets[0].id)


def _target_nodes(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        return [e for t in node.targets for e in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t])]
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    return []


def _view_writes(b: NumpyBackend) -> list[Line]:
    """In-place writes through a name bound to a slice or row of another array (``t = TABLE[k]; t *= 0.8``)."""
    out: list[Line] = []
    for filename in _files(b):
        views: set[str] = set()

        def bound(node: ast.AST, src: str, views=views) -> bool:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript):
                views.update(t.id for t in node.targets if isinstance(t, ast.Name))
            return False

        find_lines(filename, bound, limit=1)
        def written(node: ast.AST, src: str, views: set[str] = views) -> bool:
            return isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id in views

        out += find_lines(filename, written, limit=4)
    return out


def _mutated(b: NumpyBackend) -> Finding | None:
    if b.mutated_views:
        seen = list(b.mutated_views.values())
        first = seen[0]
        lines = _view_writes(b)
        code = b.code_named(first["function"]) if first["argument"] else None
        if code is not None:  # an in-place operator on the argument itself (`def step(x, ...): x *= 0.9`)
            arg = first["argument"]

            def on_argument(node: ast.AST, src: str) -> bool:
                return isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == arg

            lines = find_lines(code.co_filename, on_argument, within=code, limit=2) + lines
        # the writes in the function that handed the rows out first (a helper's `t = EYE[k]; t *= 0.95`), then where
        # the array written is made (`EYE = np.eye(10)`): both places
        lines = [l for l in lines if l.function == first["function"]] + [l for l in lines if l.function != first["function"]]
        base = first["base"]
        if base and re.fullmatch(r"[A-Za-z_][\w.]*", base):
            lines += [l for l in _assign_lines(b, base, augmented=False) if l not in lines][:1]
        return mutated_constant(Mutation(
            where=where_text(lines, f"{first['function']}({first['argument']})"), kind="view",
            names=tuple(s["base"] or (f"the array behind `{s['argument']}`" if s["argument"] else
                                      f"the array {s['function']}() returns rows of") for s in seen), steps=(first["update"],),
            unit="update", function=first["function"], argument=first["argument"], shape=tuple(first["shape"]),
            details={"lines": [str(l) for l in lines]}))
    if not b.mutated:
        return None
    names = sorted(b.mutated)
    lines = [l for t in names for l in _assign_lines(b, t, augmented=False)]
    return mutated_constant(Mutation(
        where=where_text(lines, ", ".join(names)), kind="constant", names=tuple(names), steps=(min(b.mutated.values()),),
        unit="update", details={"first_update": b.mutated, "lines": [str(l) for l in lines]}))


def _nonfinite(b: NumpyBackend) -> Finding | None:
    nf = b.nonfinite
    if not nf:
        return None
    lines = _update_lines(b) if nf.get("where") == "update" else []
    return non_finite(NonFinite(
        origin="parameters", step=nf["update"], where=where_text(lines, nf.get("where", "")), framework=Framework.NUMPY,
        unit="update", tensors=tuple(nf["arrays"]), details={"arrays": nf["arrays"], "update": nf["update"],
                                                             "lines": [str(l) for l in lines]}))


def _curve(b: NumpyBackend) -> TrainingCurve | None:
    """The training accuracy early and late (see :mod:`netdoctor.observe.numpy.learning`), when enough was paired."""
    fwd = sorted(f"{c.co_name}()" for c in b.forward)
    return b.learning.curve(", ".join(fwd) or "the forward")


def _exploding(b: NumpyBackend) -> Finding | None:
    c = _curve(b)
    losses = (c.loss_early, c.loss_late) if c is not None and c.loss else (None, None)
    # (the norms read at updates of a fixed schedule: the tensor past its limit first does not depend on which
    # windows were watched deep)
    reads = [(u, read) for u, read in b.norm_reads if set(read) >= set(b.norms_first)]
    traces = [NormTrace(p.text, tuple(u for u, _ in reads), tuple(read[p.text] for _, read in reads),
                        is_weight=len(p.shape) == 2 and not p.bias, loss_start=losses[0], loss_end=losses[1],
                        shape=tuple(p.shape))
              for p in b.params if p.text in b.norms_first]
    return exploding_gradients(traces, Framework.NUMPY, unit="update", curve=c)


@_remembered
def _grad_ratios(b: NumpyBackend) -> list[float]:
    """Per window, |mean contributed gradient| / |W| of the weight matrices (sampled entries)."""
    out = []
    offsets = np.cumsum([0] + [len(p.idx) for p in b.params])
    for w in b.windows:
        A = w.get("B_end") if b.style == "accumulate" else w.get("contrib")
        W = w.get("w")
        if A is None or W is None or not w["calls"]:
            continue
        r = []
        for i, p in enumerate(b.params):
            sl = slice(offsets[i], offsets[i + 1])
            if len(p.shape) != 2 or p.bias or not np.isfinite(A[sl]).all():
                continue
            wn = float(np.linalg.norm(W[sl]))
            if wn > 0 and np.isfinite(wn):
                r.append(float(np.linalg.norm(A[sl])) / w["calls"] / wn)
        if r:
            out.append(max(r))
    return out


@_remembered
def _update_ratios(b: NumpyBackend, *, early: bool = False) -> list[float]:
    """Per window, the largest |Δ| / max(|W|, the working scale's) over the weight matrices that moved (sampled entries).

    With a velocity (:func:`_velocity`), ``Δ`` is the step plain SGD at the effective rate would have made from the
    window's gradient (``lr / (1 - mu)`` times it for ``v = mu v - lr g``): what the rate does, not how far the
    velocity has built up (its first steps are ``1 - mu`` of that, its later ones mix the gradients of earlier batches).
    """
    out = []
    offsets = np.cumsum([0] + [len(p.idx) for p in b.params])
    windows = b.early if early else b.windows
    fit = _velocity(b)
    steps = ([(w, w.get("delta")) for w in windows] if fit is None
             else effective_steps(fit, windows, _applied(b)))
    for w, d in steps:
        W = w.get("w")
        if d is None or W is None:
            continue
        before = W - w["delta"]
        r = []
        for i, p in enumerate(b.params):
            if len(p.shape) != 2 or p.bias:
                continue
            sl = slice(offsets[i], offsets[i + 1])
            # against the weights, or the size a usual initialisation gives them when they are smaller: a tiny
            # initialisation's first steps are many times its size while the net learns (see working_scale)
            wn = max(float(np.linalg.norm(before[sl])),
                     working_scale(p.shape, fan="larger") * math.sqrt(offsets[i + 1] - offsets[i]))
            if wn > 0 and np.isfinite(wn) and np.any(d[sl]):
                r.append(float(np.linalg.norm(d[sl])) / wn)
        if r:
            out.append(max(r))
    return out


@_remembered
def _layer_steps(b: NumpyBackend, most: int = 16) -> list[tuple[Param, float, int]]:
    """Per weight matrix (in the network's order), the median over the first ``most`` windows that moved it of its
    applied step's size against its own: ``|ΔW_l| / |W_l|`` on the sampled entries (``W_l`` before the step), with the
    windows counted. A layer the gradient does not reach takes steps orders of magnitude below the layers above it."""
    offsets = np.cumsum([0] + [len(p.idx) for p in b.params])
    fit = _velocity(b)
    windows = [*b.early, *b.windows]
    steps = ([(w, w.get("delta")) for w in windows] if fit is None else effective_steps(fit, windows, _applied(b)))
    per: dict[int, list[float]] = {}
    for w, d in steps:
        W = w.get("w")
        if d is None or W is None:
            continue
        before = W - w["delta"]
        for i, p in enumerate(b.params):
            if len(p.shape) != 2 or p.bias or len(per.get(i, ())) >= most:
                continue
            sl = slice(offsets[i], offsets[i + 1])
            wn = float(np.linalg.norm(before[sl]))
            if wn > 0 and np.isfinite(wn) and np.isfinite(d[sl]).all():
                per.setdefault(i, []).append(float(np.linalg.norm(d[sl])) / wn)
    return [(b.params[i], float(median(r)), len(r)) for i, r in sorted(per.items())]


def _reach(b: NumpyBackend) -> LayerReach | None:
    """The weight matrices in the network's order with the factor by which each above the first passes the error
    back (``||W_l||_F / sqrt(fan_out_l)``, from their norms when watching began) and their first steps; None when the
    layer widths do not chain through the matrices' shapes (their order or sides are not known)."""
    weights = [p for p in b.params if len(p.shape) == 2 and not p.bias]
    if len(weights) < 3 or not b.layout or any(w.text not in b.norms_first for w in weights):
        return None
    widths = list(b.layout[1])
    if len(widths) != len(weights) + 1 or any(sorted(w.shape) != sorted((widths[i], widths[i + 1]))
                                               for i, w in enumerate(weights)):
        return None
    steps = {p.text: (r, n) for p, r, n in _layer_steps(b)}
    if any(w.text not in steps for w in weights):
        return None
    norms = [b.norms_first[w.text] for w in weights]
    return LayerReach(
        tensors=tuple(w.text for w in weights), widths=tuple(widths),
        gains=tuple(norms[i] / math.sqrt(widths[i + 1]) for i in range(1, len(weights))),
        steps=tuple(steps[w.text][0] for w in weights), updates=min(steps[w.text][1] for w in weights),
        std=tuple(n / math.sqrt(np.prod(w.shape)) for n, w in zip(norms, weights)), after=b.norms_first_at,
        site=where_text(_init_lines(b, weights[0]), ""), where=where_text(_init_lines(b, weights[0]), weights[0].text),
        curve=_curve(b))


def _vanishing(b: NumpyBackend) -> Finding | None:
    reach = _reach(b)
    return vanishing_through_layers(reach) if reach is not None else None


def _lr_lines(b: NumpyBackend) -> list[Line]:
    """Where the learning rate's value is written (``LR = 0.0005``, ``default=10.0``), then where it is applied."""
    lines: list[Line] = []
    if b.lr is not None and b.lr_name:
        name = b.lr_name.split(".")[-1]
        lr = b.lr

        def value_here(node: ast.AST) -> bool:
            consts = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, (int, float))]
            return any(not isinstance(c, bool) and abs(c - lr) <= 1e-12 * max(1.0, lr) for c in consts)

        lines = find_lines(_files(b), lambda node, src: name.lower() in src.lower() and value_here(node), limit=3)
        # passed positionally (`net.SGD(data, 3, 10, 300.0)`): the literal alone, when it is not a common number
        if not lines and b.lr not in (0.0, 1.0, 2.0, 10.0):
            lines = find_lines(_files(b), lambda node, src: isinstance(node, ast.Expr) and value_here(node), limit=2)
    elif b.lr is None and b.lr_measured is not None:
        # no variable holds it: the steps that apply it as a literal (`W -= 0.5 * dW`), measured to 1e-6
        rate = b.lr_measured

        def literal_here(node: ast.AST) -> bool:
            consts = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, (int, float))]
            return any(not isinstance(c, bool) and c > 0 and abs(c - rate) <= 1e-6 * rate for c in consts)

        lines = find_lines(_files(b), lambda node, src: isinstance(node, (ast.AugAssign, ast.Assign, ast.Expr))
                           and literal_here(node), limit=3)
    return lines + [l for l in _update_lines(b) if l not in lines]


@_remembered
def _update_sizes(b: NumpyBackend) -> UpdateSizes:
    """The first updates seen, the typical update and gradient over the windows, as the learning-rate rules read them."""
    first = [max(r[i] for r in b.discovery_ratios if len(r) > i) for i in range(max(map(len, b.discovery_ratios), default=0))]
    velocity = _velocity(b)
    applied: list[float] = []
    if velocity is not None:  # discovery's steps are the velocity's, not the effective rate's: kept apart
        first, applied = [], first
    # the arrays paired as what the steps were given are velocities (the gradient inline): no gradient seen
    written = velocity is not None and _written_velocity(b)
    ups, grads = _update_ratios(b), ([] if written else _grad_ratios(b))
    gradient = float(median(grads)) if len(grads) >= 5 else None
    # no variable holds the learning rate (``W -= 0.1 * dW``): the one the steps were measured to apply
    measured = b.lr is None and b.lr_measured is not None
    lr = b.lr_measured if measured else b.lr
    effective = velocity.rate if velocity is not None and math.isfinite(velocity.rate) else None
    if written and velocity is not None:
        # what such a velocity takes in is the step itself (``-lr * g``), so its fitted rate is in the step's units:
        # the rate per unit of gradient is the learning rate's, lr / (1 - mu)
        effective = lr / (1.0 - velocity.mu) if isinstance(lr, (int, float)) and lr > 0 else None
    if gradient is None and len(ups) >= 5 and isinstance(lr, (int, float)) and lr > 0 and not grads:
        # no gradient array seen (applied inline): plain SGD moves the weights by lr x the gradient, a velocity's
        # effective steps by lr / (1 - mu) x the gradient (a written one's as fitted; one known by its decay only, its
        # steps differenced, (Δ_t - mu Δ_{t-1}) / (1 - mu): a heavy ball's, the smaller reading, as below)
        per = (effective if written and effective else lr / (1.0 - velocity.mu) if velocity is not None else lr)
        gradient = float(median(ups)) / per
    enough = len(ups) >= 5 and gradient is not None
    early = [r for r in _update_ratios(b, early=True) if math.isfinite(r)] if velocity is not None else []
    from_early = False
    if (gradient is None and len(ups) < 5 and len(early) >= 5 and not grads and velocity is not None
            and isinstance(lr, (int, float)) and lr > 0):
        # one row per update, its windows too far apart to difference a velocity out (npt1709: 4,000 updates at
        # momentum 0.9, none of the later windows consecutive): the first updates' effective steps, each
        # (Δ_t - mu Δ_{t-1}) / (1 - mu), are lr / (1 - mu) times the gradient for a heavy ball (v = mu v - lr g), 1 / (1 - mu)
        # times less than for a moving average: the smaller reading, so a vanishing gradient is not taken for a healthy one
        gradient, from_early = float(median(early)) * (1.0 - velocity.mu) / lr, True
    # how far the weight matrices' norms grew while watched (from the end of discovery): inf when one went non-finite
    growth = largest_growth(b.norms_last[p.text] / b.norms_first[p.text] for p in b.params
                            if len(p.shape) == 2 and not p.bias and b.norms_first.get(p.text, 0) > 0
                            and p.text in b.norms_last)
    # a gradient measured summed over the batch: the rate's finding says so (an adaptive step divides the sum out)
    summed = _summed_scale(b) if b.adaptive is None else None
    adaptive = ""
    if b.adaptive is not None:  # not plain SGD: no rate relates the step to the gradient; the step per entry is known
        adaptive = f"an adaptive rule (each step ~ m / sqrt(v), {b.adaptive:.2g} per entry)"
        lr, measured = b.lr, False
    entries = b.adaptive_entries if b.adaptive is not None else None
    return UpdateSizes(
        optimizer=adaptive, adaptive=b.adaptive is not None,
        entry_step=entries[0] if entries is not None else None, entry_size=entries[1] if entries is not None else None,
        where=where_text(_lr_lines(b), "the update"), framework=Framework.NUMPY,
        first=tuple(r for r in first + _update_ratios(b, early=True) if math.isfinite(r)),
        typical=float(median(ups)) if enough else None, typical_count=len(ups), steps=b.updates,
        gradient=gradient if enough or from_early else None, growth=growth, lr=lr, lr_name=b.lr_read if measured else b.lr_name or "lr",
        lr_measured=measured, weights_nonfinite=b.nonfinite is not None and b.nonfinite.get("where") == "update",
        curve=_curve(b), momentum=velocity.mu if velocity is not None else None,
        summed_batch=int(summed.batch) if summed is not None else None,
        climbs=any(s.check.climbs and not s.check.targets_guessed for s in b.update_checks.steps),
        effective_lr=effective,
        applied_first=tuple(r for r in applied if math.isfinite(r)), steps_saturated=saturated_by_steps(_activity(b)))


def _lr_high(b: NumpyBackend) -> Finding | None:
    return learning_rate_too_high(_update_sizes(b))


def _lr_low(b: NumpyBackend) -> Finding | None:
    return learning_rate_too_low(_update_sizes(b))


def _layers(b: NumpyBackend) -> list[dict[str, Any]]:
    rows = []
    for layer in sorted(b.rows):
        a = np.concatenate(b.rows[layer])
        if len(a) < 2:
            continue
        kind = activation_name(b, layer, a)
        st = layer_stats(a, kind)
        first = np.concatenate(b.first_rows.get(layer, [a[:0]]))
        st0 = layer_stats(first, kind) if len(first) >= 2 else None
        rows.append({"layer": layer, **st, "rows": int(len(a)),
                     "at_start": st0.get("saturation") if st0 else None, "dead_at_start": st0.get("dead") if st0 else None})
    return rows


def _init_lines(b: NumpyBackend, w: Param) -> list[Line]:
    """Where weight ``w`` is drawn at random: a statement calling ``randn``/``normal``/``uniform``/``rand`` that names it
    (its key or attribute: ``W1`` of ``params['W1']``, ``W`` of ``layers[0].W``, as a whole word), else one naming the
    container of the network's weights (a list of ``[W, b]`` pairs has no name of its own)."""
    key = re.findall(r"\['([^']+)'\]|\.(\w+)", w.text)
    name = next((k or a for k, a in reversed(key)), "") if key else w.text if w.text.isidentifier() else ""
    drawn = ("randn", "normal", "uniform", "rand(")

    def prose(node: ast.AST) -> bool:  # a docstring or comment string naming the call is no draw
        return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)

    if name:
        word = re.compile(rf"\b{re.escape(name)}\b")
        lines = find_lines(_files(b), lambda node, src: not prose(node) and any(k in src for k in drawn)
                           and bool(word.search(src)), limit=2)
        if lines:
            return lines
    names = {_attr_name(p.text) for p in b.params if len(p.shape) == 2}
    return find_lines(_files(b), lambda node, src: not prose(node) and any(k in src for k in drawn)
                      and any(n in src for n in names), limit=2)


def _init_scale(b: NumpyBackend, layer: int) -> InitScale | None:
    """How the weights of hidden layer ``layer`` (1-based) were drawn: std, fan-in, where drawn. The scale discovery
    sampled before the first step when it saw them then (``after`` 0: the draw itself), else the one measured when
    watching began (after the updates of discovery: what the steps made of the draw)."""
    weights = [p for p in b.params if len(p.shape) == 2 and not p.bias]
    w = weights[layer - 1] if len(weights) >= layer else None
    if w is None or (w.drawn is None and w.text not in b.norms_first):
        return None
    fan_in = w.shape[1] if b.layout and b.layout[0] == "columns" else w.shape[0]
    if w.drawn is not None:
        return InitScale(w.text, w.drawn, int(fan_in), where_text(_init_lines(b, w), ""), after=0)
    return InitScale(w.text, b.norms_first[w.text] / math.sqrt(np.prod(w.shape)), int(fan_in),
                     where_text(_init_lines(b, w), ""), after=b.norms_first_at)


def _activity(b: NumpyBackend) -> list[LayerActivity]:
    """The hidden layers' activations the program computed, as the activation rules read them (each with the
    starting scale of the weights that feed it)."""
    return [LayerActivity(
        where=f"layer {r['layer']} ({activation_label(r)})", layer=f"hidden layer {r['layer']}", activation=r["activation"],
        guessed=bool(r.get("guessed")),
        units=r["units"], saturation=r.get("saturation"), dead=r.get("dead"),
        window=f"over the last {r['rows']} samples the program computed", framework=Framework.NUMPY, rows=r["rows"],
        saturation_at_start=r.get("at_start"), dead_at_start=r.get("dead_at_start"), init=_init_scale(b, r["layer"]),
        start_after=b.norms_first_at, flow=layer_flow(b, r["layer"])) for r in _layers(b)]


def _saturation(b: NumpyBackend) -> Finding | None:
    return saturated_activations(_activity(b), curve=_curve(b))


def _dead(b: NumpyBackend) -> Finding | None:
    return dead_units(_activity(b))


def _constant_output(b: NumpyBackend) -> Finding | None:
    if not b.out_rows:
        return None
    out = np.concatenate(b.out_rows)
    fwd = sorted(c.co_name for c in b.forward)
    return constant_output(OutputSpread(
        where=", ".join(f"{n}()" for n in fwd) or "output", spread=float(out.std(axis=0).max()),
        scale=float(np.abs(out).mean()), window=f"over the last {len(out)} outputs the program computed",
        framework=Framework.NUMPY, rows=int(len(out)), mean_output=tuple(out.mean(axis=0)[:16].tolist())))


def _predictions(b: NumpyBackend) -> Predictions | None:
    """The last evaluation the program ran over enough inputs, beside the labels of the same rows when it read them."""
    segs = [s for s in b.eval_segments if sum(s["counts"].values()) >= MIN_PREDICTIONS]
    if not segs:
        return None
    seg = segs[-1]
    counts: Counter = seg["counts"]
    total = sum(counts.values())
    labels = b.label_sets.get(id(seg["code"]), {})
    if labels and labels.get("rows") != total and total in labels.get("others", {}):
        # the evaluation ran over another labelled array of the same frame (the test set's labels beside the training
        # set's): the one of as many rows as were evaluated
        other, per_label = labels["others"][total]
        labels = {**labels, "name": other, "counts": per_label, "rows": total}
    known = bool(labels) and labels.get("rows") == total and bool(labels["counts"])
    n = max([b.layout[1][-1] if b.layout else 0, max(counts) + 1] + ([len(labels["counts"])] if known else []))
    fn = seg["code"].co_name
    rets = b.returns.get(seg["code"], [])
    return Predictions(
        where=f"{fn}()", on=f"{total:,} inputs {fn}() evaluated", predicted=tuple(counts.get(k, 0) for k in range(n)),
        framework=Framework.NUMPY,
        labels=tuple(list(labels["counts"]) + [0] * (n - len(labels["counts"]))) if known else None,
        labels_from=f"`{labels['name']}`" if known else "",
        returned=float(rets[-1]) if rets and isinstance(rets[-1], (int, float, np.number)) else None)


def _collapse(b: NumpyBackend) -> Finding | None:
    p = _predictions(b)
    return class_collapse(p) if p is not None else None


# -- sections -----------------------------------------------------------------------
def sections_from(b: NumpyBackend) -> dict[str, Any]:
    """``layers`` (activations the program computed), ``predictions`` (last evaluation), ``observed`` (the network found)."""
    if not b.params:
        return {}
    with _judging(b):
        return _sections(b)


def _sections(b: NumpyBackend) -> dict[str, Any]:
    out: dict[str, Any] = {}
    layers = _layers(b)
    if layers:
        out["layers"] = layers
    segs = [s for s in b.eval_segments if sum(s["counts"].values())]
    if segs and b.layout:
        seg = segs[-1]
        n = b.layout[1][-1]
        out["predictions"] = {"labels": list(range(n)), "counts": [seg["counts"].get(k, 0) for k in range(n)],
                              "on": f"{seg['code'].co_name}()"}
    fits = _fits(b)
    carry = _carry(b)
    out["observed"] = {
        "network": b.root.prefix or "module globals",
        "arrays": [f"{p.text} {list(p.shape)}" for p in b.params],
        "buffers": sorted({p.buffer_text for p in b.params if p.buffer is not None}),
        "style": b.style or "unknown",
        "contributor": f"{b.contributor.co_name}()" if b.contributor is not None else None,
        "forward": sorted(f"{c.co_name}()" for c in b.forward) or None,
        "updates": b.updates,
        "samples": b.target_samples,
        "lr": b.lr,
        "step_per_gradient_over_lr": float(median([f["c"] / b.lr for f in fits])) if fits and b.lr else None,
        "buffer_carry_over": carry["rho"] if carry else None,
        "buffer_writes": ({"added": b.writes.accumulated, "replaced": b.writes.replaced, "unmeasured": b.writes.unmeasured}
                          if b.style == "accumulate" else None),
        "update_over_weight": float(median(_update_ratios(b))) if _update_ratios(b) else None,
        "layer_steps": {p.text: [r, n] for p, r, n in _layer_steps(b)},
        "first_updates_over_weight": [max(r[i] for r in b.discovery_ratios if len(r) > i) for i in range(max(map(len, b.discovery_ratios), default=0))][:5],
        "gradient_over_weight": float(median(_grad_ratios(b))) if _grad_ratios(b) else None,
        "training_accuracy": dataclasses.asdict(curve) if (curve := _curve(b)) is not None else None,
    }
    return out
