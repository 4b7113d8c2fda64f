"""netdoctor's compiled parts, each optional: ``pip install .`` builds them where a C compiler and Python's headers
exist, and netdoctor runs on its pure-Python code where they do not (a failed build is a warning, not an error).

Everything else about the package is in ``pyproject.toml``. To add a part, append an ``Extension`` with
``optional=True`` to :data:`EXTENSIONS` and give its Python module a fallback for when it cannot be imported.
"""

from setuptools import Extension, setup

EXTENSIONS = [
    # The call filter under `netdoctor run`'s tracer (netdoctor/observe/tracer.py; NETDOCTOR_PURE_TRACER=1 turns it off).
    Extension("netdoctor.observe._ctrace", ["netdoctor/observe/_ctrace.c"], optional=True),
    # The CSV scan under netdoctor.data.load (netdoctor/data/csvparse.py; NETDOCTOR_PURE_CSV=1 turns it off).
    Extension("netdoctor.data._csvscan", ["netdoctor/data/_csvscan.c"], optional=True),
]

setup(ext_modules=EXTENSIONS)
