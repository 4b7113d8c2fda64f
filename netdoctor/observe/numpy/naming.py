"""The names the report gives the network's arrays: those of the layers that hold them, not of a flat list of them.

A Keras-like program builds its layers as objects (``Dense`` with ``self.W``, ``self.b``) in a model
(``Sequential(layers)``) and hands an optimizer flat lists of references to them (``SGD(params, grads)``). Discovery
follows the arrays through the object whose steps read the most (the optimizer: it holds the velocities too), so its
paths are ``self.params[2]``, which says nothing of the layer. When another root the program keeps (the model
handed to ``fit(model, ...)``, a module's ``model``) holds every one of the same array objects, each under an
attribute or a named key (``model.layers[2].W``), the arrays are named from there, and the model's objects are where
the layers' inputs and outputs are looked for (:meth:`NumpyBackend._kept_paths`).
"""

from __future__ import annotations

from netdoctor.observe.numpy.arrays import Path, path_text
from netdoctor.observe.numpy.network import Param, Root

__all__ = ["buffer_ids", "layer_holder"]


def _named_step(path: Path) -> bool:
    """Whether the path's last step is an attribute or a string key (``.W``, ``['W1']``), not a list's position."""
    return bool(path) and (path[-1][0] == "attr" or issubclass(type(path[-1][1]), str))


def _by_array(root: Root) -> dict[int, Path]:
    """The array ids of the root's last scan, each with its first path."""
    out: dict[int, Path] = {}
    for path, fp in root.scan.items():
        out.setdefault(fp[0], path)
    return out


def layer_holder(best: Root, roots: dict[int | str, Root], params: list[Param],
                 buffers: dict[int, int] | None = None) -> Root | None:
    """Another root holding each parameter of ``best`` (the same array objects) under a named last step, when
    ``best`` reaches some of them only as a list's items (``self.params[2]``); the parameters (and their buffers,
    ``buffers``: the buffers' array ids by parameter index) take their names from it. None when no such root exists or
    ``best`` names them already.

    Of several such roots: one named by the program (``model``, an argument's or a global's name) before a ``self``
    (whose class the reader must guess), then the shortest names."""
    mine = _by_array(best)
    ids = [next((i for i, p in mine.items() if p == prm.path), None) for prm in params]
    if not params or None in ids or all(_named_step(prm.path) for prm in params):
        return None
    choice: tuple[tuple[int, int], Root, dict[int, Path]] | None = None
    for root in roots.values():
        if root is best or root.replaced or root.obj is best.obj:
            continue
        held = _by_array(root)
        paths = [held.get(i) for i in ids if i is not None]
        if len(paths) < len(params) or any(p is None or not _named_step(p) for p in paths):
            continue
        texts = [path_text(p, root.prefix) for p in paths if p is not None]
        rank = (int(root.prefix == "self"), sum(map(len, texts)))
        if choice is None or rank < choice[0]:
            choice = (rank, root, held)
    if choice is None:
        return None
    _, root, held = choice
    for k, (prm, i) in enumerate(zip(params, ids)):
        prm.found_text = prm.text
        prm.text = path_text(held[i], root.prefix) if i is not None else prm.text
        b = buffers.get(k) if buffers else None
        if b is not None and b in held and _named_step(held[b]):
            prm.buffer_text = path_text(held[b], root.prefix)
    return root


def buffer_ids(best: Root, params: list[Param]) -> dict[int, int]:
    """The array id of each parameter's gradient buffer in ``best``'s last scan, by parameter index."""
    by_path = {path: fp[0] for path, fp in best.scan.items()}
    return {k: by_path[prm.buffer] for k, prm in enumerate(params) if prm.buffer is not None and prm.buffer in by_path}

