"""What a gradient check saw: per-coordinate numbers, per-tensor verdicts, findings.

Plain data, handed to :mod:`netdoctor.rules.backprop` as typed evidence
(``evidence()``), which decides and words the ``gradient-mismatch`` findings
(``findings``, ``TensorCheck.message``). The
tables (``summary()``, the terminal and notebook views) display through
:class:`~netdoctor.display.Renderable`, whose renderers live in
:mod:`netdoctor.report.gradcheck`; this module imports none of them. The
coordinate names come from :func:`~netdoctor.params.format_index`
(re-exported here). The relative error used everywhere is symmetric::

    rel_error(a, n) = |a - n| / max(|a|, |n|, floor)

where ``floor`` is the absolute scale below which a gradient counts as zero
(``atol``), raised to ``noise / rtol`` when the finite difference itself cannot
resolve smaller values (roundoff of the loss divided by the step). Without the
floor a 1e-9 gradient measured with 1e-11 of finite-difference noise would be a
"1% error" and a false alarm.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, ClassVar

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.display import MEDIA, Renderable
from netdoctor.errors import GradientMismatch
from netdoctor.findings import Finding, to_jsonable
from netdoctor.params import format_index
from netdoctor.rules.backprop import (
    CheckedDirection,
    CheckedEntry,
    CheckedTensor,
    GradientComparison,
    gradient_mismatch_in_gradients,
    output_first,
    tensor_sentence,
)

__all__ = ["rel_error", "CoordinateCheck", "TensorCheck", "DirectionCheck", "GradcheckResult", "format_index"]


def rel_error(a: Any, n: Any, floor: Any = 1e-8) -> np.ndarray:
    """Symmetric relative error ``|a - n| / max(|a|, |n|, floor)`` (element-wise)."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)


@dataclass(frozen=True)
class CoordinateCheck(CheckedEntry):
    """One checked entry of one tensor: the rules' :class:`~netdoctor.rules.backprop.CheckedEntry` (index,
    analytic, numeric, symmetric relative error as in the module docstring), and why it was skipped."""

    skipped_reason: str | None = None
    """Why this entry is not judged (a kink within the step), else None."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": list(self.index),
            "analytic": self.analytic,
            "numeric": self.numeric,
            "rel_error": self.rel_error,
            "skipped_reason": self.skipped_reason,
        }


@dataclass
class TensorCheck:
    """The verdict for one parameter tensor."""

    name: str
    shape: tuple[int, ...]
    n_checked: int
    """Entries compared (skipped ones excluded)."""
    n_failed: int
    n_skipped: int
    """Entries not judged because the step crossed a kink."""
    max_rel_error: float
    median_rel_error: float
    worst: list[CoordinateCheck] = field(default_factory=list)
    """Up to five entries with the largest relative error, worst first."""
    skipped: list[CoordinateCheck] = field(default_factory=list)
    """Up to five skipped entries with their reasons."""
    skip_reasons: list[str] = field(default_factory=list)
    """Distinct reasons for the skipped entries."""
    hint: str | None = None
    """What the pattern of errors suggests (constant ratio, transposed, ...)."""
    limit: float = 1e-5
    """The rtol the entries were judged against."""
    problem: str | None = None
    """A failure that is not about values (wrong shape, changing between calls)."""

    @property
    def ok(self) -> bool:
        return self.n_failed == 0 and self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "ok": self.ok,
            "n_checked": self.n_checked,
            "n_failed": self.n_failed,
            "n_skipped": self.n_skipped,
            "max_rel_error": self.max_rel_error,
            "median_rel_error": self.median_rel_error,
            "worst": [c.to_dict() for c in self.worst],
            "skipped": [c.to_dict() for c in self.skipped],
            "skip_reasons": list(self.skip_reasons),
            "hint": self.hint,
            "limit": self.limit,
            "problem": self.problem,
        }

    def evidence(self) -> CheckedTensor:
        """This tensor's record for :mod:`netdoctor.rules.backprop`."""
        return CheckedTensor(
            name=self.name, n_checked=self.n_checked, n_failed=self.n_failed, max_rel_error=self.max_rel_error,
            limit=self.limit, worst=tuple(self.worst),
            hint=self.hint, problem=self.problem)

    def message(self) -> str:
        """One sentence: ``gradient of W1 disagrees at 3 of 784 entries (0.4%); worst ...`` (the rule's wording)."""
        return tensor_sentence(self.evidence())


@dataclass(frozen=True)
class DirectionCheck:
    """A directional derivative: ``dot(analytic, u)`` against ``(L(x+eps u) - L(x-eps u)) / 2 eps``."""

    seed: int
    scope: str
    """``"model"`` (all tensors at once) or a tensor name."""
    analytic: float
    numeric: float
    rel_error: float
    ok: bool
    """True when the two agree, or when the direction is skipped (never judged)."""
    skipped: str | None = None
    """Why this direction is not judged (the line crosses a kink), else None."""

    def to_dict(self) -> dict[str, Any]:
        return dict(seed=self.seed, scope=self.scope, analytic=self.analytic, numeric=self.numeric,
                    rel_error=self.rel_error, ok=self.ok, skipped=self.skipped)

    def line(self) -> str:
        """``direction model seed 0: analytic ... numeric ... rel_error ... ok|FAIL|skipped: why``."""
        mark = f"skipped: {self.skipped}" if self.skipped else "ok" if self.ok else "FAIL"
        return (f"direction {self.scope} seed {self.seed}: analytic {self.analytic:.4e} numeric "
                f"{self.numeric:.4e} rel_error {self.rel_error:.1e} {mark}")


@dataclass
class GradcheckResult(Renderable):
    """Outcome of :func:`netdoctor.gradients.gradcheck` or ``check_gradients``."""

    render_kind: ClassVar[str] = "gradcheck"

    method: str
    """The method actually used: ``central``, ``complex`` or ``directional``."""
    tensors: list[TensorCheck] = field(default_factory=list)
    directions: list[DirectionCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Plain sentences: what was chosen and why (fallbacks, float32, sampling)."""
    rtol: float = 1e-5
    atol: float = 1e-8
    h: float = 1e-5
    context: dict[str, Any] = field(default_factory=dict)

    # -- verdict -----------------------------------------------------------
    @property
    def ok(self) -> bool:
        """True when every tensor and every direction agrees."""
        return all(t.ok for t in self.tensors) and all(d.ok for d in self.directions)

    @property
    def failed(self) -> list[TensorCheck]:
        return [t for t in self.tensors if not t.ok]

    @property
    def n_checked(self) -> int:
        """Entries compared over all tensors."""
        return int(sum(t.n_checked for t in self.tensors))

    @property
    def worst_rel_error(self) -> float:
        """Largest relative error over all checked entries and judged directions (0.0 when none)."""
        vals = [t.max_rel_error for t in self.tensors] + [d.rel_error for d in self.directions if d.skipped is None]
        return float(max(vals)) if vals else 0.0

    # -- findings ------------------------------------------------------------
    def evidence(self) -> GradientComparison:
        """The comparison as the record that :func:`netdoctor.rules.backprop.gradient_mismatch_in_gradients` judges."""
        return GradientComparison(
            method=self.method, h=self.h, rtol=self.rtol, tensors=tuple(t.evidence() for t in self.tensors),
            directions=tuple(CheckedDirection(d.seed, d.scope, d.analytic, d.numeric, d.rel_error, d.ok, d.skipped)
                             for d in self.directions))

    @property
    def findings(self) -> list[Finding]:
        """One ``gradient-mismatch`` error per failing tensor (and per failing direction not localised)."""
        return gradient_mismatch_in_gradients(self.evidence())

    def failing_order(self) -> list[str]:
        """Failing tensor names, output layer first (by trailing layer number, else reverse order)."""
        return output_first([t.name for t in self.tensors], [t.name for t in self.failed])

    # -- export / display ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return to_jsonable(
            {
                "ok": self.ok,
                "method": self.method,
                "rtol": self.rtol,
                "atol": self.atol,
                "h": self.h,
                "n_checked": self.n_checked,
                "worst_rel_error": self.worst_rel_error,
                "notes": list(self.notes),
                "tensors": [t.to_dict() for t in self.tensors],
                "directions": [d.to_dict() for d in self.directions],
                "findings": [f.to_dict() for f in self.findings],
                "context": self.context,
            }
        )

    def raise_for_failures(self) -> None:
        """Raise :class:`GradientMismatch` (an ``AssertionError``) naming every failing tensor."""
        if self.ok:
            return
        msgs = [f.message for f in self.findings]
        raise GradientMismatch("\n".join(msgs) + "\n\n" + self.summary())

    def summary(self) -> str:
        """Multi-line plain text: verdict, then per tensor a compact table of its worst entries and the hint."""
        return MEDIA.get("summary")(self)

    def __str__(self) -> str:
        return self.summary()
