"""The package's layout: public names stay callables, no import circles, concept folders.

Every submodule is imported (as ``pkgutil.walk_packages`` would) before the
public names are checked, so a submodule named like a public function would
replace it here. The import graph is read from the source and must have no
cycle, neither at module level nor counting the imports inside functions;
packages sit on layers (:data:`LAYERS`) and import only from below; no module
imports another package's private names; and every finding code is built in
one module of ``netdoctor/rules/``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import netdoctor

PKG = Path(netdoctor.__file__).parent
LAYOUT_SIZES = pytest.StashKey[list]()
"""Where the size check leaves its lines for the end of the run (tests/conftest.py prints them)."""


def _all_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(netdoctor.__path__, "netdoctor.")]


def _import(name: str) -> None:
    """Import a submodule; the ones built on the optional torch extra are skipped where torch is missing."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != "torch" or importlib.util.find_spec("torch") is not None:
            raise


def test_public_names_survive_importing_every_submodule():
    for name in _all_modules():
        _import(name)
    assert inspect.isfunction(netdoctor.gradcheck) and inspect.isfunction(netdoctor.diagnose)
    assert inspect.isfunction(netdoctor.observing)  # the package netdoctor.observe must not shadow it
    for name in netdoctor.__all__:
        value = getattr(netdoctor, name)
        assert not inspect.ismodule(value), f"netdoctor.{name} is a module"
    # the documented import paths
    from netdoctor import notebook, strategies, testing  # noqa: F401
    from netdoctor.cli import main
    from netdoctor.pytest_plugin import pytest_addoption  # noqa: F401

    assert callable(main) and callable(strategies.mlps) and callable(testing.assert_gradients_match)
    assert callable(notebook.watch)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PKG.parent / rel).with_suffix(".py").exists() or (PKG.parent / rel / "__init__.py").exists()


def import_graph(*, deferred: bool = False) -> dict[str, set[str]]:
    """Module -> netdoctor modules it imports when it is imported (module level, TYPE_CHECKING excluded).

    With ``deferred=True`` the imports inside functions and classes count too:
    a circle that only closes when a function runs is still a circle.
    """
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        me = _module_name(path)
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()

        def visit(nodes, me=me, is_pkg=is_pkg, targets=targets):
            for node in nodes:
                if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                    visit(node.orelse)
                    continue
                if deferred and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While)):
                    visit(node.body + getattr(node, "orelse", []))
                    continue
                if isinstance(node, (ast.If, ast.Try, ast.With)):
                    for field in ("body", "orelse", "finalbody", "handlers"):
                        for sub in getattr(node, field, []):
                            visit(sub.body if isinstance(sub, ast.ExceptHandler) else [sub])
                    continue
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        anchor = me.split(".") if is_pkg else me.split(".")[:-1]
                        anchor = anchor[: len(anchor) - (node.level - 1)]
                        base = ".".join(anchor + ([base] if base else []))
                    names = [base] + [f"{base}.{a.name}" for a in node.names]
                for name in names:
                    if name.startswith("netdoctor") and _is_module(name):
                        targets.add(name)
                        # importing a.b.c imports the packages a.b and a first
                        parts = name.split(".")
                        for k in range(1, len(parts)):
                            parent = ".".join(parts[:k])
                            if not me.startswith(parent + ".") and me != parent:
                                targets.add(parent)

        visit(tree.body)
        targets.discard(me)
        graph[me] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = dfs(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found
    return None


def test_no_import_circles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_no_import_circles_through_imports_inside_functions():
    cycle = find_cycle(import_graph(deferred=True))
    assert cycle is None, "import circle (counting imports inside functions): " + " -> ".join(cycle)


def test_deferred_imports_are_followed_into_functions_and_methods(tmp_path):
    graph = import_graph(deferred=True)
    # netdoctor.observe.numpy.backend imports its verdicts inside a method
    assert "netdoctor.observe.numpy.verdicts" in graph["netdoctor.observe.numpy.backend"]
    assert "netdoctor.observe.numpy.verdicts" not in import_graph()["netdoctor.observe.numpy.backend"]


LAYERS: tuple[tuple[str, ...], ...] = (
    ("netdoctor.errors", "netdoctor._lazy", "netdoctor.display"),
    ("netdoctor.params", "netdoctor.protocol", "netdoctor.usercode", "netdoctor.fileio"),
    ("netdoctor.nn",),
    ("netdoctor.monitor",),
    ("netdoctor.report",),
    ("netdoctor.findings",),
    ("netdoctor.data",),  # the loader's records (OddPlaces) are evidence the rules hold
    ("netdoctor.rules",),
    ("netdoctor.buffers",),
    ("netdoctor.gradients",),
    ("netdoctor.observe",),  # run's update check measures with the gradient checker (observe.numpy.update_check)
    ("netdoctor.adapters",),
    ("netdoctor.diagnosis",),
    ("netdoctor",),
    ("netdoctor.strategies", "netdoctor.testing", "netdoctor.notebook"),
    ("netdoctor.pytest_plugin", "netdoctor.cli"),
)
"""The packages (and top-level modules) from the floor up: each imports only from the layers below it."""


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_no_package_imports_a_package_above_it():
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    graph = import_graph(deferred=True)
    packages = {_package(m) for m in graph}
    assert packages <= set(layer), f"packages missing from LAYERS: {sorted(packages - set(layer))}"
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                    if _package(a) != _package(b) and layer[_package(b)] >= layer[_package(a)])
    assert not upward, "imports of a package on the same layer or above: " + "; ".join(upward)


def private_imports(source: str, me: str, is_pkg: bool = False) -> list[str]:
    """``module._name`` for every private name ``source`` imports from another package (anywhere in the file)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = node.module or ""
        if node.level:
            anchor = me.split(".") if is_pkg else me.split(".")[:-1]
            base = ".".join(anchor[: len(anchor) - (node.level - 1)] + ([base] if base else []))
        if not base.startswith("netdoctor") or _package(base) == _package(me):
            continue
        out += [f"{base}.{a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    return out


def test_no_module_imports_a_private_name_of_another_package():
    found = [f"{_module_name(p)} imports {name}" for p in sorted(PKG.rglob("*.py"))
             for name in private_imports(p.read_text(encoding="utf-8"), _module_name(p), p.name == "__init__.py")]
    assert not found, "; ".join(found)
    assert private_imports("from netdoctor.report.liveview import _show, shown", "netdoctor.notebook") == [
        "netdoctor.report.liveview._show"]
    assert private_imports("from netdoctor.report.sections import _KNOWN", "netdoctor.report.html") == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_definitions(source: str) -> set[str]:
    """Private names a module defines: ``self._x`` / ``cls._x`` attributes, methods, module-level names and functions."""
    tree = ast.parse(source)
    out = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
           and isinstance(n.value, ast.Name) and n.value.id in ("self", "cls") and _private(n.attr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            out |= {f.name for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(f.name)}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _private(node.name):
            out.add(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        out |= {t.id for t in targets if isinstance(t, ast.Name) and _private(t.id)}
    return out


def private_attribute_reads(sources: dict[str, str]) -> list[str]:
    """``module:line obj._name`` wherever a module reads a private name (``obj._x``, not ``self._x``) that only other
    modules of the package define: one module reaching into another's insides."""
    defined: dict[str, set[str]] = {}
    for module, source in sources.items():
        for name in private_definitions(source):
            defined.setdefault(name, set()).add(module)
    out = []
    for module, source in sorted(sources.items()):
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            owners = defined.get(node.attr)
            if owners and module not in owners:
                out.append(f"{module}:{node.lineno} {ast.unparse(node)} (defined in {', '.join(sorted(owners))})")
    return out


def test_no_module_reads_the_private_names_of_another():
    sources = {_module_name(p): p.read_text(encoding="utf-8") for p in sorted(PKG.rglob("*.py"))}
    found = private_attribute_reads(sources)
    assert not found, "private names read across modules (give them a public name): " + "; ".join(found)
    planted = {"a": "class A:\n    def __init__(self):\n        self._x = 1\n    def _m(self):\n        return self._x\n"
                    "_STATE = []\n",
               "b": "def f(a, mod):\n    return a._x, a._m(), mod._STATE, a.public\n"}
    assert sorted(row.split(" (")[0] for row in private_attribute_reads(planted)) == ["b:2 a._m", "b:2 a._x", "b:2 mod._STATE"]


def test_the_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_at_most_twelve_modules_at_the_top():
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top) <= 12, top
    folders = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").exists())
    for folder in folders:
        face = (PKG / folder / "__init__.py").read_text(encoding="utf-8")
        assert face.lstrip().startswith('"""'), f"netdoctor/{folder}/__init__.py has no docstring saying what lives there"


def renderable_modules() -> set[str]:
    """Modules that define a class mixing in ``Renderable`` (the data classes people look at)."""
    found = set()
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(ast.unparse(b).split(".")[-1] == "Renderable" for b in node.bases):
                found.add(_module_name(path))
    return found


def cross_imports(graph: dict[str, set[str]], data: set[str]) -> list[str]:
    """Each import between a data module and a renderer (a module of ``netdoctor.report``), either way."""
    def renderer(m: str) -> bool:
        return m == "netdoctor.report" or m.startswith("netdoctor.report.")

    return sorted([f"{a} imports {b}" for a in data for b in graph.get(a, ()) if renderer(b)]
                  + [f"{a} imports {b}" for a in graph if renderer(a) for b in graph[a] if b in data])


def test_data_classes_and_renderers_do_not_import_each_other():
    """Not even inside functions: both sides meet in netdoctor.display, and the package's face plugs the renderers in."""
    data = renderable_modules()
    assert {"netdoctor.findings", "netdoctor.gradients.result", "netdoctor.data.summary"} <= data, data
    crossing = cross_imports(import_graph(deferred=True), data)
    assert not crossing, "data classes and renderers must not import each other: " + "; ".join(crossing)
    planted = {"netdoctor.findings": {"netdoctor.report.terminal"}, "netdoctor.report.html": {"netdoctor.data.summary"},
               "netdoctor.report.format": {"netdoctor.errors"}}
    assert cross_imports(planted, {"netdoctor.findings", "netdoctor.data.summary"}) == [
        "netdoctor.findings imports netdoctor.report.terminal", "netdoctor.report.html imports netdoctor.data.summary"]


MAX_FUNCTION_LINES = 60
"""Lines of code in a function body (its docstring not counted) above which the docstring must say why."""


def long_functions(source: str) -> list[tuple[str, int, int, str]]:
    """``(name, first line, lines of code, docstring)`` of every function whose body exceeds :data:`MAX_FUNCTION_LINES`."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        doc = ast.get_docstring(node) or ""
        body = node.body[1:] if doc and len(node.body) > 1 else node.body
        lines = node.end_lineno - body[0].lineno + 1
        if lines > MAX_FUNCTION_LINES:
            out.append((node.name, node.lineno, lines, doc))
    return out


def test_long_functions_say_why_they_are_long():
    unexplained = []
    for path in sorted(PKG.rglob("*.py")):
        for name, line, lines, doc in long_functions(path.read_text(encoding="utf-8")):
            if not any(row.strip().startswith("Long because") for row in doc.splitlines()):
                unexplained.append(f"{path.relative_to(PKG.parent)}:{line} {name} ({lines} lines)")
    assert not unexplained, (f"functions over {MAX_FUNCTION_LINES} lines without a 'Long because ...' line in their "
                             "docstring (split them into stages, or say why not): " + "; ".join(unexplained))


def test_the_length_check_counts_code_not_docstrings():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    doc = '    """Doc.\n\n' + "    more\n" * 30 + '    """\n'
    long_code = f"def f():\n{body}\n"
    long_doc = f"def g():\n{doc}    return 1\n"
    explained = f'def h():\n    """Doc.\n\n    Long because it is a test.\n    """\n{body}\n'
    assert [(n, lines) for n, _, lines, _ in long_functions(long_code)] == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(long_doc) == []
    assert "Long because it is a test." in long_functions(explained)[0][3]


MAX_CLASS_LINES = 300
"""Lines of a class (its docstring not counted) above which its docstring must say why it is one class."""

BEING_SPLIT = {
    "NumpyBackend": ("observe/numpy/backend.py: what it records while watching is in updates, targets, outputs, "
                     "activations and views; its state (__init__), the events and the report's context remain"),
}
"""Oversized classes whose split is under way, each with where and by whom; the set only shrinks: the test fails
when one of them is no longer oversized and still listed."""


def sizes(source: str) -> list[tuple[str, str, int, int, str]]:
    """``(kind, qualified name, first line, lines of code, docstring)`` of every class and function (docstrings not counted)."""
    out = []

    def visit(nodes, prefix: str) -> None:
        for node in nodes:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node) or ""
                body = node.body[1:] if doc and len(node.body) > 1 else node.body
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                out.append((kind, prefix + node.name, node.lineno, node.end_lineno - body[0].lineno + 1, doc))
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                visit([n for field in ("body", "orelse", "finalbody", "handlers") for n in getattr(node, field, [])], prefix)
            elif isinstance(node, ast.ExceptHandler):
                visit(node.body, prefix)

    visit(ast.parse(source).body, "")
    return out


def package_sizes() -> list[tuple[str, str, str, int, str]]:
    """``(kind, name, file:line, lines, docstring)`` over the package, largest first."""
    rows = [(kind, name, f"{path.relative_to(PKG.parent)}:{line}", lines, doc) for path in sorted(PKG.rglob("*.py"))
            for kind, name, line, lines, doc in sizes(path.read_text(encoding="utf-8"))]
    return sorted(rows, key=lambda r: -r[3])


def oversized_classes(rows) -> list[str]:
    """Classes over :data:`MAX_CLASS_LINES` whose docstring has no ``Long because`` line, and not being split."""
    return [f"{where} {name} ({lines} lines)" for kind, name, where, lines, doc in rows
            if kind == "class" and lines > MAX_CLASS_LINES and name not in BEING_SPLIT
            and not any(row.strip().startswith("Long because") for row in doc.splitlines())]


def test_large_classes_say_why_they_are_one_class(request):
    rows = package_sizes()
    largest = {kind: next(r for r in rows if r[0] == kind) for kind in ("class", "function")}
    over = [f"{name} {lines}" for kind, name, _, lines, _ in rows if kind == "class" and lines > MAX_CLASS_LINES]
    # shown at the end of the run (tests/conftest.py): the largest class and function, and every class over the limit
    request.config.stash[LAYOUT_SIZES] = (
        [f"largest {kind}: {name} ({lines} lines, {where})" for kind, (_, name, where, lines, _) in largest.items()]
        + [f"classes over {MAX_CLASS_LINES} lines: {', '.join(over) or 'none'}"])
    unexplained = oversized_classes(rows)
    assert not unexplained, (f"classes over {MAX_CLASS_LINES} lines without a 'Long because ...' line in their docstring "
                             "(split them into classes with one job each, or say why not): " + "; ".join(unexplained))
    sizes_by_name = {name: lines for kind, name, _, lines, _ in rows if kind == "class"}
    done = sorted(name for name in BEING_SPLIT if sizes_by_name.get(name, 0) <= MAX_CLASS_LINES)
    assert not done, f"no longer over {MAX_CLASS_LINES} lines: take {done} off BEING_SPLIT"


def test_the_class_size_check_finds_a_long_class_and_accepts_a_reason():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_CLASS_LINES + 1))
    plain = f'class Big:\n    """Doc."""\n{body}\n'
    said = f'class Said:\n    """Doc.\n\n    Long because it is a test.\n    """\n{body}\n'
    rows = [("class", name, "x.py:1", lines, doc) for kind, name, _, lines, doc in sizes(plain + said) if kind == "class"]
    assert [(name, lines) for _, name, _, lines, _ in rows] == [("Big", MAX_CLASS_LINES + 1), ("Said", MAX_CLASS_LINES + 1)]
    assert [name for _, name, *_ in sizes("class A:\n    def f(self):\n        def g():\n            pass\n")] == ["A", "A.f", "A.f.g"]
    assert oversized_classes(rows) == [f"x.py:1 Big ({MAX_CLASS_LINES + 1} lines)"]


def string_severities(source: str) -> list[int]:
    """Lines where ``Finding(...)`` gets its severity as a string literal instead of a ``Severity`` member."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Finding":
            given = [node.args[1]] if len(node.args) > 1 else [k.value for k in node.keywords if k.arg == "severity"]
            values = [v for g in given for v in ([g.body, g.orelse] if isinstance(g, ast.IfExp) else [g])]
            if any(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values):
                lines.append(node.lineno)
    return lines


def test_findings_name_their_severity_with_the_enum():
    found = [f"{path.relative_to(PKG.parent)}:{line}" for path in sorted(PKG.rglob("*.py"))
             for line in string_severities(path.read_text(encoding="utf-8"))]
    assert not found, "Finding(..., 'error', ...) with a string; use Severity.ERROR: " + ", ".join(found)
    assert string_severities('Finding("x", "error", "w", "m")\nFinding("x", Severity.ERROR if a else "info", "w", "m")') == [1, 2]
    assert string_severities('Finding("x", Severity.WARNING, "w", "m")') == []


def test_ci_lints_type_checks_then_tests_and_stops_at_the_first_failure():
    script = (PKG.parent / ".ci" / "run").read_text(encoding="utf-8")
    steps = [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "set -euo pipefail" in steps
    order = [steps.index(step) for step in ("pip install -e '.[test]'", "ruff check .", "mypy", "python -m pytest -q")]
    assert order == sorted(order), steps


# -- one judgement per finding code ------------------------------------------------------------------
DOCS = PKG.parent / "docs" / "findings.md"

def documented_codes() -> set[str]:
    """Every code in the first column of a table of ``docs/findings.md``."""
    codes: set[str] = set()
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            codes.update(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", line.split("|")[1]))
    return codes


def codes_built(source: str) -> set[str]:
    """The codes of every ``Finding("code", ...)`` (or ``code="..."``) a source builds."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Finding":
            given = node.args[:1] or [k.value for k in node.keywords if k.arg == "code"]
            out.update(g.value for g in given if isinstance(g, ast.Constant) and isinstance(g.value, str))
    return out


def finding_builders() -> dict[str, set[str]]:
    """Code -> the modules that build a finding with it."""
    built: dict[str, set[str]] = {}
    for path in sorted(PKG.rglob("*.py")):
        for code in codes_built(path.read_text(encoding="utf-8")):
            built.setdefault(code, set()).add(_module_name(path))
    return built


def misplaced_codes(built: dict[str, set[str]]) -> list[str]:
    """Each code built in more than one module, or outside ``netdoctor.rules``, with where it is built."""
    return [f"{code} is built in {sorted(modules)}" for code, modules in sorted(built.items())
            if len(modules) != 1 or not next(iter(modules)).startswith("netdoctor.rules.")]


def test_every_finding_code_is_decided_in_one_module_of_the_rules_package():
    documented, built = documented_codes(), finding_builders()
    assert len(documented) >= 25, sorted(documented)
    assert set(built) <= documented, f"codes built but not in docs/findings.md: {sorted(set(built) - documented)}"
    assert documented <= set(built), f"codes in docs/findings.md that nothing builds: {sorted(documented - set(built))}"
    misplaced = misplaced_codes(built)
    assert not misplaced, "every code must be built once, in netdoctor/rules/: " + "; ".join(misplaced)


def test_a_code_built_twice_or_outside_the_rules_is_found():
    assert misplaced_codes({"a-b": {"netdoctor.rules.x"}}) == []
    assert misplaced_codes({"a-b": {"netdoctor.rules.x", "netdoctor.gradients.result"}, "c-d": {"netdoctor.diagnosis.y"},
                            "e-f": {"netdoctor.rules.x", "netdoctor.rules.z"}}) == [
        "a-b is built in ['netdoctor.gradients.result', 'netdoctor.rules.x']", "c-d is built in ['netdoctor.diagnosis.y']",
        "e-f is built in ['netdoctor.rules.x', 'netdoctor.rules.z']"]


def test_the_code_counter_sees_positional_and_keyword_codes():
    src = 'Finding("a-b", Severity.ERROR, "w", "m")\nFinding(code="c-d", severity=Severity.INFO)\nFinding(f.code, s)'
    assert codes_built(src) == {"a-b", "c-d"}
