"""What an object of the program is, asked without running any code of the program.

``isinstance(obj, T)`` is not a question the object stays out of: when ``type(obj)`` is not a ``T``, CPython
asks ``obj.__class__`` (the fallback that lets a proxy pass for what it wraps), through the program's own
``__getattribute__`` or a ``__class__`` property, and an abstract class's check (``io.IOBase``,
``collections.abc.Mapping``) reads it too; ``vars(obj)``, ``hasattr(obj, "__dict__")`` and
``getattr(obj, "__dict__")`` go through ``__getattribute__`` as well. A program whose class logs or counts its
lookups (a proxy, a lazy loader, a debugging aid) saw thousands of lookups under ``netdoctor run`` that plain
``python`` never makes, and a ``__class__`` that lies made the observer take the object for what it claims.

Everything of the observer that looks at the program's objects (the NumPy and PyTorch observers, the snapshots
of :mod:`netdoctor.observe.isolation` and the replays) asks the type instead, which no code of the program can
intercept (a metaclass aside):

- ``issubclass(type(v), np.ndarray)`` for ``isinstance(v, np.ndarray)``, a tuple of classes alike (abstract
  ones included: their subclass check sees only the type); ``type(v) is T`` where subclasses do not count;
- :func:`is_array` where the type checker must know the answer (``issubclass`` narrows nothing for mypy);
- :func:`own_dict` for ``vars(v)``, ``v.__dict__`` and ``hasattr(v, "__dict__")``;
- ``hasattr(type(v), name)`` for whether ``v`` has a method, ``own_dict(v).get(name)`` for an attribute;
- :func:`holds_numbers` before ``np.asarray`` of a list: numpy asks every item that is no number for
  ``__array__``, ``__array_interface__`` and ``__array_struct__``, through the item's own ``__getattribute__``.

An object whose ``__class__`` claims another class is what its type says, as ``python`` itself dispatches on
the type. ``issubclass(type(v), T)`` costs what ``isinstance`` costs (33 against 33 ns on an array, 37 against
34 ns on a plain object; a function around it, :func:`is_array`, costs 80 ns), so it is written inline, also on
the observer's hot paths. ``tests/test_peek.py`` runs programs whose classes count every lookup under
``netdoctor run`` and fails on a lookup that ``python`` does not make.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np

__all__ = ["holds_numbers", "is_array", "own_dict"]


def own_dict(obj: Any) -> Any:
    """``obj.__dict__`` (None without one), read without running the program's ``__getattr__`` or ``__getattribute__``.

    ``vars(obj)`` and ``getattr(obj, "__dict__")`` look the name up through ``type(obj).__getattribute__``; this
    reads the dictionary that ``object`` keeps (only a class that defines a ``__dict__`` property of its own, which
    no program in the corpora does, still has it called). Read it, never write through it: for a class it is the
    class's own dictionary, not the read-only view ``vars`` gives.
    """
    try:
        return object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return None


def is_array(v: object) -> TypeGuard[np.ndarray]:
    """``isinstance(v, np.ndarray)`` decided by ``type(v)`` alone, for code whose types must narrow to an array
    (subclasses such as ``np.memmap`` count, as they do for ``isinstance``)."""
    return issubclass(type(v), np.ndarray)


_NUMBERS = (int, float, np.number, np.ndarray, list, tuple)


def holds_numbers(v: list[Any] | tuple[Any, ...]) -> bool:
    """Whether a list or tuple starts and ends with numbers, arrays or lists: what ``np.asarray`` turns into numbers
    without asking an object of the program how (a list of layer objects is no batch and no targets). Only the two
    ends are looked at (a data set kept as a list has 60,000 rows)."""
    return bool(v) and issubclass(type(v[0]), _NUMBERS) and issubclass(type(v[-1]), _NUMBERS)
