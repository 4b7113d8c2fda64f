"""Rows of the program's data tables handed around as views (a batch ``X[s:s + 20]``, a target helper's code row):
the same rows must come back with the same values, or the program wrote into its data (mutated-constant).

Functions of ``self: NumpyBackend``, bound in :class:`~netdoctor.observe.numpy.backend.NumpyBackend` under their own
names (not a mixin: mypy checks their bodies against the class, whose state is declared there).
"""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING

import numpy as np

from netdoctor.buffers.peek import is_array
from netdoctor.buffers.reach import root_array
from netdoctor.observe.numpy.arrays import entries, path_text, resolve, sample_index, walk_arrays
from netdoctor.observe.numpy.sharing import row_set, same_rows

if TYPE_CHECKING:
    from netdoctor.observe.numpy.backend import NumpyBackend


def _served_view(self: NumpyBackend, name: str, v: np.ndarray, frame: FrameType, *, table: int = 10) -> None:
    """Rows of a long-lived array handed to the contributor again must hold the same values as the first time.

    ``table``: how many times the view's size the array behind it must be (a view of a temporary of about its own
    size is no table); a target helper's code table has only as many rows as classes."""
    base = self._table_under(v, table)
    if base is None:
        return  # not a view, or a view of a temporary of its own size
    # the view's place in the table: its address less the table's (``ctypes.data``, 2 us, against 4.5 us for each
    # ``__array_interface__`` dict; a table held already has its address kept)
    start = self._base_data[id(base)] if self._view_bases.get(id(base)) is base else base.ctypes.data
    key = (id(base), v.ctypes.data - start, v.shape, v.strides)
    idx = self._view_idx.get(v.shape)
    if idx is None:
        idx = self._view_idx[v.shape] = sample_index(v.size, 64, self.rng)
    values = entries(v, idx).tobytes()
    old = self._views.get(key)
    if old is None:
        if len(self._views) < 20_000 and (id(base) in self._view_bases or len(self._view_bases) < 8):
            if id(base) not in self._view_bases:
                if self._network_array(base):
                    return  # a parameter, buffer or cache: written by training, no table
                self._row_sets[id(base)] = row_set(base)
            self._view_bases[id(base)] = base  # held: the id must not be reused while we compare
            self._base_data[id(base)] = start
            self._views[key] = values
    elif old != values and id(base) not in self.mutated_views:
        now = row_set(base)
        if now is not None and same_rows(self._row_sets.get(id(base)), now):
            # the same rows in another order (a data set shuffled in place between epochs): nothing was written
            # into them; its positions are compared afresh from here
            self._views = {k: b for k, b in self._views.items() if k[0] != id(base)}
            return
        self.mutated_views[id(base)] = {"argument": name, "function": frame.f_code.co_name, "update": self.updates,
                                        "shape": list(base.shape), "base": self._name_of(base, frame)}


def _forward_inputs(self: NumpyBackend, frame: FrameType) -> None:
    """Rows of a data set handed to the forward as a view (``forward(X[s:s + 20])``, the batches a generator
    slices from the data) must hold the same values whenever they come back: a training loop written inline
    hands its data to no gradient function, and a batch scaled in place (``x /= 255``) rewrites the data set."""
    code = frame.f_code
    loc = frame.f_locals
    for name in code.co_varnames[: code.co_argcount]:
        v = loc.get(name)
        if is_array(v) and v.base is not None and v.dtype.kind == "f":
            self._served_view(name, v, frame)


def _table_under(v: np.ndarray, table: int) -> np.ndarray | None:
    """The array at the root of view ``v`` when it holds at least ``table`` times ``v``'s entries (a table, not a
    temporary of about ``v``'s own size), else None (``v`` is no view, or is empty)."""
    base = root_array(v)
    if base is v or v.size == 0 or base.size < table * v.size:
        return None
    return base


def _table_row(self: NumpyBackend, v: np.ndarray) -> bool:
    """Whether ``v`` is a view of a long-lived array at least twice its size that is not the network's."""
    base = self._table_under(v, 2)
    return base is not None and not self._network_array(base)


def _network_array(self: NumpyBackend, a: np.ndarray) -> bool:
    """Whether ``a`` is a parameter, a gradient buffer or a forward cache of the network (arrays training writes)."""
    root = self.root.obj
    paths = [prm.path for prm in self.params] + [prm.buffer for prm in self.params if prm.buffer is not None]
    return any(resolve(root, p) is a for p in paths + list(self.cache_paths or ()))


def _name_of(self: NumpyBackend, a: np.ndarray, frame: FrameType | None) -> str:
    """A name the program uses for array ``a`` (its globals, the network, the running frames), or ""."""
    root = self.root.obj
    for p, x in walk_arrays(root, globals_root=self.root.globals_root, max_depth=2, max_items=64, skip=self.root.skip):
        if x is a:
            return path_text(p, self.root.prefix)
    f, depth = frame, 0
    while f is not None and depth < 6:
        for scope in (f.f_locals, f.f_globals):
            for k, x in scope.items():
                if x is a:
                    return k
        f, depth = f.f_back, depth + 1
    return ""
