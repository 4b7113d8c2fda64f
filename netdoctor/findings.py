"""Findings and the report that orders them: plain data, no printing.

A check returns :class:`Finding` objects; :class:`Report` holds them, root
causes first, together with the context they were measured in. Both display
through :class:`~netdoctor.display.Renderable` (rich's ``__rich__`` and
Jupyter's ``_repr_mimebundle_``) and the renderers installed there; this
module imports none of :mod:`netdoctor.report`.
"""

from __future__ import annotations

import enum
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any, ClassVar

from netdoctor._lazy import dataclass
from netdoctor.display import MEDIA, Renderable

if TYPE_CHECKING:
    from netdoctor.diagnosis.sections import ReportSections

__all__ = ["Severity", "Finding", "Report", "to_jsonable"]

SCHEMA_VERSION = 1


class Severity(str, enum.Enum):
    """How bad a finding is. ``error`` makes the CLI exit with code 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for error, 1 for warning, 2 for info (sorts worst first)."""
        return ("error", "warning", "info").index(self.value)


@dataclass(frozen=True)
class Finding(Renderable):
    """One thing netdoctor saw, with the numbers behind it and what to do."""

    render_kind: ClassVar[str] = "finding"

    code: str
    """Stable identifier, e.g. ``gradient-mismatch``; users grep and silence it."""
    severity: Severity
    """error, warning or info."""
    where: str
    """The place: a tensor coordinate ``"W1[12, 3]"``, a layer, an attribute path."""
    message: str
    """One sentence in plain words: what is wrong."""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """The numbers seen (analytic, numeric, rel_error, limit, ...)."""
    fix: str = ""
    """What to change."""
    caused_by: tuple[str, ...] = ()
    """Codes of the findings that explain this one (root causes)."""
    explanation: str = ""
    """Why it matters: the mechanism, in a few plain sentences (optional)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "caused_by", tuple(self.caused_by))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (numpy scalars and arrays become plain numbers and lists)."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "where": self.where,
            "message": self.message,
            "evidence": to_jsonable(dict(self.evidence)),
            "fix": self.fix,
            "caused_by": list(self.caused_by),
            "explanation": self.explanation,
        }


def to_jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays, tuples, enums and non-finite floats into JSON values.

    NaN and infinities become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so the
    output stays strict JSON.
    """
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    np = sys.modules.get("numpy")  # not imported here: `netdoctor run` on a script without NumPy never loads it
    if np is not None and isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if np is not None and isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, complex):
        return {"real": to_jsonable(value.real), "imag": to_jsonable(value.imag)}
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    return value


def _explaining_errors(findings: Sequence[Finding]) -> set[str]:
    """The codes of the present findings that an error finding traces back to through ``caused_by``, transitively."""
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    explains: set[str] = set()
    todo = [c for f in findings if f.severity is Severity.ERROR for c in f.caused_by]
    while todo:
        code = todo.pop()
        if code in explains or code not in by_code:
            continue
        explains.add(code)
        todo.extend(c for f in by_code[code] for c in f.caused_by)
    return explains


def _causal_order(findings: list[Finding]) -> list[Finding]:
    """Root causes first: a finding comes after every present finding it is caused by.

    Ties keep severity order (error, warning, info), then, among warnings and notes, one that an error traces
    back to (through ``caused_by``) before one that explains no error, so that a warning named as the root cause
    is listed first; then the order found. Cycles, should a rule table ever create one, are broken by that same order.
    """
    present = {f.code for f in findings}
    explains = _explaining_errors(findings)
    base = sorted(range(len(findings)), key=lambda i: (findings[i].severity.rank,
                                                       findings[i].severity is not Severity.ERROR and findings[i].code not in explains, i))
    placed: list[Finding] = []
    placed_codes: set[str] = set()
    remaining = [findings[i] for i in base]
    while remaining:
        for k, f in enumerate(remaining):  # noqa: B007 - k is read after the loop
            waiting = [c for c in f.caused_by if c in present and c not in placed_codes and c != f.code]
            if not waiting:
                break
        else:  # cycle: take the first by severity
            k = 0
        f = remaining.pop(k)
        placed.append(f)
        # A code is placed once all its findings are placed.
        if all(g.code != f.code for g in remaining):
            placed_codes.add(f.code)
    return placed


def _no_sections() -> ReportSections:
    return {}


@dataclass
class Report(Renderable):
    """Ordered findings plus the context they were measured in.

    ``sections`` holds structured extras that renderers show when present:
    ``data`` (data summary), ``history`` (per-epoch metrics), ``layers``
    (per-layer monitor table), ``gradcheck`` (a gradient-check result),
    ``baseline`` (the reference MLP's numbers), ...; every key and its type
    is in :class:`netdoctor.diagnosis.sections.ReportSections`.
    """

    render_kind: ClassVar[str] = "report"

    findings: list[Finding] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    sections: ReportSections = field(default_factory=_no_sections)
    title: str = "netdoctor report"
    partial: bool = False
    failed: str = ""
    """How the observed program failed (``"raised ValueError: bad row 3 (train.py:3)"``, ``"exited with status 3"``);
    empty when it ended normally. The report of a failed program is never ``ok``."""
    unobserved: str = ""
    """Why too little was observed to judge the run ("" when enough was): the verdict says so instead of
    "No problems found" (``netdoctor run`` then exits with 3)."""
    unjudged: str = ""
    """What the rules could not judge in a run that was observed (its targets never seen): a verdict without findings
    says so instead of a bare "No problems found" (the exit status stays that of the findings)."""

    def __post_init__(self) -> None:
        self.findings = _causal_order(list(self.findings))

    def add(self, findings: Iterable[Finding]) -> None:
        """Add findings and re-rank them, root causes first."""
        self.findings = _causal_order(self.findings + list(findings))

    def without(self, codes: Iterable[str]) -> Report:
        """A copy with the given finding codes silenced."""
        drop = set(codes)
        return Report(
            [f for f in self.findings if f.code not in drop],
            dict(self.context),
            self.sections.copy(),
            self.title,
            self.partial,
            self.failed,
            self.unobserved,
            self.unjudged,
        )

    @property
    def ok(self) -> bool:
        """True when no finding has error severity (and the observed program did not fail)."""
        return not self.failures and not self.failed

    @property
    def failures(self) -> list[Finding]:
        """Findings of error severity, in report order."""
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def worst(self) -> Finding | None:
        """The most severe finding (root causes win ties), or None."""
        if not self.findings:
            return None
        return min(self.findings, key=lambda f: f.severity.rank)

    def root_cause(self) -> Finding | None:
        """The first finding, in causal order, that an error finding traces back to.

        Follows ``caused_by`` from every error transitively; a warning such as
        ``summed-gradient`` that explains an error outranks the error itself.
        None when there is no error.
        """
        if not self.failures:
            return None
        explains = _explaining_errors(self.findings)
        for f in self.findings:
            if f.severity is Severity.ERROR or f.code in explains:
                return f
        return self.failures[0]

    def codes(self) -> list[str]:
        """Finding codes in report order."""
        return [f.code for f in self.findings]

    def verdict(self) -> str:
        """One line: what is wrong, root cause first, or that nothing is (never that, for a program that failed)."""
        if self.failed:
            seen = self._findings_verdict() if self.findings else "no problem was seen in what ran before it."
            return f"The script {self.failed}; {seen}"
        return self._findings_verdict()

    def _findings_verdict(self) -> str:
        if self.partial and not self.findings:
            return "Interrupted before any problem was seen; the numbers below are partial."
        if self.unobserved and not self.failures:
            return f"Not enough observed to judge: {self.unobserved}." + (
                f" {len(self.findings)} finding{'s' * (len(self.findings) != 1)} ({self.severity_counts()}) from what was seen."
                if self.findings else "")
        if not self.findings:
            return f"No problems found in what was observed; {self.unjudged}." if self.unjudged else "No problems found."
        counts = self.severity_counts()
        n = len(self.findings)
        root = self.root_cause()
        if root is not None:
            return f"{n} finding{'s' * (n != 1)} ({counts}); root cause: {root.code} ({root.message})"
        worst = self.worst
        return f"No errors; {n} finding{'s' * (n != 1)} ({counts}), first: {worst.code if worst else '?'}."

    def severity_counts(self) -> str:
        """How many findings of each severity, in the words the finding list uses: ``"3 errors, 4 warnings"``."""
        parts = []
        for sev in Severity:
            k = sum(1 for f in self.findings if f.severity is sev)
            if k:
                word = sev.value if k == 1 or sev is Severity.INFO else f"{sev.value}s"
                parts.append(f"{k} {word}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with a ``schema_version``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "title": self.title,
            "ok": self.ok,
            "partial": self.partial,
            "failed": self.failed,
            "unobserved": self.unobserved,
            "unjudged": self.unjudged,
            "verdict": self.verdict(),
            "findings": [f.to_dict() for f in self.findings],
            "context": to_jsonable(self.context),
            "sections": to_jsonable(self.sections),
        }

    def to_json(self, **kwargs: Any) -> str:
        """The report as a JSON string (``kwargs`` go to :func:`json.dumps`)."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    def raise_for_failures(self) -> None:
        """Raise if any finding is an error.

        Raises:
            GradientMismatch: when a ``gradient-mismatch`` finding is present
                (an ``AssertionError`` too).
            ProblemsFound: for any other error finding.
        """
        from netdoctor.errors import GradientMismatch, NetdoctorError

        errors = self.failures
        if not errors:
            return
        text = "; ".join(f"{f.code} at {f.where}: {f.message}" for f in errors)
        if any(f.code == "gradient-mismatch" for f in errors):
            raise GradientMismatch(text)
        raise NetdoctorError(text)

    def to_text(self, width: int = 80) -> str:
        """Plain text rendering (no colour) at ``width`` columns."""
        return MEDIA.get("text")(self, width)

    def __str__(self) -> str:
        return self.to_text()

    def plot(self, *, monitor: Any = None) -> dict[str, Any]:
        """Matplotlib figures of the report by name (needs ``netdoctor[notebook]``).

        See :func:`netdoctor.report.plots.plot_report`; ``monitor`` (a training
        monitor or :func:`netdoctor.notebook.watch` view) adds curves over training.
        """
        return MEDIA.get("plots")(self, monitor=monitor)
