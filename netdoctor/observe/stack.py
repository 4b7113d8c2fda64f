"""The iterators of the ``for`` loops a suspended frame is running, read from its value stack (CPython 3.11).

A running ``for`` loop keeps its iterator on its frame's value stack, below
whatever the loop's body is computing; no Python API reaches it, yet it holds
what :mod:`netdoctor.observe.loops` needs where the loop's header does not tell
(``for i in rng.permutation(n)``, ``for idx in np.array_split(order, k)``, a
batch generator): what it iterates and how many items it has handed out.

The stack is read only where the interpreter has saved the frame's stack
pointer: a frame suspended at a call of a Python function, at a traced line,
or at a ``yield``. While a frame runs C code (a callback from ``map`` or
``sorted``), CPython 3.11 marks its pointer invalid (-1), and nothing is read.
The layout is checked before anything is read (the frame's code and frame
object are found where they must be); any other Python reads nothing
(:data:`WHY_NOT` says why). Reading a value here only takes a reference to
it: no code of the program runs.
"""

from __future__ import annotations

import ctypes
import sys
from types import CodeType, FrameType
from typing import Any

__all__ = ["SUPPORTED", "WHY_NOT", "stack_values"]

SUPPORTED = sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11)
"""Whether this interpreter's frames are laid out as this module reads them."""
WHY_NOT = "" if SUPPORTED else (
    f"a loop's iterator is read only on CPython 3.11 (this is {sys.implementation.name} "
    f"{sys.version_info[0]}.{sys.version_info[1]})")
"""Why no stack is read here ("" where it is)."""

_P = ctypes.sizeof(ctypes.c_void_p)
# CPython 3.11, Include/internal/pycore_frame.h: a frame object is PyObject_HEAD, f_back, f_frame (the
# _PyInterpreterFrame), ...; the _PyInterpreterFrame is f_func, f_globals, f_builtins, f_locals, f_code, frame_obj,
# previous, prev_instr, then ``int stacktop`` (the stack's top as an offset into localsplus), is_entry, owner, and
# localsplus: the fast locals, cells and free variables, then the value stack
_F_FRAME = 3 * _P
_I_CODE = 4 * _P
_I_FRAME_OBJ = 5 * _P
_I_STACKTOP = 8 * _P
_I_LOCALSPLUS = 9 * _P


def _locals_plus(code: CodeType) -> int:
    """Slots before the value stack: locals, cells and free variables (an argument held in a cell has one slot)."""
    names, cells = code.co_varnames, code.co_cellvars
    return len(names) + len(cells) - len(set(names) & set(cells)) + len(code.co_freevars)


def stack_values(frame: FrameType) -> list[Any] | None:
    """The values on ``frame``'s value stack, bottom first (None where they cannot be read, see the module docstring).

    ``frame`` must be suspended: a caller of the running code on this thread's stack, the frame of a traced event
    while its handler runs, or a suspended generator's frame.
    """
    if not SUPPORTED:
        return None
    code = frame.f_code
    iframe = ctypes.c_void_p.from_address(id(frame) + _F_FRAME).value
    if not iframe:
        return None
    if (ctypes.c_void_p.from_address(iframe + _I_CODE).value != id(code)
            or ctypes.c_void_p.from_address(iframe + _I_FRAME_OBJ).value != id(frame)):
        return None  # not the layout this module knows (a debug build), or a frame that has finished
    top = ctypes.c_int.from_address(iframe + _I_STACKTOP).value
    first = _locals_plus(code)
    if not first <= top <= first + code.co_stacksize:
        return None  # -1: the frame runs C code, its stack pointer not saved
    out = []
    for i in range(first, top):
        addr = ctypes.c_void_p.from_address(iframe + _I_LOCALSPLUS + i * _P).value
        if addr:  # NULL: the slot below a callable that is no method (a call under way)
            out.append(ctypes.cast(addr, ctypes.py_object).value)
    return out
