"""Names that share one buffer: ``aliased-buffers``, from :class:`~netdoctor.rules.evidence.SharedMemory`.

The recorders (the static scan of :mod:`netdoctor.buffers.aliasing`, the update
probe, the NumPy observer) find which paths reach one object or one block of
memory and what each path's name says it holds (``param``, ``buffer``,
``other``; a ``template`` of zeros); the rule below decides how bad that is
and says it once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from netdoctor.findings import Finding, Severity

if TYPE_CHECKING:  # (the records' module is not imported while a program runs: ``netdoctor run`` imports this then)
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
    if s.kind == "shallow":
        return _shallow(s, ev)
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
        return _reset_to_template(s, ev, names, buffers, templates[0], where)
    return Finding(
        "aliased-buffers", Severity.WARNING, where,
        f"{names} are one {kind} object; if `{buffers[0]}` is written in place, the other name sees it.", ev,
        fix=f"If they are meant to be separate, give `{buffers[0]}` its own copy: {_fresh(buffers[0], kind)}.",
        explanation="A gradient or update buffer shares its object with another attribute; in-place writes through one name "
        "change what the other name holds.",
    )


def _zeros_like(upd: str, tpl: str, kind: str) -> str:
    """The reset written with fresh zeros shaped like the template (the template itself may hold sums by now)."""
    if kind == "list":
        return f"`{upd} = [np.zeros_like(t) for t in {tpl}]`"
    if kind == "dict":
        return f"`{upd} = {{k: np.zeros_like(v) for k, v in {tpl}.items()}}`"
    if kind == "ndarray":
        return f"`{upd} = np.zeros_like({tpl})`"
    return _fresh(upd, kind)


def _reset_to_template(s: SharedMemory, ev: dict, names: str, buffers: list[str], tpl: str, where: str) -> Finding:
    """A buffer re-bound to a template at its reset: one object under both names, so the reset keeps the sums."""
    upd = next(p for p in buffers if p != tpl)
    kind = s.object_type
    measured_pairs = s.details.get("pairs")  # the observer's: full paths, as the program writes them
    pairs = dict(measured_pairs or {upd: tpl})
    more = [f"`{a}` = `{o}`" for a, o in pairs.items() if a != upd][:3]
    also = f" (also {', '.join(more)})" if more else ""
    found = s.details.get("carry_over")
    carry = float(found) if isinstance(found, float) and math.isfinite(found) else None
    windows = s.details.get("carry_windows")
    over = f" over {windows} updates" if isinstance(windows, int) else ""
    kept = f"; the buffers start each window with {carry:.2f} of what they held (measured{over})" if carry is not None and carry > 0.05 else ""
    if carry is not None and carry >= 0.9:
        then = "every update applies again, in full, the gradients of all earlier updates."
    elif carry is not None and carry > 0.05:
        then = f"every update applies again the earlier gradients, kept at weight {carry:.2f} from one update to the next."
    else:
        then = "it then holds the sums of all earlier batches, and the next window adds its gradients onto those instead of onto zeros."
    return Finding(
        "aliased-buffers", Severity.ERROR, where,
        f"{names} are one {kind} object{also}: resetting `{upd}` by assignment gives no fresh zeros{kept}.", ev,
        fix=f"Reset with fresh zeros: {_zeros_like(upd, tpl, kind) if measured_pairs else _fresh(upd, kind)} (or "
        f"`{upd}[...] = 0` where it is an array); a template the buffer was bound to holds the sums by now, so copying "
        "it would not help.",
        explanation=(f"`{upd}` and `{tpl}` name the same {kind}. Accumulating into `{upd}` in place writes into `{tpl}` "
                     f"too, and the reset re-binds `{upd}` to that same {kind}, which holds what was accumulated: {then}"),
    )


def _shallow(s: SharedMemory, ev: dict) -> Finding:
    """A container bound to a shallow copy of another (``grads = dict(zero_grads)``): two containers, one set of arrays."""
    copy, source = s.paths
    pairs = list(dict(s.details.get("pairs") or {}).items())
    first = f"`{pairs[0][0]}` is `{pairs[0][1]}`" if pairs else f"the arrays of `{copy}` are those of `{source}`"
    more = f" (and {len(pairs) - 1} more: every array it holds)" if len(pairs) > 1 else ""
    return Finding(
        "aliased-buffers", Severity.ERROR, s.where or f"{copy} = copy of {source}",
        f"`{copy}` is a shallow copy of `{source}`: a new container holding the same arrays, {first}{more}.", ev,
        fix=f"Give the copy arrays of its own: `{copy} = {{k: np.zeros_like(v) for k, v in {source}.items()}}` for a "
            f"dict (`[np.zeros_like(v) for v in {source}]` for a list), or `copy.deepcopy({source})`.",
        explanation=(f"`dict(...)`, `list(...)`, `.copy()` of a container and `[:]` copy the container, not the arrays in "
                     f"it. Every in-place write into `{copy}` (`+=` of a gradient) lands in `{source}`'s arrays, so the "
                     f"next copy starts from the sums of all earlier ones instead of from zeros: each update applies "
                     "again the gradients of every earlier update."),
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
