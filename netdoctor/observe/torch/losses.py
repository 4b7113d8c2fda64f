"""What reaches the program's losses: :class:`LossWatch`, one part of :class:`~netdoctor.observe.torch.watch.TorchWatch`.

``torch.nn.functional``'s losses (the loss modules call them) are wrapped:
every call checks the loss is finite (and if not, locates the first module
whose output was not); on sampled steps the values and targets reaching the
loss are summarised (predictions and targets per class, probabilities or
log-probabilities, the spread of the outputs, shape mismatches), the loss
value is kept, and one-shot hooks measure the gradient scale at the loss
input and whether the loss's backward pass ran before ``optimizer.step()``.
The records are the ones named in :class:`LossWatch`; the watch shares its
step bookkeeping (``sample_now``, ``steps``, the forward pass's outputs).
"""

from __future__ import annotations

import functools
import math
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netdoctor.observe.torch import tree
from netdoctor.observe.torch.counts import StepLosses, class_targets

if TYPE_CHECKING:
    from netdoctor.observe.torch.watch import TorchWatch

__all__ = ["LossWatch", "LOSSES", "ROW_TOLERANCE", "HAND_TRIES", "HAND_NODES", "hand_targets", "producer", "row_tolerances", "bounded_append", "model_of"]

LOSSES = ("cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss")
"""``torch.nn.functional`` losses that are wrapped."""

_VIEWS = ("View", "Reshape", "Unsqueeze", "Squeeze", "Clone", "Expand", "Permute", "Transpose", "Contiguous", "Alias", "ToCopy")


def producer(fn: Any) -> str | None:
    """Name of the autograd op that computed a tensor, looking through reshapes (sigmoid, then .squeeze(1))."""
    for _ in range(8):
        if fn is None:
            return None
        name = type(fn).__name__
        if not name.startswith(_VIEWS) or not fn.next_functions:
            return name
        fn = fn.next_functions[0][0]
    return None


def log_softmax_of_softmax(fn: Any) -> bool:
    """Whether the autograd node ``fn`` (a loss input's ``grad_fn``) is a ``log_softmax`` taken of a softmax's output,
    looking through reshapes on both sides: ``F.nll_loss(F.log_softmax(out))`` on a model whose forward ends in
    ``nn.Softmax`` (``SoftmaxBackward0`` under ``LogSoftmaxBackward0``). ``torch.log`` of a softmax is no such node:
    that is the right log-likelihood of probabilities."""
    if producer(fn) != "LogSoftmaxBackward0":
        return False
    for _ in range(8):  # the log_softmax node itself, past the reshapes producer() looked through
        if type(fn).__name__ == "LogSoftmaxBackward0":
            break
        fn = fn.next_functions[0][0]
    inner = fn.next_functions[0][0] if fn.next_functions else None
    return producer(inner) == "SoftmaxBackward0"


ROW_TOLERANCE = 1e-3
"""How far from 1 a float32 row of probabilities may sum (and its log-probabilities' logsumexp from 0)."""


def row_tolerances(torch: Any, dtype: Any) -> tuple[float, float]:
    """(sum, logsumexp) tolerances of probability and log-probability rows held in ``dtype``.

    A softmax row rounded to a dtype of machine epsilon ``eps`` sums to ``1 +- eps / 2`` at most (each entry is off by
    ``p_i * eps / 2``); measured on rows of 2 to 1,000 classes in bfloat16 and float16, the sum stays within
    ``0.4 eps`` and the logsumexp of rounded log-probabilities within ``2.4 eps`` (large negative log-probabilities
    carry large absolute errors, weighted by small probabilities). So the limits are ``eps`` and ``4 eps``, never
    below :data:`ROW_TOLERANCE`: under bfloat16 autocast (``eps = 2**-7``) a softmax's rows sum to 1 only within 0.008.
    """
    eps = float(torch.finfo(dtype).eps) if dtype.is_floating_point else 0.0
    return max(ROW_TOLERANCE, eps), max(ROW_TOLERANCE, 4 * eps)


HAND_TRIES = 8
"""Backward passes whose graph is searched for class targets before a program with none is no longer searched."""
HAND_NODES = 32
"""Autograd nodes visited at most per search (a loss written by hand is a few nodes above the model's output)."""


def hand_targets(torch: Any, root: Any, out: Any) -> tuple[Any, str] | None:
    """The class targets (N,) of a loss written by hand, read from its autograd graph between the loss (node ``root``)
    and the model's output ``out`` (N, C), and how they were read; None when the graph shows none.

    Two ways of writing the loss of log-probabilities (or scores) ``s`` against labels ``y`` are read, from the
    tensors autograd saved for the backward pass (only read: nothing is run):

    * integer labels indexing them: ``s[torch.arange(N), y]`` (``IndexBackward0``, its saved indices end in a long
      vector of N entries in ``[0, C)``) or ``s.gather(1, y[:, None])`` (``GatherBackward0``, dim 1);
    * one-hot rows multiplied into them: ``(onehot * s).sum(1)`` (``MulBackward0``, one factor an (N, C) float
      tensor without gradient whose rows are non-negative and sum to 1: its most likely class).

    The search visits at most :data:`HAND_NODES` nodes breadth-first and does not go past ``out``'s node.
    """
    if out.dim() != 2 or int(out.shape[1]) < 2:
        return None
    n, c = int(out.shape[0]), int(out.shape[1])
    stop = out.grad_fn
    queue, seen = [root], {id(root)}
    for node in queue:
        if len(queue) > HAND_NODES:
            break
        if node is stop:
            continue
        found = _saved_targets(torch, node, n, c)
        if found is not None:
            return found
        for nxt, _ in node.next_functions:
            if nxt is not None and id(nxt) not in seen:
                seen.add(id(nxt))
                queue.append(nxt)
    return None


def _labels_of(torch: Any, t: Any, n: int, c: int) -> Any:
    """``t`` as N class indices in ``[0, C)`` (None when it is not)."""
    if not issubclass(type(t), torch.Tensor) or t.dtype not in (torch.long, torch.int32) or t.numel() != n:
        return None
    t = t.detach().reshape(-1).long()
    return t if n and int(t.min()) >= 0 and int(t.max()) < c else None


def _saved_targets(torch: Any, node: Any, n: int, c: int) -> tuple[Any, str] | None:
    """The class targets one autograd node saved (see :func:`hand_targets`)."""
    name = type(node).__name__
    try:
        if name == "IndexBackward0":
            if tuple(node._saved_self_sym_sizes) != (n, c):
                return None
            idx = [t for t in node._saved_indices if t is not None]
            t = _labels_of(torch, idx[-1], n, c) if len(idx) == 2 else None
            return (t, "integer labels indexing the scores") if t is not None else None
        if name == "GatherBackward0":
            if node._saved_dim not in (1, -1) or tuple(node._saved_self.shape) != (n, c):
                return None
            t = _labels_of(torch, node._saved_index, n, c)
            return (t, "integer labels gathering the scores") if t is not None else None
        if name == "MulBackward0":
            for t in (node._saved_other, node._saved_self):
                if (issubclass(type(t), torch.Tensor) and not t.requires_grad and t.dim() == 2 and tuple(t.shape) == (n, c)
                        and t.dtype.is_floating_point):
                    td = t.detach()
                    if bool(((td.sum(1) - 1).abs() < ROW_TOLERANCE).all() & (td >= 0).all()):
                        return td.argmax(1), "one-hot rows multiplied into the scores"
    except (AttributeError, RuntimeError):  # a saved tensor freed (retain_graph), or a node of another shape
        return None
    return None


def bounded_append(seq: list, item: Any, limit: int = 64) -> None:
    """Append, keeping the first item and thinning the rest to every second when ``limit`` is exceeded."""
    seq.append(item)
    if len(seq) > limit:
        del seq[1::2]


def _may_warn(name: str, torch: Any, args: tuple, kwargs: dict) -> bool:
    """Whether a loss call can warn: the legacy size_average / reduce arguments, or mse_loss with input and target of different sizes."""
    if "size_average" in kwargs or "reduce" in kwargs:
        return True
    if name != "mse_loss":
        return False  # the others raise on a size mismatch (or, for class indices, expect one)
    x = args[0] if args else kwargs.get("input")
    t = args[1] if len(args) > 1 else kwargs.get("target")
    return x is not None and t is not None and issubclass(type(x), torch.Tensor) and issubclass(type(t), torch.Tensor) and x.shape != t.shape


def model_of(w: TorchWatch, x: Any) -> int | None:
    """id of the model whose forward pass produced the loss input ``x`` (the model called last in this pass when ``x``
    is computed after it, ``F.softmax(model(xb))``); None without a module (plain tensors)."""
    mods, last = w.models.mods, None
    for module, out in reversed(w.forward.outputs):
        info = mods.get(id(module))
        if out is x:
            return id(module) if info is not None and info.has_params and not info.parent else w.models.root_of(module)
        if last is None and info is not None and info.has_params and not info.parent:
            last = id(module)
    return last


class LossWatch:
    """The loss wrappers and their records.

    Long because one wrapper call feeds every record a loss gives (finiteness, the step's loss, the counters, the
    sampled checks and the one-shot gradient hooks), each declared with its docstring in the constructor.

    Args:
        watch: the :class:`~netdoctor.observe.torch.watch.TorchWatch` it belongs to (its step bookkeeping, names and sites).
    """

    def __init__(self, watch: TorchWatch) -> None:
        self.w = watch
        self.window: dict[str, Any] = {}
        """Sums of the current statistics window (tensors until it closes), with ``KEY_n`` counts."""
        self.loss_calls: dict[tuple[str, str | None], dict] = {}
        """(loss function, user line) -> calls, reductions, autograd producers, probability checks, rows, classes."""
        self.loss_values: list[tuple[int, float]] = []
        """(optimizer step, loss) of sampled steps, bounded (the step the loss is computed for: :meth:`TorchWatch.loss_step`)."""
        self.curve = StepLosses()
        """Every step's loss (scalar losses with gradients on), read where the finiteness check reads it."""
        self.target_counts: Any = None
        self.target_rows = 0
        self.batch_classes: list[tuple[int | None, int, Any]] = []
        """(model, rows, classes present) of each sampled training batch of a classification loss, bounded (the classes
        a tensor until the rules read them: no host read per step)."""
        self.grad_scale: list[tuple[str, float, int]] = []
        """(loss, gradient at its input / that of the mean-reduced loss, rows)."""
        self.shape_mismatch: list[dict] = []
        self.nonfinite: dict | None = None
        """The first non-finite loss: step, loss, the first module with a non-finite output, non-finite parameters."""
        self.pending = False
        """The latest sampled loss has not reached backward() yet."""
        self.backward_fn: Any = None
        """The autograd node of the latest sampled loss that went through backward() (its graph, whose saved tensors
        backward() has freed, names the tensors that the backward pass reached)."""
        self.counted_step: int | None = None
        """The latest optimizer step whose class targets a wrapped loss counted (a backward pass for it reads none from
        the graph)."""
        self.hand_read = 0
        """Backward passes of a hand-written loss whose class targets were read from its autograd graph."""
        self.hand_missed = 0
        """Backward passes of a scalar no wrapped classification loss gave, whose graph showed no class targets."""
        self.hand_site: str | None = None
        """The user's line of the first backward pass of a hand-written loss (read or not)."""
        self.hand_how = ""
        """How the class targets of the hand-written loss were read (``integer labels indexing the scores``), or the
        autograd node the loss ends in when none were found."""

    def wrap(self, name: str, orig: Callable) -> Callable:
        """``torch.nn.functional.NAME`` that also records what reaches it."""
        torch = self.w.torch

        @functools.wraps(orig)
        def loss(*args: Any, **kwargs: Any) -> Any:
            if self.w.compiling():
                return orig(*args, **kwargs)  # traced by torch.compile: nothing of ours in its graph
            if _may_warn(name, torch, args, kwargs):
                # PyTorch warns at its caller's line (stacklevel=2): make that the program's line, not this wrapper's.
                out = self.w.call_as.call(sys._getframe(1), orig, args, kwargs)
            else:
                out = orig(*args, **kwargs)
            if not self.w.busy:
                try:
                    self._on_loss(name, args, kwargs, out)
                except Exception as exc:  # noqa: BLE001
                    self.w.note_failure(f"{name} wrapper", exc)
            return out

        return loss

    def _on_loss(self, name: str, args: tuple, kwargs: dict, out: Any) -> None:
        torch = self.w.torch
        x = args[0] if args else kwargs.get("input")
        t = args[1] if len(args) > 1 else kwargs.get("target")
        if x is None or not issubclass(type(x), torch.Tensor) or not issubclass(type(out), torch.Tensor):
            return
        grad_on = torch.is_grad_enabled()
        step = self.w.loss_step()
        # A closure (L-BFGS) evaluates the loss again at the weights each inner iteration reaches, on the same batch:
        # only its first evaluation, at the weights the step starts from, is the step's loss and predictions (the later
        # ones have been fitted to this very batch: shuffled labels look learnt).
        counted = grad_on and self.w.first_loss_of_step()
        # Every call: is the loss finite? (one host read of a scalar, which is also the step's loss)
        if self.nonfinite is None:
            od = out.detach()
            if od.numel() == 1:
                v = od.item()
                if not math.isfinite(v):
                    self._locate_nonfinite(name, x, t, out)
                elif counted:
                    self.curve.add(step, v)
            elif not bool(torch.isfinite(od).all()):
                self._locate_nonfinite(name, x, t, out)
        if counted and (name in ("cross_entropy", "nll_loss") or name == "mse_loss" and self._class_rows(x, t)):
            self._count(x, t, step)
        if not (self.w.sample_now and grad_on):
            self.w.forward.outputs.clear()
            return
        t0 = time.perf_counter()
        site = self.w.sites.site()
        reduction = kwargs.get("reduction", "mean")
        rec = self.loss_calls.setdefault((name, site), {"calls": 0, "probs": 0, "logprobs": 0, "sigmoid": 0, "checked": 0, "softmax_logs": 0,
                                                        "grad_fns": {}, "reductions": {}, "rows": 0, "roots": {},
                                                        "first_step": step})
        rec["calls"] += 1
        rec["last_step"] = step
        root = model_of(self.w, x)
        if root is not None:
            rec["roots"][root] = rec["roots"].get(root, 0) + 1
        rec["reductions"][reduction] = rec["reductions"].get(reduction, 0) + 1
        gf = producer(x.grad_fn)
        if gf:
            rec["grad_fns"][gf] = rec["grad_fns"].get(gf, 0) + 1
        key = self.w.forward.seen_key(x)
        if key is not None:
            self.w.forward.output_keys.add(key)
        xs = x.detach()
        if name in ("cross_entropy", "nll_loss") and xs.dim() >= 1:
            self._classification(name, rec, xs, t, kwargs, root, log_softmax_of_softmax(x.grad_fn))
        elif name in ("binary_cross_entropy_with_logits", "binary_cross_entropy"):
            self._binary(name, rec, xs, t)
        elif name == "mse_loss" and issubclass(type(t), torch.Tensor):
            self._regression(rec, xs, t, site)
        self._record_loss_value(out, step)
        self._arm_loss_backward(out)
        if x.requires_grad and issubclass(type(t), torch.Tensor) and reduction != "none":
            self._arm_grad_scale(name, x, t, kwargs)
        self.w.forward.outputs.clear()
        self.w.iter_cost += time.perf_counter() - t0

    def before_backward(self, roots: list[Any]) -> None:
        """A backward pass starts from ``roots``: when no wrapped classification loss counted this step's class targets,
        read them from the graph of a hand-written loss (:func:`hand_targets`) and count them with the judged model's
        output, as a wrapped loss's are. A program whose graph shows none for :data:`HAND_TRIES` backward passes is
        no longer read (a regression, a loss of its own kind: what the report then says is in :meth:`unread`)."""
        w = self.w
        if len(roots) != 1 or roots[0].grad_fn is None or roots[0].numel() != 1 or not w.torch.is_grad_enabled():
            return
        step = w.loss_step()
        if w.stepping or self.counted_step == step or (self.hand_missed >= HAND_TRIES and not self.hand_read):
            return
        out = w.forward.last_output()
        found = hand_targets(w.torch, roots[0].grad_fn, out) if out is not None else None
        if self.hand_site is None:
            self.hand_site = w.sites.site()
        if found is None:
            self.hand_missed += 1
            if not self.hand_read:
                self.hand_how = producer(roots[0].grad_fn) or type(roots[0].grad_fn).__name__
            return
        t, how = found
        self.hand_read += 1
        self.hand_how = how
        w.counts.add(out, t, step)
        if not w.first_seen.done:
            w.first_seen.add(out, t, step)

    def unread(self) -> str:
        """Why ``no-learning`` could not be judged in a run trained on a hand-written loss whose class targets were
        never found ("" when they were, or when a wrapped loss gave the targets)."""
        if self.hand_read or not self.hand_missed or self.w.counts.segments or self.w.counts.classes:
            return ""
        if any(rec.get("classes") for rec in self.loss_calls.values()):
            return ""
        return (f"the loss is computed by the program's own code (backward() at {self.hand_site}, from "
                f"{self.hand_how}) and no class targets were found beside the model's output in its graph (no integer "
                "labels indexing the scores, no one-hot rows multiplied into them), so whether the network learns "
                "(no-learning) was not judged")

    def _class_rows(self, x: Any, t: Any) -> bool:
        """Whether ``mse_loss``'s target ``t`` is rows of class probabilities for scores ``x`` (N, C): a classifier
        trained by squared error against one-hot rows (non-negative rows summing to 1; an autoencoder's or a
        regression's targets are not), whose class targets are then counted as cross-entropy's are."""
        torch = self.w.torch
        if not (issubclass(type(t), torch.Tensor) and t.dim() == 2 and t.shape == x.shape and t.dtype.is_floating_point
                and int(t.shape[1]) >= 2 and int(t.shape[0]) >= 1):
            return False
        with torch.no_grad():
            td = t.detach()
            return bool(((td.sum(1) - 1).abs() < ROW_TOLERANCE).all() & (td >= 0).all())

    def _count(self, x: Any, t: Any, step: int) -> None:
        """Every training step's class targets: the light counters (:mod:`netdoctor.observe.torch.counts`) and, while the
        first pass lasts, the rows seen for the first time and seen before (:mod:`netdoctor.observe.torch.first_seen`)."""
        self.w.counts.add(x, t, step)
        self.counted_step = step
        if self.w.first_seen.done or x.dim() != 2:
            return
        idx = class_targets(self.w.torch, x, t)
        if idx is not None:
            self.w.first_seen.add(x, idx, step)

    def _arm_loss_backward(self, out: Any) -> None:
        """Note when this loss's backward pass runs (a step() before it applies no gradient of this loss)."""
        if not out.requires_grad:
            return
        self.pending = True
        fn = out.grad_fn

        def done(_g: Any) -> None:
            self.pending = False
            self.backward_fn = fn

        out.register_hook(done)

    def _record_loss_value(self, out: Any, step: int) -> None:
        v = float(out.detach().float().mean())
        bounded_append(self.loss_values, (step, v), limit=256)
        self._window_add("loss", v)

    def _window_add(self, key: str, value: Any) -> None:
        self.window.setdefault(key, []).append(value)

    def _classification(self, name: str, rec: dict, x: Any, t: Any, kwargs: dict, root: int | None = None,
                        of_softmax: bool = False) -> None:
        """The sampled batch of a classification loss: what its values are (probabilities, log-probabilities: the
        checks of ``double-softmax``; ``of_softmax``: the graph shows a log_softmax of a softmax's output), its
        predictions and targets."""
        torch = self.w.torch
        if x.dim() == 1:
            x = x[None]
            t = t[None] if issubclass(type(t), torch.Tensor) and t.dim() == 0 else t
        C = int(x.shape[1])
        if x.dim() > 2:
            x = x.movedim(1, -1).reshape(-1, C)
        xf = x.float()
        rows = int(xf.shape[0])
        if rows < 1 or C < 2:
            return
        checks: list[bool] = []
        if name in ("cross_entropy", "nll_loss"):  # (nll_loss: what it is handed must be log-probabilities)
            sum_tol, lse_tol = row_tolerances(torch, x.dtype)
            # The smallest and the largest entry first (one kernel, one host read): scores have entries below 0 and
            # above 0, which no probability and no log-probability has, and their rows are not summed at all. A NaN
            # makes both NaN, and every comparison with it false, as ``all()`` of the entries' comparisons is.
            low, high = torch.stack(torch.aminmax(xf)).tolist()
            probs = low >= -1e-6 and high <= 1 + 1e-6 and bool(((xf.sum(1) - 1).abs() < sum_tol).all())
            # log(sum(exp)) without logsumexp's shift: rows of log-probabilities (all <= 0, the first condition) cannot
            # overflow, and rows that do (scores) fail the first condition anyway; a third of logsumexp's cost
            logprobs = high <= 1e-6 and bool((xf.exp().sum(1).log().abs() < lse_tol).all())
            checks = [probs, logprobs]
        pred = xf.argmax(1)
        tc = None
        if issubclass(type(t), torch.Tensor):
            if t.dtype.is_floating_point and t.dim() == x.dim() or (t.dtype.is_floating_point and t.dim() >= 2):
                tt = t.detach().reshape(-1, C).argmax(1) if t.numel() == xf.numel() else None
            else:
                tt = t.detach().reshape(-1).long()
            if tt is not None and tt.numel() == rows:
                valid = (tt >= 0) & (tt < C)
                tc = torch.bincount(tt[valid], minlength=C)[:C]
                correct = ((pred == tt) & valid).sum()
                self._window_tensor("correct", correct)
                self._window_tensor("valid", valid.sum())
                self.target_counts = tc if self.target_counts is None or self.target_counts.numel() != C else self.target_counts + tc
                self.target_rows += rows
                bounded_append(self.batch_classes, (root, rows, (tc > 0).sum()))
        self._window_tensor("pred_counts", torch.bincount(pred, minlength=C)[:C])
        if tc is not None:
            self._window_tensor("target_counts", tc)
        if rows >= 2:
            self._window_tensor("spread", xf.std(0).mean())
            self._window_tensor("scale", xf.abs().mean())
        if checks or name == "nll_loss":
            p, lp = checks if checks else (False, False)
            rec["checked"] += 1
            rec["probs"] += int(p)
            rec["logprobs"] += int(lp)
            rec["softmax_logs"] += int(of_softmax)
        rec["rows"] += rows
        rec["classes"] = C

    def _binary(self, name: str, rec: dict, x: Any, t: Any) -> None:
        torch = self.w.torch
        xf = x.float()
        threshold = 0.5
        if name == "binary_cross_entropy_with_logits":
            in01 = bool(((xf >= 0) & (xf <= 1)).all()) and xf.numel() >= 8
            rec["checked"] += 1
            rec["sigmoid"] += int(in01)
            # Probabilities passed as logits: the program means them as probabilities, so predict with 0.5.
            threshold = 0.5 if in01 else 0.0
        rows = int(xf.shape[0]) if xf.dim() else 1
        rec["rows"] += rows
        pred = (xf > threshold).long().reshape(-1)
        self._window_tensor("pred_counts", torch.bincount(pred, minlength=2)[:2])
        if issubclass(type(t), torch.Tensor) and t.numel() == xf.numel():
            tt = (t.detach().reshape(-1) > 0.5).long()
            tc = torch.bincount(tt, minlength=2)[:2]
            self._window_tensor("target_counts", tc)
            self._window_tensor("correct", (pred == tt).sum())
            self._window_tensor("valid", torch.tensor(tt.numel()))
            self.target_counts = tc if self.target_counts is None or self.target_counts.numel() != 2 else self.target_counts + tc
            self.target_rows += rows
        if rows >= 2 and xf.dim() >= 1:
            self._window_tensor("spread", xf.reshape(rows, -1).std(0).mean())
            self._window_tensor("scale", xf.abs().mean())
        rec["classes"] = 2

    def _regression(self, rec: dict, x: Any, t: Any, site: str | None) -> None:
        torch = self.w.torch
        if x.shape != t.shape:
            try:
                bshape = torch.broadcast_shapes(x.shape, t.shape)
            except RuntimeError:
                bshape = None
            if bshape is not None and len(self.shape_mismatch) < 5:
                self.shape_mismatch.append({"input": list(x.shape), "target": list(t.shape), "broadcast": list(bshape), "site": site})
        xf = x.float()
        rows = int(xf.shape[0]) if xf.dim() else 1
        rec["rows"] += rows
        if xf.dim() == 2 and x.shape == t.shape and xf.shape[1] >= 2:
            C = int(xf.shape[1])
            tt = t.detach().float().argmax(1)
            tc = torch.bincount(tt, minlength=C)[:C]
            pred = xf.argmax(1)
            self._window_tensor("pred_counts", torch.bincount(pred, minlength=C)[:C])
            self._window_tensor("target_counts", tc)
            self._window_tensor("correct", (pred == tt).sum())
            self._window_tensor("valid", torch.tensor(rows))
            self.target_counts = tc if self.target_counts is None or self.target_counts.numel() != C else self.target_counts + tc
            self.target_rows += rows
            rec["classes"] = C
        if rows >= 2:
            self._window_tensor("spread", xf.reshape(rows, -1).std(0).mean())
            self._window_tensor("scale", xf.abs().mean())

    def _window_tensor(self, key: str, value: Any) -> None:
        cur = self.window.get(key)
        if cur is None or (hasattr(cur, "shape") and hasattr(value, "shape") and cur.shape != value.shape):
            self.window[key] = value.detach().clone() if hasattr(value, "detach") else value
            self.window[key + "_n"] = 1
        else:
            self.window[key] = cur + value
            self.window[key + "_n"] = self.window.get(key + "_n", 0) + 1

    def _arm_grad_scale(self, name: str, x: Any, t: Any, kwargs: dict) -> None:
        """One-shot hook on the loss input: gradient arriving there / gradient of the mean-reduced loss."""
        if kwargs.get("weight") is not None or kwargs.get("label_smoothing") or kwargs.get("pos_weight") is not None:
            return
        torch = self.w.torch
        xs, ts = x.detach(), t.detach()

        def hook(g: Any) -> None:
            if self.w.busy:
                return
            try:
                gf = g.detach().float()
                xf = xs.float()
                if name in ("cross_entropy", "nll_loss"):
                    if xf.dim() != 2:
                        return
                    if ts.dtype.is_floating_point:
                        # class probabilities (one-hot, smoothed): cross_entropy's gradient is softmax(x) - t as well
                        if name != "cross_entropy" or ts.shape != xf.shape:
                            return
                        target = ts.float()
                    elif (ts < 0).any():
                        return
                    else:
                        target = torch.zeros_like(xf).scatter_(1, ts.reshape(-1, 1).long(), 1.0)
                    d = (torch.softmax(xf, 1) - target) if name == "cross_entropy" else -target
                    n_mean = xf.shape[0]
                elif name == "binary_cross_entropy_with_logits":
                    d, n_mean = torch.sigmoid(xf) - ts.float().reshape(xf.shape), xf.numel()
                elif name == "mse_loss" and ts.shape == xf.shape:
                    d, n_mean = 2 * (xf - ts.float()), xf.numel()
                else:
                    return
                factor = float(torch.dot(gf.reshape(-1), d.reshape(-1)) / torch.dot(d.reshape(-1), d.reshape(-1)).clamp_min(1e-30))
                if len(self.grad_scale) < 64:
                    self.grad_scale.append((name, factor * n_mean, int(xf.shape[0])))
            except Exception as exc:  # noqa: BLE001
                self.w.note_failure("loss-input hook", exc)

        x.register_hook(hook)

    def _locate_nonfinite(self, name: str, x: Any, t: Any, out: Any) -> None:
        """The first module (in completion order) of this forward pass whose output is non-finite."""
        torch = self.w.torch
        pnames, mnames = self.w.models.names()
        first = None
        for module, o in list(self.w.forward.outputs):
            try:
                if not bool(torch.isfinite(o.detach()).all()):
                    first = module
                    break
            except Exception:  # noqa: BLE001 - non-float outputs
                continue
        rec: dict[str, Any] = {"step": self.w.loss_step(), "loss_fn": name, "loss": float(out.detach().float().mean()),
                               "site": self.w.sites.site(), "last_finite_loss": next((v for _, v in reversed(self.loss_values) if math.isfinite(v)), None)}
        if first is not None:
            bad = [pnames.get(id(p), n) for n, p in tree.named_parameters(first) if not bool(torch.isfinite(p.detach()).all())]
            info = self.w.models.mods.get(id(first))
            rec.update({"module": mnames.get(id(first)) or type(first).__name__, "module_type": type(first).__name__,
                        "module_site": info.site if info else None, "nonfinite_params": bad})
        else:
            rec["module"] = None
            rec["input_nonfinite"] = not bool(torch.isfinite(x.detach()).all())
        if issubclass(type(t), torch.Tensor) and t.dtype.is_floating_point:
            rec["target_nonfinite"] = not bool(torch.isfinite(t.detach()).all())
        # Parameters already non-finite anywhere: then an earlier update, not this forward pass, broke them.
        bad_params = []
        for _info, m in self.w.models.roots():
            for n, p in tree.named_parameters(m):
                if not bool(torch.isfinite(p.detach()).all()):
                    bad_params.append(pnames.get(id(p), n))
        rec["nonfinite_params_all"] = bad_params
        self.nonfinite = rec
