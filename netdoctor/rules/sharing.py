"""Names that share one buffer: ``aliased-buffers``, from :class:`~netdoctor.rules.evidence.SharedMemory`.

The recorders (the static scan of :mod:`netdoctor.buffers.aliasing`, the update
probe, the NumPy observer) find which paths reach one object or one block of
memory and what each path's name says it holds (``param``, ``buffer``,
``other``; a ``template`` of zeros); the rule below decides how bad that is
and says it once.
"""

from __future__ import annotations

from netdoctor.findings import Finding, Severity
from netdoctor.rules.evidence import SharedMemory

__all__ = ["aliased_buffers", "pair_severity"]


def pair_severity(a: str, b: str) -> Severity | None:
    """How bad two overlapping arrays are, by the roles their names say: a buffer on a parameter or buffer is an error."""
    roles = sorted((a, b))
    if roles in (["buffer", "param"], ["buffer", "buffer"]):
        return Severity.ERROR
    if roles in (["buffer", "other"], ["param", "param"]):
        return Severity.WARNING
    return None  # data views, a flat vector behind its parameter views: sharing by construction


def _fresh(path: str, object_type: str) -> str:
    name = path.split("[")[0]
    if object_type == "list":
        src = "biases" if "bias" in name.lower() else "weights"
        return f"`self.{name} = [np.zeros_like(w) for w in self.{src}]`"
    if object_type == "dict":
        return f"`self.{name} = {{k: np.zeros_like(v) for k, v in self.params.items()}}`"
    return f"`self.{path} = <source>.copy()` (or `np.zeros_like(...)`)"


def _quoted(paths: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"`{p}`" for p in paths)


def aliased_buffers(s: SharedMemory) -> Finding | None:
    """``aliased-buffers``: two names bound to one buffer, one object repeated in a container, or overlapping views.

    Severity by what the names hold: a buffer that is a parameter, two
    buffers, a buffer reset to a template, or a repeated entry of a buffer or
    parameter container is an error; a buffer sharing with something else is a
    warning; sharing without a buffer (a params dict and ``self.W1``, data
    views) is by construction and not reported.
    """
    paths = list(s.paths)
    roles = dict(s.roles)
    buffers = [p for p in paths if roles.get(p) == "buffer"]
    params = [p for p in paths if roles.get(p) == "param"]
    kind = s.object_type
    ev = {"paths": paths, "roles": roles, **s.details}
    names = " and ".join(f"`{p}`" for p in paths)
    where = s.where or " = ".join(paths)
    if s.kind == "repeated":
        return _repeated(s, ev)
    if s.kind == "overlap":
        return _overlap(s, ev)
    if not buffers:
        return None  # params dict vs self.W1, data references: sharing by construction
    if params:
        b, p = buffers[0], params[0]
        return Finding(
            "aliased-buffers", Severity.ERROR, where, f"The buffer `{b}` is the parameter `{p}` itself (one {kind}).", ev,
            fix=f"Give the buffer its own memory: {_fresh(b, kind)}.",
            explanation=(f"Writing a gradient or update into `{b}` overwrites the weights in `{p}`, and every weight update "
                         "changes the stored gradient: the step applied is not the gradient of the loss."),
        )
    templates = [p for p in buffers if p in s.templates]
    if len(buffers) >= 2 and not templates:
        a, b = buffers[:2]
        return Finding(
            "aliased-buffers", Severity.ERROR, where,
            f"{names} are one {kind} object: whatever is written into one lands in the other.", ev,
            fix=f"Give each its own arrays: {_fresh(b, kind)}.",
            explanation=(f"`{a}` and `{b}` name the same {kind}: gradients or updates meant for one are added into the other, "
                         "so both hold the mixed sum and every update applies it."),
        )
    if len(buffers) >= 2:
        tpl = templates[0]
        upd = next(p for p in buffers if p != tpl)
        carry = s.details.get("carry_over")
        kept = f"; the buffers carry {carry:.2f} of their contents into the next batch" if isinstance(carry, float) and carry > 0.5 else ""
        return Finding(
            "aliased-buffers", Severity.ERROR, where,
            f"{names} are one {kind} object: resetting `{upd}` by assignment gives no fresh zeros{kept}.", ev,
            fix=f"Create fresh buffers at every reset: {_fresh(upd, kind)}, or copy the template "
            f"(`[t.copy() for t in {tpl.split('[')[0] if '.' in tpl else 'self.' + tpl.split('[')[0]}]`).",
            explanation=(f"`{upd}` and `{tpl}` name the same {kind}. Accumulating into `{upd}` in place writes into `{tpl}` "
                         f"too, and resetting by assignment re-binds `{upd}` to that same {kind}, which then holds the sums of "
                         "all earlier batches: every update re-applies every earlier gradient, the weights grow each step "
                         "until the units saturate and learning stops."),
        )
    return Finding(
        "aliased-buffers", Severity.WARNING, where,
        f"{names} are one {kind} object; if `{buffers[0]}` is written in place, the other name sees it.", ev,
        fix=f"If they are meant to be separate, give `{buffers[0]}` its own copy: {_fresh(buffers[0], kind)}.",
        explanation="A gradient or update buffer shares its object with another attribute; in-place writes through one name "
        "change what the other name holds.",
    )


def _repeated(s: SharedMemory, ev: dict) -> Finding:
    """One object repeated in a container (``[np.zeros(n)] * 3``)."""
    paths, kind = list(s.paths), s.object_type
    container = s.container or "<root>"
    n = s.container_length
    return Finding(
        "aliased-buffers", Severity.ERROR if s.container_role in ("buffer", "param") else Severity.WARNING,
        s.where or " = ".join(paths),
        f"`{container}` holds the same {kind} {len(paths)} times ({', '.join(s.labels)}).",
        {**ev, "container": container, "container_length": n},
        fix=f"Build one object per entry: `[np.zeros(n) for _ in range({n})]` instead of `[np.zeros(n)] * {n}`.",
        explanation=(f"`[x] * {n}` repeats one object, it does not copy it: a write into `{paths[0]}` changes "
                     f"{_quoted(paths[1:])} as well, so every layer reads and writes one shared buffer."),
    )


def _overlap(s: SharedMemory, ev: dict) -> Finding | None:
    """Arrays whose bytes overlap (views and slices), judged by the roles of each pair."""
    paths, roles = list(s.paths), dict(s.roles)
    sevs = {pair_severity(roles.get(a, "other"), roles.get(b, "other")) for a in paths for b in paths if a < b} - {None}
    if not sevs:
        return None
    buf = next((p for p in paths if roles.get(p) == "buffer"), paths[0])
    other = [p for p in paths if p != buf]
    return Finding(
        "aliased-buffers", Severity.ERROR if Severity.ERROR in sevs else Severity.WARNING, s.where or " ~ ".join(paths),
        f"`{buf}` shares memory with {_quoted(other)} (a view or slice, not a copy).", ev,
        fix=f"Copy instead of slicing: `{buf.split('[')[0]} = <array>.copy()` (or `np.zeros_like(<array>)`); `a[:]` and "
        "reshape give views.",
        explanation=(f"`{buf}` is a view into the same bytes as {_quoted(other)}: writing a gradient or update into one "
                     "overwrites the other, so parameters or stored gradients change behind the code's back."),
    )
