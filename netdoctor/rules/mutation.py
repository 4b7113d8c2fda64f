"""Arrays that should stay as they are: ``mutated-constant``, from :class:`~netdoctor.rules.evidence.Mutation`."""

from __future__ import annotations

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import Mutation

__all__ = ["mutated_constant"]


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def mutated_constant(m: Mutation | None) -> Finding | None:
    """``mutated-constant`` (always an error): the training code writes into an array it should only read.

    ``inputs``: ``train_step`` changes the ``X``/``y`` it is given; ``view``:
    the same rows of a long-lived array reach the gradient function twice
    with different values (an in-place operator on a row or slice);
    ``constant``: a template, initial value or data array changed.
    """
    if m is None or not m.names:
        return None
    ev = {"kind": m.kind, "arrays": list(m.names), "steps": list(m.steps), **m.details}
    if m.kind == "inputs":
        return Finding(
            "mutated-constant", Severity.ERROR, m.where,
            f"{m.function or 'train_step'} modifies the {' and '.join(m.names)} it is given.", ev,
            fix="Work on a copy inside train_step (`X = X / 255.0`, not `X /= 255.0`).",
            explanation="The caller's data changes with every pass, so later epochs train on different (e.g. repeatedly "
            "rescaled) inputs than the ones evaluated.",
        )
    when = f" (first seen at {m.unit} {min(m.steps)})" if m.steps else ""
    if m.kind == "view":
        shape = f" {list(m.shape)}" if m.shape else ""
        how = f"handed to {m.function}() as `{m.argument}`" if m.argument else f"returned by {m.function}()"
        return Finding(
            "mutated-constant", Severity.ERROR, m.where,
            f"{_quoted(m.names[:1])}{shape} changes while the program trains: the same rows of it were {how} twice with "
            f"different values{when}.", ev,
            fix="Work on a copy (`t = TABLE[k].copy()`, `xb = x[s:s + n] / 255.0`): an in-place operator on a row or slice "
            "writes into the array it was taken from.",
            explanation="A row or slice of a NumPy array is a view: `*=`, `+=` or `/=` on it changes the table or data set it "
            "came from, so every later use (the next epoch, the next sample of that class) sees modified values.",
        )
    steps = f" ({m.unit}s {', '.join(map(str, sorted(set(m.steps))))})" if m.steps and len(set(m.steps)) <= 8 else when
    return Finding(
        "mutated-constant", Severity.ERROR, m.where,
        f"{_quoted(m.names)} should stay constant but changed during training{steps}.", ev,
        fix="Never write into a template or data array: copy it where a fresh buffer is needed (`[t.copy() for t in "
        "templates]` or `np.zeros_like(...)`).",
        explanation="A template, initial value or data array is being written to, usually because a buffer name is bound to "
        "it: every later 'reset' or use then starts from the modified contents.",
    )
