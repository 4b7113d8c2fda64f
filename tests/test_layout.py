"""The package's layout: public names stay callables, no import circles, concept folders.

Every submodule is imported (as ``pkgutil.walk_packages`` would) before the
public names are checked, so a submodule named like a public function would
replace it here. The import graph is read from the source (module-level
imports only: imports inside functions are deferred on purpose) and must have
no cycle.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path

import netdoctor

PKG = Path(netdoctor.__file__).parent


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


def import_graph() -> dict[str, set[str]]:
    """Module -> netdoctor modules it imports when it is imported (module level, TYPE_CHECKING excluded)."""
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
