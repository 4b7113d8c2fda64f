"""netdoctor's compiled parts, each optional: ``pip install .`` builds them where a C compiler and Python's headers
exist, and netdoctor runs on its pure-Python code where they do not (a failed build is a warning, not an error).

Everything else about the package is in ``pyproject.toml``. To add a part, append an ``Extension`` with
``optional=True`` to :data:`EXTENSIONS` (:func:`part` makes one, stamped with its source) and give its Python module
a fallback for when it cannot be imported.
"""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent


def part(name: str, source: str) -> Extension:
    """An optional compiled part, with the stamp of its C source compiled in (the macro ``NETDOCTOR_SOURCE``, read
    as the module's ``SOURCE``): the first 16 hex digits of the source's SHA-256, line ends read as ``\\n``. At import
    netdoctor compares it with the stamp of the source beside the part (``netdoctor/_lazy.py``, ``source_stamp``:
    the same digest; tests/test_lazy.py holds the two together) and uses its pure-Python code when they differ."""
    stamp = hashlib.sha256((HERE / source).read_bytes().replace(b"\r\n", b"\n")).hexdigest()[:16]
    return Extension(name, [source], optional=True, define_macros=[("NETDOCTOR_SOURCE", stamp)])


EXTENSIONS = [
    # The call filter under `netdoctor run`'s tracer (netdoctor/observe/tracer.py; NETDOCTOR_PURE_TRACER=1 turns it off).
    part("netdoctor.observe._ctrace", "netdoctor/observe/_ctrace.c"),
    # The CSV scan under netdoctor.data.load (netdoctor/data/csvparse.py; NETDOCTOR_PURE_CSV=1 turns it off).
    part("netdoctor.data._csvscan", "netdoctor/data/_csvscan.c"),
]

setup(ext_modules=EXTENSIONS)
