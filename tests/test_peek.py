"""``netdoctor run`` never runs the program's attribute hooks: what an object is, it asks the object's type.

``isinstance(obj, T)`` on an object that is no ``T`` reads ``obj.__class__`` through the program's
``__getattribute__`` (or a ``__class__`` property), and ``vars(obj)`` reads ``__dict__`` the same way: a program
whose class counts its lookups printed thousands more under the observer than under ``python``, and a layer whose
``__class__`` said ``np.ndarray`` stopped the observer. Each program here runs plainly and under ``netdoctor run``;
its output must be the plain run's, character for character. The corpus styles (a network class, layer objects,
dataclasses, parameter dicts, a closure, pure functions) run with every class they define counting its lookups and
with counting objects among their globals, so a new ``isinstance`` on a program object, anywhere the observer looks,
fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from netdoctor.buffers.peek import is_array, own_dict
from netdoctor.observe.isolation import kept, namespaces_of

HERE = Path(__file__).resolve().parent
TIMEOUT = 300


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NO_COLOR="1",
               COLUMNS="100")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)  # this checkout's code, whatever is installed
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def _plain_and_observed(source: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess, dict]:
    """The program ``source`` run by ``python`` and by ``netdoctor run --json``, each in a folder of its own."""
    runs = []
    for name, argv in (("plain", [sys.executable, "prog.py"]),
                       ("observed", [sys.executable, "-m", "netdoctor.cli", "run", "--json", "report.json", "prog.py"])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "prog.py").write_text(source, encoding="utf-8")
        runs.append(_run(argv, folder))
    plain, seen = runs
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert seen.returncode == 0, seen.stderr[-2000:]
    return plain, seen, json.loads((tmp_path / "observed" / "report.json").read_text(encoding="utf-8"))


def _observed(report: dict) -> str:
    """The report's context and notes, for a failure's message."""
    return f"context {report.get('context')}"


# -- programs whose classes answer lookups themselves ----------------------------------------------------------

def test_a_class_counting_its_lookups_counts_what_python_counts(tmp_path):
    source = (HERE / "peek_programs" / "counted_lookups.py").read_text(encoding="utf-8")
    plain, seen, report = _plain_and_observed(source, tmp_path)
    assert "__class__" not in plain.stdout and "__dict__" not in plain.stdout  # the program itself never asks
    assert seen.stdout.startswith(plain.stdout), f"{seen.stdout[:600]}\n{_observed(report)}"
    assert report["context"]["updates_observed"] == 300, _observed(report)


def test_a_layer_whose_class_lies_is_watched_as_the_layer_it_is(tmp_path):
    """``__getattr__`` hands unknown names to the weights and ``__class__`` says ``np.ndarray``: nothing asks either,
    and the network (two layers, four arrays) is found and followed through all of its 400 updates."""
    source = (HERE / "peek_programs" / "lying_proxy.py").read_text(encoding="utf-8")
    plain, seen, report = _plain_and_observed(source, tmp_path)
    assert "asked ['shape']" in plain.stdout  # only the program's own `layers[0].shape`
    assert seen.stdout.startswith(plain.stdout), f"{seen.stdout[:600]}\n{_observed(report)}"
    assert report["context"]["updates_observed"] == 400, _observed(report)
    assert not [n for n in report["context"].get("notes", []) if "error of its own" in n], _observed(report)


@pytest.mark.parametrize("bug", ["", "missing-derivative"])
def test_a_dict_subclass_with_getattr_is_copied_for_the_update_check_without_asking_it(bug, tmp_path):
    """``class AttrDict(dict)`` holding the parameters: the replay copies it through ``dict``'s own methods (no
    ``__deepcopy__`` asked of it), with working copies of the parameters, so the update check runs: the healthy
    program is quiet and a backward without the tanh derivative is named (on main 6af1bac: not checked, not named)."""
    source = (HERE / "peek_programs" / "attr_dict.py").read_text(encoding="utf-8")
    if bug:
        assert source.count("* (1 - h ** 2)") == 1
        source = source.replace("* (1 - h ** 2)", "* (1 - h)")
    plain, seen, report = _plain_and_observed(source, tmp_path)
    assert seen.stdout.startswith(plain.stdout), f"{seen.stdout[:600]}\n{_observed(report)}"
    notes = report["context"].get("notes", [])
    assert any(re.match(r"update check: \d+ update\(s\) compared", n) for n in notes), _observed(report)
    codes = {f["code"] for f in report["findings"] if f["severity"] in ("error", "warning")}
    assert codes == ({"gradient-mismatch"} if bug else set()), _observed(report)


def test_a_pytorch_programs_objects_are_not_asked_whether_they_are_tensors(tmp_path):
    """The PyTorch observer names tensors from the frames' variables: 8510 ``__class__`` lookups on main d49a5e2."""
    pytest.importorskip("torch")
    source = (HERE / "peek_programs" / "torch_config.py").read_text(encoding="utf-8")
    plain, seen, report = _plain_and_observed(source, tmp_path)
    assert "lookups [('lr', 1)]" in plain.stdout, plain.stdout
    assert seen.stdout.startswith(plain.stdout), f"{seen.stdout[:600]}\n{_observed(report)}"


def test_a_pytorch_models_own_lookups_are_never_made_by_the_observer(tmp_path):
    """The observer walks the model (parameters, submodules, train/eval mode) through what nn.Module keeps in each
    instance's __dict__, and the batch-leak probe's copy puts the program's counters back: on main 4a36e3a the
    model's classes counted 207 reads of ``training`` instead of 54, and 17 of ``parameters`` instead of 1."""
    pytest.importorskip("torch")
    source = (HERE / "peek_programs" / "torch_counted_model.py").read_text(encoding="utf-8")
    plain, seen, report = _plain_and_observed(source, tmp_path)
    assert "('training', 54)" in plain.stdout, plain.stdout
    assert seen.stdout.startswith(plain.stdout), f"{seen.stdout[:1500]}\n{_observed(report)}"


# -- the corpus styles, every class counting its lookups --------------------------------------------------------

COUNTING = '''\
import builtins as _nd_builtins
import collections as _nd_collections

_ND_LOOKUPS = []


class _NdCounted:
    """Counts every attribute lookup of its instances (and every name they lack)."""

    def __getattribute__(self, name):
        _ND_LOOKUPS.append(name)
        return object.__getattribute__(self, name)

    def __getattr__(self, name):
        _ND_LOOKUPS.append("missing " + name)
        raise AttributeError(name)


_nd_build_class = _nd_builtins.__build_class__


def _nd_counted_classes(func, name, *bases, **kwds):
    """Every class this module defines counts its lookups (a subclass through its base)."""
    if func.__globals__ is globals() and bases in ((), (object,)):
        bases = (_NdCounted,)
    return _nd_build_class(func, name, *bases, **kwds)


_nd_builtins.__build_class__ = _nd_counted_classes
_nd_spies = [_NdCounted(), {"spy": _NdCounted()}]  # objects of the program among its globals, in a list and a dict
_nd_spy = _NdCounted()
'''

REPORT = '''
_nd_builtins.__build_class__ = _nd_build_class
print("lookups", len(_ND_LOOKUPS), sorted(_nd_collections.Counter(_ND_LOOKUPS).items()))
'''

CORPUS = ["class_weights", "layer_objects", "dataclass_layers", "momentum_dict", "activation_objects",
          "closure_layers", "pure_params"]
"""A network class, layer objects in a list, dataclass layers, a class with parameter dicts, named layer objects
and an optimizer object, a closure over layer dicts, parameters passed through pure functions (the spies only)."""


def counted(source: str) -> str:
    """``source`` with the counting prelude after its ``from __future__`` imports and the count printed at its end."""
    lines = source.splitlines(keepends=True)
    cut = max((i + 1 for i, line in enumerate(lines) if line.startswith("from __future__")), default=0)
    return "".join(lines[:cut]) + COUNTING + "".join(lines[cut:]) + REPORT


@pytest.mark.parametrize("name", CORPUS)
def test_the_corpus_styles_look_up_under_the_observer_what_they_look_up_under_python(name, tmp_path):
    source = counted((HERE / "numpy_programs" / f"{name}.py").read_text(encoding="utf-8"))
    plain, seen, report = _plain_and_observed(source, tmp_path)
    counts = re.search(r"^lookups .*$", plain.stdout, re.M)
    assert counts is not None, plain.stdout[-800:]
    assert seen.stdout.startswith(plain.stdout), (
        f"python:   {counts.group(0)[:400]}\nobserved: "
        f"{(re.search(r'^lookups .*$', seen.stdout, re.M) or counts).group(0)[:400]}\n{_observed(report)}")
    assert report["context"]["updates_observed"] > 0, _observed(report)


def test_the_counting_prelude_counts_a_lookup_the_program_does_not_make(tmp_path):
    """The corpus test can fail: a program that asks ``isinstance`` of its own objects itself prints the lookups."""
    source = counted("import numpy as np\n\n\nclass Net:\n    pass\n\n\nnet = Net()\nisinstance(net, np.ndarray)\n"
                     "isinstance(_nd_spy, dict)\nvars(net)\n")
    (tmp_path / "prog.py").write_text(source, encoding="utf-8")
    out = _run([sys.executable, "prog.py"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "lookups 3 [('__class__', 2), ('__dict__', 1)]" in out.stdout, out.stdout


# -- the questions themselves ---------------------------------------------------------------------------------

class _Liar:
    """Says it is an array, and counts who asked."""

    asked = 0

    def __getattribute__(self, name):
        if name in ("__class__", "__dict__"):
            type(self).asked += 1
        return object.__getattribute__(self, name)

    @property  # type: ignore[misc]
    def __class__(self):
        return np.ndarray


def test_the_questions_read_the_type_and_never_the_object():
    liar = _Liar()
    liar.W = np.ones(2)
    assert isinstance(liar, np.ndarray)  # what the observer used to believe (and the lookup it made)
    asked = _Liar.asked
    assert not is_array(liar) and not issubclass(type(liar), np.ndarray)
    assert own_dict(liar) == {"W": liar.W}
    assert is_array(np.zeros(2)) and is_array(np.zeros(2).view(np.recarray)) and not is_array([1.0])
    assert own_dict(3) is None
    assert _Liar.asked == asked


def test_what_a_method_of_the_replayed_module_counts_is_put_back(monkeypatch):
    """A replay runs its function on copied globals, but the methods of the module's classes read the real ones (a
    ``__getattribute__`` counting into a module-level ``Counter``): the module is kept, and a ``Counter`` too."""
    module = types.ModuleType("netdoctor_peek_program")
    exec("import collections\nLOOKUPS = collections.Counter(seen=1)\nSIZES = [1]\n\n\nclass Net:\n"
         "    def forward(self):\n        LOOKUPS['forward'] += 1\n        SIZES.append(2)\n", module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    spaces = namespaces_of(module.__dict__, [])
    assert module in spaces
    with kept(spaces):
        module.Net().forward()
    assert module.LOOKUPS == {"seen": 1} and module.SIZES == [1]
