"""Steps of an update rule, told from the changes of a program's arrays (the behaviour NumPy discovery reads roles from).

:class:`~netdoctor.observe.numpy.discovery.Discovery` hands :class:`Steps` the arrays that changed since its last
scan. A *step* is a change proportional to another array the step could read (``p -= lr * g``: a gradient, a
buffer, a velocity): the values another array of the roots had at the last scan or has now (a gradient buffer,
emptied right after the update or not), an array in the running function's locals (``W1 -= lr * dW1``,
``sgd(p, g, lr)``), or one a function returned last (``grads = backward(...)``). Adding a temporary as it is
(``g += dW``) is accumulating a gradient, not a step; a change to a multiple of the array's own values (``W *= 30``)
is neither; a change back to zero is a reset. What a step read is marked
(:attr:`~netdoctor.observe.numpy.network.PathStats.read_by`): what an update reads is a gradient or a buffer, whatever
its name, and an array moved by steps is a parameter, whatever its name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import Any

import numpy as np

from netdoctor._lazy import dataclass
from netdoctor.nn.stats import median
from netdoctor.observe.numpy.arrays import array_role, entries, sample_index
from netdoctor.observe.numpy.network import COORDS, PathStats
from netdoctor.observe.numpy.roles import is_reset, norm, proportional_to, row_norms
from netdoctor.observe.source import find_lines, targets_text

__all__ = ["ADAPTIVE_FIT", "DECAY", "Steps", "Velocity", "adaptive_step", "combined_step", "decayed_toward", "entry_step", "intake",
           "moved_like_a_parameter", "scaled_by_running_square", "velocity_text"]

RETURNED_SHAPES = 64
"""Shapes of returned arrays kept at most (a few matter, the parameters'; a program may return arrays of every size)."""


DECAY = 0.005
"""The least share of its own values a change must take away to be a decay (``v = mu * v + ...`` with ``mu <= 0.995``):
weight decay takes ``lr * lambda`` (1e-4 to 1e-6 of the weights per step), a velocity or a moving average 0.1 to 0.01."""


def decayed_toward(old: np.ndarray, new: np.ndarray, candidates: list[np.ndarray], eps: float) -> int | None:
    """Which candidate the change is a multiple of once a share of the array's own old values is taken away
    (``new = mu * old + c * g``, ``0 <= mu <= 1 - DECAY``, ``c != 0``): a momentum's velocity, Adam's first moment, a
    moving average of the weights; or of a candidate's square (``v = b2 * v + (1 - b2) * g**2``, Adam's second
    moment, any ``0 <= b2 < 1``: no parameter moves by a square); None when no candidate gives an exact fit (least
    squares over the sampled entries, within the rounding of the arithmetic, as
    :func:`~netdoctor.observe.numpy.roles.proportional_to`; a change that is already a multiple of ``old`` within that
    rounding fits none: its intake would be the rounding's). A square's index is ``len(candidates) + i``."""
    if not candidates:
        return None
    with np.errstate(all="ignore"):
        d = new - old
        nd = norm(d)
        if not math.isfinite(nd) or nd == 0.0 or np.count_nonzero(old) < 3 or len(old) < 4:
            return None
        tol = (1e-6 + 8 * eps) * nd + 8 * eps * (norm(old) + norm(new))
        oo, od = float(old @ old), float(old @ d)
        if norm(d - od / oo * old) <= tol:
            # a multiple of its own values (``grads = [g * (max_norm / norm) for g in grads]``, ``W *= 0.5``) takes
            # nothing in: no candidate's share of the fit is more than the rounding's, no velocity
            return None
        G = np.stack(candidates)
        G = np.concatenate([G, G * G])  # every candidate and its square at once: the 2x2 normal equations of d ~ a * old + c * g
        gg, go, gd = np.einsum("ij,ij->i", G, G), G @ old, G @ d
        det = oo * gg - go * go
        a = (gg * od - go * gd) / det
        c = (oo * gd - go * od) / det
        ok = (np.count_nonzero(G, axis=1) >= 3) & np.isfinite(a) & np.isfinite(c) & (c != 0)
        least = np.where(np.arange(len(G)) < len(candidates), DECAY, 1e-9)
        ok &= (a >= -1.0 - 1e-9) & (a <= -least) & (det > 1e-12 * oo * gg)
        # the residuals at once with twice the tolerance, then the few near a fit decided one by one, in order
        near = ok & (row_norms(d - a[:, None] * old - c[:, None] * G) <= 2 * tol)
        for i in np.flatnonzero(near):
            if norm(d - a[i] * old - c[i] * G[i]) <= tol:
                return int(i)
    return None


def _fit(old: np.ndarray, y: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    """``(a, c)`` of ``y = a * old + c * g`` by least squares over the sampled entries (NaN, NaN when ``old`` and ``g``
    are parallel or not finite): the normal equations of two unknowns, solved by Cramer's rule."""
    with np.errstate(all="ignore"):
        oo, gg, og = float(old @ old), float(g @ g), float(old @ g)
        det = oo * gg - og * og
        if not (det > 0 and math.isfinite(det)):
            return math.nan, math.nan
        oy, gy = float(old @ y), float(g @ y)
        return (gg * oy - og * gy) / det, (oo * gy - og * oy) / det


def decay(old: np.ndarray, new: np.ndarray, g: np.ndarray) -> float:
    """The factor ``mu`` of ``new = mu * old + c * g``: the share of its own values a velocity keeps
    (``v = mu * v - lr * g``: ``mu``)."""
    return _fit(old, new, g)[0]


def intake(old: np.ndarray, new: np.ndarray, g: np.ndarray) -> float:
    """The factor ``c`` of ``new = mu * old + c * g``, fitted on the change ``new - old``: what a velocity
    :func:`decayed_toward` ``g`` takes in of it (``v = mu * v - lr * g``: ``-lr``)."""
    with np.errstate(all="ignore"):
        return _fit(old, new - old, g)[1]


@dataclass(frozen=True)
class Velocity:
    """A velocity's intake, seen while discovering: ``v = mu * v + c * g`` with ``g`` an array a function of the program
    returned (the gradients it computed), in the function ``code``."""

    text: str
    """The velocity as the program reaches it (``self.vel['W1']``)."""
    c: float
    code: CodeType | None


def velocity_text(v: Velocity) -> str:
    """The velocity and the line of the function it was seen in that assigns it (``self.vel['W1'] at net.py:27``)."""
    name = re.sub(r"\[[^\]]*\]", "", v.text).split(".")[-1]
    if v.code is None or not name:
        return v.text
    lines = find_lines(v.code.co_filename, lambda node, src: any(
        re.sub(r"\[[^\]]*\]", "", t).split(".")[-1] == name for t in targets_text(node)), within=v.code, limit=1)
    return f"{v.text} at {lines[0]}" if lines else v.text


def _multiple_of_one_of(old: np.ndarray, _: np.ndarray, candidates: list[np.ndarray], eps: float) -> bool:
    """:func:`_multiple_of_one` with the arguments of the other fits (``old`` twice), for :class:`_Fits`."""
    return _multiple_of_one(old, candidates, eps)


def _multiple_of_one(old: np.ndarray, candidates: list[np.ndarray], eps: float) -> bool:
    """Whether ``old`` (three nonzero entries or more) is a multiple of one candidate (another array the program
    keeps), within rounding."""
    with np.errstate(all="ignore"):
        if np.count_nonzero(old) < 3:
            return False
        tol = (1e-6 + 8 * eps) * norm(old)
        for g in candidates:
            gg = float(g @ g)
            if gg > 0 and math.isfinite(gg) and norm(old - (float(old @ g) / gg) * g) <= tol:
                return True
    return False


_PAIRS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(n, k=1)``, made once per ``n`` (~15 us each time; :func:`combined_step` asks at every change
    no single array explains). Read only."""
    pairs = _PAIRS.get(n)
    if pairs is None:
        i, j = np.triu_indices(n, k=1)
        i.flags.writeable = j.flags.writeable = False
        pairs = _PAIRS[n] = (i, j)
    return pairs


def combined_step(old: np.ndarray, new: np.ndarray, candidates: list[np.ndarray], eps: float
                  ) -> tuple[int, int, float, float] | None:
    """The two candidates ``(i, j)`` the change is an exact combination of, with their factors (``new - old = a * X_i
    + c * X_j``), or None: a step that reads two arrays. Nesterov's momentum ``p += mu * v - lr * g`` (the velocity
    just updated and the gradient), or its other spelling ``p += -mu * v_prev + (1 + mu) * v``; weight decay written
    on the parameter, ``p -= lr * (g + wd * p)`` or ``p *= 1 - lr * wd; p -= lr * g``, reads the gradient and the
    array's own values (``j == -1``: ``old``), of which it may take only a small share away (``0 < -c <``
    :data:`DECAY`: more is a velocity's decay, see :func:`decayed_toward`), never by the other's factor
    (``d = k * (g - old)`` is an average that follows ``g``, not a step). Least squares over the sampled entries,
    exact within the rounding of the arithmetic (as :func:`~netdoctor.observe.numpy.roles.proportional_to`); the
    candidates must have three nonzero entries and the pair must not be (nearly) collinear."""
    with np.errstate(all="ignore"):
        d = new - old
        nd = norm(d)
        if not math.isfinite(nd) or nd == 0.0 or np.count_nonzero(d) < 3 or len(d) < 3 or not candidates:
            return None
        tol = (1e-6 + 8 * eps) * nd + 8 * eps * (norm(old) + norm(new))
        G = np.stack([*candidates, old])  # the array's own values last (index -1)
        usable = (np.count_nonzero(G, axis=1) >= 3) & np.isfinite(G).all(axis=1)
        gram, gd = G @ G.T, G @ d
        i, j = _pairs(len(G))
        gii, gjj, gij = gram[i, i], gram[j, j], gram[i, j]
        det = gii * gjj - gij * gij
        a = (gjj * gd[i] - gij * gd[j]) / det
        c = (gii * gd[j] - gij * gd[i]) / det
        ok = usable[i] & usable[j] & (det > 1e-9 * gii * gjj) & np.isfinite(a) & np.isfinite(c) & (a != 0) & (c != 0)
        own = j == len(G) - 1  # (candidate i, the array's own values): weight decay, a small share taken away
        ok &= ~own | ((c < 0) & (c > -DECAY) & (np.abs(a + c) > 1e-3 * np.abs(a)))
        # the residuals of every usable pair at once with twice the tolerance, then the few near a fit decided one by
        # one, in order (as :func:`decayed_toward`)
        ks = np.flatnonzero(ok)
        res = row_norms(d - a[ks, None] * G[i[ks]] - c[ks, None] * G[j[ks]])
        for k in ks[res <= 2 * tol]:
            if norm(d - a[k] * G[i[k]] - c[k] * G[j[k]]) <= tol:
                jj = -1 if own[k] else int(j[k])
                return int(i[k]), jj, float(a[k]), float(c[k])
    return None


ADAPTIVE_FIT = 1e-2
"""Relative residual of ``change ~ k * m / sqrt(v)`` below which a step is adaptive: Adam's ``eps`` (1e-8 against a
``sqrt(v)`` of 1e-5 or more) and its bias corrections (one factor per step) leave it well below; a sampled entry
whose ``v`` is 0 moves by 0."""


def adaptive_step(old: np.ndarray, new: np.ndarray, candidates: list[tuple[PathStats | None, np.ndarray]]
                  ) -> tuple[PathStats | None, PathStats] | None:
    """The two arrays ``(m, v)`` whose elementwise ``m / sqrt(v)`` the change is a multiple of (``p -= lr * m_hat /
    (sqrt(v_hat) + eps)``: Adam's first and second moments; ``p -= lr * g / (sqrt(cache) + eps)``: RMSprop's gradient
    and running square), or None. ``v`` is never negative and is an array the program keeps (its stats are known);
    ``m`` may be a gradient just computed (no stats: None).

    A step proportional to no single array but to such a ratio is an adaptive rule: its size per entry is about the
    learning rate whatever the gradient's scale, so it is neither judged nor measured as plain SGD."""
    with np.errstate(all="ignore"):
        d = new - old
        nd = norm(d)
        if not math.isfinite(nd) or nd == 0.0 or np.count_nonzero(d) < 3 or not candidates:
            return None
        pairs: Iterable[tuple[PathStats, int, np.ndarray]]
        if all(m.shape == d.shape for _, m in candidates):
            every = np.stack([m for _, m in candidates])
            nonzero = np.count_nonzero(every, axis=1) >= 3
            kept = nonzero & (every >= 0).all(axis=1) & np.isfinite(every).all(axis=1)
            usable = np.flatnonzero(nonzero).tolist()
            vs = [k for k in np.flatnonzero(kept).tolist() if candidates[k][0] is not None]
            if not usable or not vs:
                return None
            moments = [candidates[k] for k in vs]
            # every (v, m) pair at once: r = m / sqrt(v), d ~ k * r, with twice the tolerance (a pool of data rows
            # rebound by a shuffle holds 24 of each: 576 pairs); then each pair near a fit decided one by one, in the
            # order of the loops over v and m, as for a single pair below
            M = every[usable]
            roots = np.sqrt(every[vs])[:, None, :]
            R3 = np.where(roots > 0, M[None] / np.where(roots > 0, roots, 1.0), 0.0)
            k_all = (R3 @ d) / np.einsum("vij,vij->vi", R3, R3)
            near = np.linalg.norm(d - k_all[..., None] * R3, axis=2) <= 2 * ADAPTIVE_FIT * nd
            pairs = [(sv, usable[j], R3[n, j]) for n, (sv, _) in enumerate(moments) for j in np.flatnonzero(near[n])]
        else:
            usable = [i for i, (_, m) in enumerate(candidates) if np.count_nonzero(m) >= 3]
            moments = [(sv, v) for sv, v in candidates
                       if sv is not None and np.all(v >= 0) and np.count_nonzero(v) >= 3 and np.all(np.isfinite(v))]
            pairs = ((sv, i, np.where(root > 0, candidates[i][1] / np.where(root > 0, root, 1.0), 0.0))
                     for sv, v in moments for root in (np.sqrt(v),) for i in usable)
        for sv, i, r in pairs:
            sm = candidates[i][0]
            if sm is sv:
                continue
            rr = float(r @ r)
            if rr == 0.0 or not math.isfinite(rr):
                continue
            k = float(d @ r) / rr
            if k != 0.0 and norm(d - k * r) <= ADAPTIVE_FIT * nd:
                return sm, sv
    return None


def scaled_by_running_square(old: np.ndarray, new: np.ndarray, candidates: list[tuple[np.ndarray, np.ndarray]]
                             ) -> int | None:
    """Which candidate ``(v_before, v_now)`` (an array the program keeps, seen before and after this step) the change is
    an adaptive step over, when the gradient it divides is seen nowhere: ``v_now = rho * v_before + c * g ** 2`` and
    ``new - old = k * g / sqrt(v_now)`` (RMSProp, ``step = lr * g / (sqrt(sq) + eps); p -= step``, scanned once the
    loop over the parameters is done, its ``g`` and ``step`` then the last parameter's; Adagrad, ``rho = 1``). Then
    ``d ** 2 * v_now = A * v_now + B * v_before`` exactly, with ``A = k ** 2 / c > 0`` and ``0 < -B / A = rho <= 1``
    (an entry that got no gradient moves by 0 and keeps ``rho`` of its ``v``: both sides 0). Least squares over the
    sampled entries, relative residual under :data:`ADAPTIVE_FIT`; ``v`` never negative and moved; None when no
    candidate fits."""
    with np.errstate(all="ignore"):
        d = new - old
        if np.count_nonzero(d) < 3 or not np.all(np.isfinite(d)):
            return None
        for i, (before, now) in enumerate(candidates):
            if (len(before) != len(d) or np.count_nonzero(now) < 3 or not (np.all(before >= 0) and np.all(now >= 0))
                    or not (np.all(np.isfinite(before)) and np.all(np.isfinite(now))) or np.array_equal(before, now)):
                continue
            y = d * d * now
            ny = norm(y)
            if not np.any(before):
                # the first step, from a running square of zeros: every entry that got a gradient moves by the same size
                nn = float(now @ now)
                a, b = (float(now @ y) / nn if nn > 0 else math.nan), 0.0
            else:
                a, b = _fit(now, y, before)
                if not b < 0:
                    continue
            if not (a > 0 and -b <= a * (1.0 + 1e-6) and ny > 0):
                continue
            if norm(y - a * now - b * before) <= ADAPTIVE_FIT * ny:
                return i
    return None


def entry_step(old: np.ndarray, new: np.ndarray) -> float:
    """The size per entry of one step of an adaptive rule: the median |change| over the sampled entries it moved (its
    step per entry is about the rate whatever the gradient's scale, while an entry that got no gradient, an input
    pixel always 0 or a dead unit's weight, moves by 0: over all the entries the median is 0 when more than half of
    them got none); 0 when none moved."""
    moved = np.abs(new - old)
    moved = moved[moved > 0]
    return float(median(moved)) if len(moved) else 0.0


def _running_squares(pool: list[tuple[PathStats | None, int, np.ndarray]]
                     ) -> list[tuple[PathStats, tuple[np.ndarray, np.ndarray]]]:
    """The arrays of ``pool`` seen both as at the last scan and now (they moved in this scan), never negative: what
    an adaptive step may divide by the root of (see :func:`scaled_by_running_square`), with ``(before, now)``."""
    seen: dict[int, np.ndarray] = {}  # (one array under two paths is in the pool under each: one pair per path)
    out: list[tuple[PathStats, tuple[np.ndarray, np.ndarray]]] = []
    for st, _, values in pool:
        if st is None:
            continue
        before = seen.pop(id(st), None)
        if before is None:
            seen[id(st)] = values
        elif len(before) == len(values) and values.min(initial=0.0) >= 0 and before.min(initial=0.0) >= 0:
            out.append((st, (before, values)))
    return out


_Pool = list[tuple[PathStats | None, int, np.ndarray]]
"""What a step could have read: ``(stats or None, id, sampled values)`` (see :meth:`Steps._pools`)."""


_EPS: dict[np.dtype, float] = {}


def _eps(dtype: np.dtype) -> float:
    """``float(np.finfo(dtype).eps)``, remembered per dtype (``np.finfo`` takes ~2 us; the judge asks it per change)."""
    eps = _EPS.get(dtype)
    if eps is None:
        eps = _EPS[dtype] = float(np.finfo(dtype).eps)
    return eps


def _values(pool: _Pool) -> list[np.ndarray]:
    """Every candidate's values (what :func:`~netdoctor.observe.numpy.roles.proportional_to` and
    :func:`decayed_toward` fit)."""
    return [v for _, _, v in pool]


def _first_values(pool: _Pool) -> list[np.ndarray]:
    """The first 32 candidates' values (the pairs :func:`combined_step` fits grow as their square)."""
    return [v for _, _, v in pool[:32]]


def _kept_values(pool: _Pool) -> list[np.ndarray]:
    """The values of the candidates the program keeps (followed arrays, not temporaries): :func:`_multiple_of_one_of`."""
    return [v for other, _, v in pool if other is not None]


def _kinds_and_values(pool: _Pool) -> list[tuple[PathStats | None, np.ndarray]]:
    """The first 24 candidates, with their stats: :func:`adaptive_step`."""
    return [(o, v) for o, _, v in pool[:24]]


def _square_pairs(pool: _Pool) -> list[tuple[np.ndarray, np.ndarray]]:
    """The running squares' ``(before, now)``: :func:`scaled_by_running_square`."""
    return [pair for _, pair in _running_squares(pool)]


class _Fits:
    """The fits of one :meth:`Steps.judge`, each computed once per distinct input: one array reached under several
    paths (``self.W`` in the methods, ``net.W`` in the module's globals and in the function it is handed) moves under
    each of them, with the same sampled entries (one index per shape) and the same pool of candidates (the array
    itself is left out of its pool under every path), so its fits are the same numbers; only what is recorded of
    them is per path. Keyed by the inputs themselves: the entries' bytes and the pool the candidates are taken from
    (each fit takes its candidates from the pool in one way of its own), so two changes share a fit only when its
    arguments are the same. The pools are kept here while the judge runs, so that their ids name them."""

    __slots__ = ("done", "pools")

    def __init__(self) -> None:
        self.done: dict[tuple, object] = {}
        self.pools: list[list[tuple[PathStats | None, int, np.ndarray]]] = []

    def pool(self, pool: list[tuple[PathStats | None, int, np.ndarray]]) -> list[tuple[PathStats | None, int, np.ndarray]]:
        """``pool``, kept while the judge runs (its id is part of the keys of its fits)."""
        self.pools.append(pool)
        return pool

    @staticmethod
    def entries(old: np.ndarray, new: np.ndarray) -> tuple[bytes, bytes]:
        """What names a change's sampled entries before and after in the keys of :meth:`of` (read once per change)."""
        return old.tobytes(), new.tobytes()

    def of(self, fit: Callable[..., Any], pool: _Pool, entries: tuple[bytes, bytes], old: np.ndarray, new: np.ndarray,
           take: Callable[[_Pool], list[Any]], *rest: Any) -> Any:
        """``fit(old, new, take(pool), *rest)``, or its result for the same arguments earlier in this judge (``pool``
        is kept by :meth:`pool`; ``take`` is the fit's one way of taking its candidates from a pool, run only when the
        fit is computed; ``entries``: :meth:`entries` of the change whose ``old`` and ``new`` the fit reads)."""
        key = (fit, id(pool), entries, rest)
        done = self.done.get(key, self)
        if done is self:
            done = self.done[key] = fit(old, new, take(pool), *rest)
        return done


def _pool_of(st: PathStats, a: np.ndarray, pool: list[tuple[PathStats | None, int, np.ndarray]],
             own: dict[int, list[tuple[PathStats | None, int, np.ndarray]]], fits: _Fits
             ) -> list[tuple[PathStats | None, int, np.ndarray]]:
    """What the change of ``a`` under the path ``st`` could have read: ``pool`` (its shape's) without ``a`` itself
    and without ``st``. Every path of one array leaves out the same entries (a path of ``a`` is in the pool under
    ``a``'s id, as its scan saw it: ``st.obj``), so the pool is made once per array (``own``, by its id) and its
    fits once per array (:class:`_Fits`); a path not yet known as ``a`` gets a pool of its own."""
    if st.obj != id(a):
        return fits.pool([(other, obj, values) for other, obj, values in pool if obj != id(a) and other is not st])
    kept = own.get(id(a))
    if kept is None:
        kept = own[id(a)] = fits.pool([(other, obj, values) for other, obj, values in pool if obj != id(a)])
    return kept


def moved_like_a_parameter(st: PathStats) -> bool:
    """Changed, and neither a cache nor what an update reads or empties: moved by steps, or named like a parameter."""
    return bool(st.changes) and not st.cache and not st.read_by_update and (st.stepped or array_role(st.text) == "param")


class Steps:
    """The sampled entries shared by every array of one shape, the arrays functions returned last, and the judge of
    each change (see the module docstring)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._idx: dict[tuple[int, ...], np.ndarray] = {}
        self._returned: dict[tuple[int, ...], np.ndarray] = {}
        self.rates: dict[str, list[float]] = {}
        """Array -> the step size of each of its steps: ``-(change / what the step read)``, the learning rate the step
        applied (``W -= 0.1 * dW``: 0.1), whatever its spelling (a variable, a literal, an argument)."""
        self.adaptive: dict[str, list[float]] = {}
        """Array -> the size per entry of each of its steps that was elementwise proportional to ``m / sqrt(v)`` of two
        arrays it read (Adam, RMSprop with a momentum, see :func:`adaptive_step`) or to a gradient over the root of a
        running square it kept (RMSProp, see :func:`scaled_by_running_square`): an adaptive rule (see
        :func:`entry_step`)."""
        self.adaptive_entries: dict[str, list[tuple[float, float]]] = {}
        """Weight matrix (two axes or more) -> each of those steps' size per entry with the root mean square of its
        sampled entries before it: the size of the entries an adaptive step moves by about the rate."""
        self.reads: dict[str, list[PathStats]] = {}
        """Array -> the followed arrays its steps read (the first few), to tell a velocity among them afterwards."""
        self.read: dict[str, str] = {}
        """Array -> what its last step read, as the program names it (``dW1``, ``grads['W1']``), when it has a name."""
        self.velocities: dict[str, Velocity] = {}
        """Velocity -> its intake of a returned gradient (see :meth:`momentum_sign`)."""
        self.decays: dict[str, list[float]] = {}
        """Array that decays (a velocity, a moving average) -> the share of its own values each of its changes kept
        (``v = mu * v - lr * g``: ``mu``), whatever it took in."""
        self.via: dict[str, tuple[float, str]] = {}
        """Array -> the factor of its last step that was a multiple of one followed array, and that array's text
        (``p += v``: ``(1.0, 'v')``)."""

    def index(self, shape: tuple[int, ...]) -> np.ndarray:
        """The sampled entries of every array of ``shape``: the same places, so that a step and the gradient it read
        compare entry by entry."""
        idx = self._idx.get(shape)
        if idx is None:
            idx = self._idx[shape] = sample_index(int(np.prod(shape)), COORDS, self.rng)
        return idx

    def step_size(self, arrays: Iterable[str]) -> float | None:
        """The learning rate the steps of ``arrays`` (the parameters, by their text) applied: the median of the step
        sizes measured on them, or None when no step was a descent by a multiple of an array it read (an update
        computed from temporaries only, ``W -= 0.1 * (x.T @ d)``, or an adaptive rule).

        One number for the whole network: rates that differ between the arrays or over the steps (a per-layer rate,
        a schedule) give their median, what a typical step applied."""
        rates = [r for t in arrays for r in self.rates.get(t, ()) if math.isfinite(r)]
        return float(median(rates)) if rates else None

    def adaptive_size(self, arrays: Iterable[str]) -> float | None:
        """The size per entry of the adaptive steps of ``arrays`` (the parameters, by their text): the median over the
        arrays of each one's largest step per entry (:func:`entry_step`; the first steps move by about the rate, the
        later ones may be small for want of a gradient: a unit the first step saturated), or None when none of their
        steps was adaptive (see :func:`adaptive_step`)."""
        sizes = [max(xs) for t in arrays if (xs := [x for x in self.adaptive.get(t, ()) if math.isfinite(x)])]
        return float(median(sizes)) if sizes else None

    def adaptive_entries_size(self, arrays: Iterable[str]) -> tuple[float, float] | None:
        """``(step, size)``: the largest step per entry of an adaptive rule on a weight matrix among ``arrays`` and the
        root mean square of that matrix's entries before it (see :attr:`adaptive_entries`), for the matrix whose
        largest ratio of the two is the median over the matrices; None when none was measured."""
        best: list[tuple[float, float, float]] = []
        for t in arrays:
            pairs = [(x / e, x, e) for x, e in self.adaptive_entries.get(t, ()) if math.isfinite(x / e)]
            if pairs:
                best.append(max(pairs))
        if not best:
            return None
        best.sort()
        _, step, size = best[(len(best) - 1) // 2]
        return step, size

    def _adaptive(self, st: PathStats, old_values: np.ndarray, now_values: np.ndarray) -> None:
        """``st`` took a step of an adaptive rule: its size per entry, and (a weight matrix) its entries' size."""
        step = entry_step(old_values, now_values)
        self.adaptive.setdefault(st.text, []).append(step)
        if len(st.shape) >= 2:
            with np.errstate(all="ignore"):
                rms = float(np.sqrt(np.mean(old_values * old_values)))
            if rms > 0 and math.isfinite(rms) and math.isfinite(step):
                self.adaptive_entries.setdefault(st.text, []).append((step, rms))

    def momentum(self, arrays: Iterable[str]) -> bool:
        """Whether the steps of ``arrays`` (the parameters, by their text) read a velocity: an array that decays
        (``v = mu * v - lr * g``; ``p += v`` or Nesterov's ``p += mu * v - lr * g``). Such a step is no multiple of
        the gradient of its own batch; only its direction follows it."""
        return any(r.decays for t in arrays for r in self.reads.get(t, ()))

    def momentum_decay(self, arrays: Iterable[str]) -> float | None:
        """The share of the last step the steps of ``arrays`` (the parameters, by their text) keep through the
        velocities they read (``v = mu * v - lr * g; p += v``: ``mu``): the median over those velocities' changes, or
        None when no step read a velocity."""
        mus = [m for t in arrays for r in self.reads.get(t, ()) if r.decays for m in self.decays.get(r.text, ())
               if math.isfinite(m)]
        return float(median(mus)) if mus else None

    def velocity_decays(self) -> dict[str, tuple[float, float]]:
        """Every velocity a parameter's step added as a multiple of it (``p += f * v``, see :attr:`via`) -> the median
        share of its own values its changes kept (``mu``, see :attr:`decays`) and the factor ``f`` of that step
        (``p += v``: 1; ``p -= lr * v``: ``-lr``). ``-f * (v - mu * v_before)`` is then what one step applied of the
        velocity's intake, in the parameter's units: ``lr * g`` for ``v = mu * v - lr * g; p += v`` and for
        ``v = mu * v + g; p -= lr * v`` alike, ``lr * (1 - mu) * g`` for a moving average."""
        out: dict[str, tuple[float, float]] = {}
        for f, text in self.via.values():
            mus = [m for m in self.decays.get(text, ()) if math.isfinite(m)]
            mu = float(median(mus)) if mus else 0.0
            # a decay of 0 keeps nothing of the last step: a buffer emptied at every update (fresh zeros), no velocity
            if mu > 0 and math.isfinite(f) and f != 0:
                out[text] = (mu, f)
        return out

    def momentum_sign(self, arrays: Iterable[str]) -> tuple[float, Velocity] | None:
        """Which way the steps of ``arrays`` (the parameters, by their text) move along the gradients the program
        returned, through a velocity: ``p += s * v`` with ``v = mu * v + c * g`` moves ``p`` by ``s * c * g`` per
        step and by ``s * c / (1 - mu) * g`` in the long run. The sign of ``s * c`` (-1 for a descent along a gradient
        of the loss, ``v = mu * v - lr * g; p += v``, +1 for a climb) and the velocity of the first parameter; None
        when no step read a velocity that took in a returned array, or when the parameters disagree."""
        signs: list[float] = []
        first: Velocity | None = None
        for t in arrays:
            via = self.via.get(t)
            v = self.velocities.get(via[1]) if via is not None else None
            if via is None or v is None or not math.isfinite(via[0] * v.c) or via[0] * v.c == 0:
                continue
            signs.append(math.copysign(1.0, via[0] * v.c))
            first = first or v
        if not signs or first is None or len(set(signs)) > 1:
            return None
        return signs[0], first

    def _reading(self, st: PathStats, read: PathStats | None) -> None:
        """``st`` stepped reading ``read`` (a followed array, or None: a temporary)."""
        if read is None:
            return
        seen = self.reads.setdefault(st.text, [])
        if len(seen) < 8 and not any(r is read for r in seen):
            seen.append(read)

    def returned(self, arrays: list[np.ndarray]) -> None:
        """Float arrays a function of the program returned: the latest of each shape may be what a step reads."""
        if len(self._returned) > RETURNED_SHAPES:
            self._returned.clear()
        for a in arrays[:8]:
            self._returned[a.shape] = a

    def _pools(self, moved: list[tuple[PathStats, np.ndarray, np.ndarray]], paths: list[PathStats],
               frame: FrameType | None) -> tuple[dict[tuple[int, ...], list[tuple[PathStats | None, int, np.ndarray]]],
                                               dict[int, str]]:
        """Per shape that moved, what a step could have read: ``(stats or None, id, sampled values)`` of every
        followed array (as at the last scan), of the moved ones now, of the arrays returned last and of the running
        function's locals; and the locals' names by id."""
        shapes = {st.shape for st, _, _ in moved}
        pools: dict[tuple[int, ...], list[tuple[PathStats | None, int, np.ndarray]]] = {s: [] for s in shapes}
        for st in paths:
            if st.shape in shapes and st.values is not None and st.idx is not None and len(st.values) == len(st.idx):
                pools[st.shape].append((st, st.obj, st.values))  # the values at the last scan
        for st, a, now_values in moved:
            pools[st.shape].append((st, id(a), now_values))
        extra = [("", v) for v in self._returned.values()] + (
            list(frame.f_locals.items())[:256] if frame is not None else [])
        # a local that is a followed array (``p += v`` in a helper handed ``vel['W1']``) is that array, read now: its
        # values at the last scan are stale when its fingerprint's entries missed a sparse change
        followed = {st.obj: st for st in paths if st.shape in shapes}
        names: dict[int, str] = {}
        for k, v in extra:
            if issubclass(type(v), np.ndarray) and v.shape in shapes and v.dtype.kind == "f":
                pools[v.shape].append((followed.get(id(v)), id(v), entries(v, self.index(v.shape)).astype(float)))
                if k:
                    names.setdefault(id(v), k)
        return pools, names

    def _no_single_array(self, st: PathStats, old_values: np.ndarray, now_values: np.ndarray,
                         pool: list[tuple[PathStats | None, int, np.ndarray]], eps: float,
                         readers: dict[int, list[PathStats]], returned: set[int], frame: FrameType | None,
                         fits: _Fits, seen: tuple[bytes, bytes], adaptive_reads: dict[int, list[int]]) -> None:
        """A change that is no multiple of one array it could read: undecided, a decay, a step reading two arrays or
        an adaptive step (or none of them; ``adaptive_reads``: object -> how often an adaptive step read it over the
        scale, and as the scale; ``seen``: the change's :meth:`_Fits.entries`)."""
        values = [v for _, _, v in pool]
        if st.started_zero and fits.of(_multiple_of_one_of, pool, seen, old_values, old_values, _kept_values, eps):
            # started at zero like another array the program keeps, and still a multiple of it (a bias and its velocity
            # after one update): its own values carry nothing of their own, a decay is a combination too
            st.undecided += 1
        elif (k := fits.of(decayed_toward, pool, seen, old_values, now_values, _values, eps)) is not None:
            st.decays += 1  # a velocity or a moving average: a buffer, never a parameter
            if k < len(values):
                kept = self.decays.setdefault(st.text, [])
                if len(kept) < 8:
                    kept.append(decay(old_values, now_values, values[k]))
            if k < len(values) and pool[k][1] in returned and frame is not None:
                # what it takes in of the gradients a function returned (``v = mu * v - lr * g``: -lr)
                self.velocities[st.text] = Velocity(st.text, intake(old_values, now_values, values[k]), frame.f_code)
        elif (pair := fits.of(combined_step, pool, seen, old_values, now_values, _first_values, eps)) is not None:
            st.steps += 1  # p += mu * v - lr * g (Nesterov), p -= lr * (g + wd * p): a step reading two arrays
            for read in (pool[k][0] for k in pair[:2] if k >= 0):
                if read is not None and not read.cache:
                    readers.setdefault(read.obj, []).append(st)
                    self._reading(st, read)
        elif (moments := fits.of(adaptive_step, pool, seen, old_values, now_values, _kinds_and_values)) is not None:
            st.steps += 1  # p -= lr * m / (sqrt(v) + eps): a step of an adaptive rule, reading m and v
            self._adaptive(st, old_values, now_values)
            for m in moments:
                if m is not None:
                    readers.setdefault(m.obj, []).append(st)
            numerator, divisor = moments
            if numerator is not None:
                adaptive_reads.setdefault(numerator.obj, [0, 0])[0] += 1
            adaptive_reads.setdefault(divisor.obj, [0, 0])[1] += 1
        elif (squares := _running_squares(pool)) and (k := fits.of(scaled_by_running_square, pool, seen, old_values, now_values,
                                                                      _square_pairs)) is not None:
            st.steps += 1  # step = lr * g / (sqrt(sq) + eps), sq = rho * sq + (1 - rho) * g**2: RMSProp, g unseen
            self._adaptive(st, old_values, now_values)
            adaptive_reads.setdefault(squares[k][0].obj, [0, 0])[1] += 1

    def judge(self, moved: list[tuple[PathStats, np.ndarray, np.ndarray]], paths: Iterable[PathStats],
              frame: FrameType | None) -> None:
        """Tell, for each array that changed (``(stats, array, its sampled values now)``), whether the change was a
        step, an accumulation or a reset, and mark what each step read; ``paths`` are every array discovery follows
        (their ``values`` are those of the last scan), ``frame`` the function running."""
        paths = list(paths)
        pools, names = self._pools(moved, paths, frame)
        readers: dict[int, list[PathStats]] = {}
        adaptive_reads: dict[int, list[int]] = {}
        resets: set[int] = set()
        # the gradients a function returned, and the locals that are those arrays (``for k, g in grads.items()``)
        returned = {id(v) for v in self._returned.values()}
        fits = _Fits()
        own: dict[int, list[tuple[PathStats | None, int, np.ndarray]]] = {}  # an array's pool, by the array's id
        for st, a, now_values in moved:
            old_values = st.values
            st.values = now_values
            if old_values is None or len(old_values) != len(now_values) or st.cache:
                continue  # (a cache is rewritten by the forward, never stepped)
            if is_reset(old_values, now_values):
                st.resets += 1
                resets.add(st.obj)
                continue
            pool = _pool_of(st, a, pools[st.shape], own, fits)
            eps = _eps(a.dtype)
            seen = fits.entries(old_values, now_values)
            hit = fits.of(proportional_to, pool, seen, old_values, now_values, _values, eps)
            if hit is None:
                self._no_single_array(st, old_values, now_values, pool, eps, readers, returned, frame, fits, seen,
                                      adaptive_reads)
                continue
            read, read_obj, _ = pool[hit[0]]
            if read is not None:
                self.via[st.text] = (hit[1], read.text)
            copy = abs(hit[1] - 1.0) <= 1e-9
            if hit[1] < 0 and abs(hit[1] + 1.0) > 1e-9 and len(self.rates.get(st.text, ())) < 64:
                # a descent by a multiple of what it read: that multiple is the learning rate the step applied (an
                # array subtracted as it is, ``p -= v``, is a velocity or an update computed elsewhere: no rate)
                self.rates.setdefault(st.text, []).append(-hit[1])
                named = read.text if read is not None else names.get(read_obj, "")
                if named:
                    self.read[st.text] = named
            if copy and read is None:
                st.accumulations += 1  # ``g += dW``, a gradient just computed (``p += v`` adds a velocity kept: a step)
            elif copy and not np.any(old_values):
                continue  # filled from zeros with another array's values (``Z2 = W2 @ A1 + b2`` with A1 all zero)
            else:
                st.steps += 1
                # a first step from zeros that read another array started at zero says nothing of who reads whom: a
                # velocity and a bias that both start at zero are both multiples of the first gradient (and of each other)
                if read is not None and not read.cache and (np.any(old_values) or not read.started_zero):
                    readers.setdefault(read.obj, []).append(st)
                    self._reading(st, read)
        # one array under two paths (``self.grads`` and the module's ``model.grads``) is one array: a path whose
        # sampled entries missed the change is what the update reads (or what was reset) too
        for st in paths:
            if st.obj in readers and len(st.read_by) < 8:
                st.read_by.extend(r for r in readers[st.obj] if not any(r is x for x in st.read_by))
            if st.obj in resets and not st.resets:
                st.resets += 1
            if st.obj in adaptive_reads:
                st.numerator += adaptive_reads[st.obj][0]
                st.divisor += adaptive_reads[st.obj][1]
