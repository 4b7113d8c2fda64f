"""Where in the user's source a finding points: file:line of an assignment, an update, an initialisation.

The observer sees values, not lines: it knows that ``self.weight_updates``
was re-bound to the list it already was, or that ``self.weights[0]`` moved
by 10x the learning rate. This module reads the user's file (once, with
``ast``) to name the line that did it: the assignments to an attribute, the
in-place updates of a container, the calls that initialise it, an
expression such as ``/ 255`` inside one function.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from types import CodeType

from netdoctor._lazy import dataclass
from netdoctor.usercode import short_path

__all__ = ["Line", "function_lines", "find_lines", "where_text", "short_path", "loop_names", "for_targets", "function_loop_names",
           "enclosing_loops", "statements_before"]


@dataclass(frozen=True)
class Line:
    """One line of the user's source."""

    filename: str
    lineno: int
    text: str
    function: str = ""

    def __str__(self) -> str:
        return f"{short_path(self.filename)}:{self.lineno}"


@functools.lru_cache(maxsize=64)
def _parsed(filename: str) -> tuple[ast.Module | None, tuple[str, ...]]:
    try:
        with open(filename, encoding="utf-8") as fh:
            text = fh.read()
        return ast.parse(text, filename), tuple(text.splitlines())
    except (OSError, SyntaxError, ValueError):
        return None, ()


@functools.lru_cache(maxsize=64)
def loop_names(filename: str) -> frozenset[str]:
    """Module-level names bound only inside the module's own loops (``for x, y in zip(...)``, ``for layer in net``,
    ``grad = ...`` in the loop body): loop variables and per-step temporaries, never state that outlives a step.

    A name also bound outside every loop (``W1 = ...`` before ``for ...: W1 -= ...``) is not one of them.
    Functions and classes are not looked into (their names are their own).
    """
    tree, _ = _parsed(filename)
    if tree is None:
        return frozenset()
    return _bound_only_in_loops(tree.body)


@functools.lru_cache(maxsize=64)
def for_targets(filename: str) -> frozenset[str]:
    """The names every ``for`` statement of the file binds, in functions too (``for p, g in zip(...)``: p and g)."""
    tree, _ = _parsed(filename)
    if tree is None:
        return frozenset()
    return frozenset(n.id for f in ast.walk(tree) if isinstance(f, ast.For) for n in ast.walk(f.target)
                     if isinstance(n, ast.Name))


@functools.lru_cache(maxsize=256)
def function_loop_names(filename: str, firstlineno: int) -> frozenset[str]:
    """The same as :func:`loop_names` for the body of the function defined at ``firstlineno`` (its first line,
    decorators included, as ``code.co_firstlineno`` says): its loop variables and per-step temporaries. Its arguments
    are bound by the call, outside every loop: never among them (``def train(layers, ...)`` rebinding ``layers`` to a
    list rebuilt at every step holds the network)."""
    tree, _ = _parsed(filename)
    if tree is None:
        return frozenset()
    for node in _functions(tree):
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if first == firstlineno:
            a = node.args
            given = {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x is not None}
            return _bound_only_in_loops(node.body) - given
    return frozenset()


def shallow_copy_source(node: ast.AST) -> ast.expr | None:
    """The container a statement's value copies shallowly (``dict(z)``, ``list(z)``, ``z.copy()``, ``copy.copy(z)``,
    ``z[:]``, ``{**z}``), or None: a new container holding the very objects ``z`` holds (an array's ``.copy()`` is a
    deep one, which shares nothing: it never gives two names to one object)."""
    v = getattr(node, "value", None)
    if isinstance(v, ast.Call) and not v.keywords:
        f = v.func
        if len(v.args) == 1 and (isinstance(f, ast.Name) and f.id in ("dict", "list") or isinstance(f, ast.Attribute)
                                 and f.attr == "copy" and isinstance(f.value, ast.Name) and f.value.id == "copy"):
            return v.args[0]
        if not v.args and isinstance(f, ast.Attribute) and f.attr == "copy":
            return f.value
    if isinstance(v, ast.Subscript) and isinstance(v.slice, ast.Slice) and not (v.slice.lower or v.slice.upper or v.slice.step):
        return v.value
    if isinstance(v, ast.Dict) and len(v.keys) == 1 and v.keys[0] is None:
        return v.values[0]
    return None


@functools.lru_cache(maxsize=256)
def copied_names(filename: str, firstlineno: int = 0) -> frozenset[str]:
    """Names the module's top level (``firstlineno`` 0) or the function defined at ``firstlineno`` binds to a shallow
    copy of a named container (:func:`shallow_copy_source`): ``grads = dict(zero_grads)`` in a loop is a per-step
    name, but one that shares every object of another."""
    tree, _ = _parsed(filename)
    if tree is None:
        return frozenset()
    body: list[ast.stmt] = tree.body
    if firstlineno:
        body = next((n.body for n in _functions(tree) if min([n.lineno, *(d.lineno for d in n.decorator_list)])
                     == firstlineno), [])
    out: set[str] = set()
    todo: list[ast.AST] = list(body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and isinstance(
                shallow_copy_source(n), (ast.Name, ast.Attribute, ast.Subscript)):
            out.add(n.targets[0].id)
        todo.extend(ast.iter_child_nodes(n))
    return frozenset(out)


def _bound_only_in_loops(body: list[ast.stmt]) -> frozenset[str]:
    inside: set[str] = set()
    outside: set[str] = set()

    def bound(node: ast.AST) -> set[str]:
        """Names a statement binds in the module's scope (a comprehension's or lambda's variables are their own)."""
        out: set[str] = set()
        todo = [node]
        while todo:
            n = todo.pop()
            if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
                continue
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                out.add(n.id)
            todo.extend(ast.iter_child_nodes(n))
        return out

    def visit(stmts: list[ast.stmt], in_loop: bool) -> None:
        for st in stmts:
            names = inside if in_loop else outside
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(st.name)
                continue
            if isinstance(st, (ast.For, ast.AsyncFor)):
                inside.update(bound(st.target))
            blocks: list[list[ast.stmt]] = [b for b in (getattr(st, f, None) for f in ("body", "orelse", "finalbody"))
                                            if isinstance(b, list) and b]
            blocks += [h.body for h in getattr(st, "handlers", [])]
            if not blocks:
                names.update(bound(st))
                continue
            if isinstance(st, (ast.With, ast.AsyncWith)):
                names.update(n for item in st.items if item.optional_vars is not None for n in bound(item.optional_vars))
            for block in blocks:
                visit(block, in_loop or isinstance(st, (ast.For, ast.AsyncFor, ast.While)))

    visit(body, False)
    return frozenset(inside - outside)


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return)


@functools.lru_cache(maxsize=64)
def _index(filename: str) -> tuple[tuple[tuple[ast.stmt, str], ...], tuple[tuple[str, int, int, int], ...]]:
    """The file's statements with their source text, and its functions as (name, first line, def line, last line); parsed once."""
    tree, _ = _parsed(filename)
    if tree is None:
        return (), ()
    nodes = sorted((n for n in ast.walk(tree) if isinstance(n, _STATEMENTS)), key=lambda n: n.lineno)
    statements = tuple((n, ast.unparse(n)) for n in nodes)
    functions = tuple((f.name, min([f.lineno, *[d.lineno for d in f.decorator_list]]), f.lineno, f.end_lineno or f.lineno)
                      for f in _functions(tree))
    return statements, functions


def function_lines(code: CodeType) -> tuple[int, int]:
    """First and last line of the function (or module) of ``code``."""
    tree, lines = _parsed(code.co_filename)
    if tree is None:
        return code.co_firstlineno, code.co_firstlineno
    if code.co_name == "<module>":
        return 1, len(lines)
    for name, first, lineno, last in _index(code.co_filename)[1]:
        if first == code.co_firstlineno and name == code.co_name:
            return lineno, last
    return code.co_firstlineno, code.co_firstlineno


def _enclosing(filename: str, lineno: int) -> str:
    best = ""
    for name, _, first, last in _index(filename)[1]:
        if first <= lineno <= last:
            best = name  # ast.walk is breadth first: inner functions come later
    return best


def find_lines(filenames: list[str] | str, predicate: Callable[[ast.AST, str], bool], *, within: CodeType | None = None,
               limit: int = 8) -> list[Line]:
    """Statements (assignments, augmented assignments, expressions) whose node satisfies ``predicate(node, source_text)``.

    Args:
        filenames: the user's files to search.
        predicate: called with each statement node and its source text.
        within: only inside this function's lines.
        limit: at most this many lines, in file order.
    """
    out: list[Line] = []
    for filename in [filenames] if isinstance(filenames, str) else filenames:
        tree, lines = _parsed(filename)
        if tree is None:
            continue
        lo, hi = (1, len(lines)) if within is None or within.co_filename != filename else function_lines(within)
        if within is not None and within.co_filename != filename:
            continue
        for node, text in _index(filename)[0]:
            if not lo <= node.lineno <= hi:
                continue
            if predicate(node, text):
                out.append(Line(filename, node.lineno, lines[node.lineno - 1].strip(), _enclosing(filename, node.lineno)))
    out.sort(key=lambda l: (l.filename, l.lineno))
    return out[:limit]


def where_text(lines: list[Line], fallback: str) -> str:
    """``file.py:12, file.py:40`` for a finding's ``where`` (the fallback when no line was found)."""
    return ", ".join(dict.fromkeys(str(l) for l in lines)) or fallback


def targets_text(node: ast.AST) -> list[str]:
    """The source text of an assignment's targets."""
    if isinstance(node, ast.Assign):
        out = []
        for t in node.targets:
            out += [ast.unparse(e) for e in t.elts] if isinstance(t, (ast.Tuple, ast.List)) else [ast.unparse(t)]
        return out
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [ast.unparse(node.target)]
    return []


@functools.lru_cache(maxsize=1024)
def _loops(filename: str, firstlineno: int, name: str, lineno: int) -> tuple[ast.For | ast.While, ...]:
    tree, _ = _parsed(filename)
    if tree is None:
        return ()
    body: list[ast.stmt] | None = tree.body if name == "<module>" else None
    if body is None:
        for node in _functions(tree):
            if node.name == name and min([node.lineno, *(d.lineno for d in node.decorator_list)]) == firstlineno:
                body = node.body
                break
    out: list[ast.For | ast.While] = []
    while body:
        inner = next((st for st in body if st.lineno <= lineno <= (st.end_lineno or st.lineno)), None)
        if inner is None or isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            break
        if isinstance(inner, (ast.For, ast.While)):
            out.append(inner)
        blocks = [b for b in (getattr(inner, f, None) for f in ("body", "orelse", "finalbody")) if isinstance(b, list)]
        blocks += [h.body for h in getattr(inner, "handlers", [])]
        blocks += [c.body for c in getattr(inner, "cases", [])]
        body = next((b for b in blocks if b and b[0].lineno <= lineno <= (b[-1].end_lineno or b[-1].lineno)), None)
    return tuple(out)


def enclosing_loops(code: CodeType, lineno: int) -> tuple[ast.For | ast.While, ...]:
    """The ``for`` and ``while`` statements of ``code``'s own body (a function's, or a module's top level) around
    line ``lineno``, outer first; a loop whose header is at ``lineno`` is one of them. Parsed once per file."""
    return _loops(code.co_filename, code.co_firstlineno, code.co_name, lineno)


@functools.lru_cache(maxsize=256)
def statements_before(filename: str, lineno: int) -> tuple[ast.stmt, ...]:
    """The statements that run before the statement at ``lineno`` in its block and in the blocks around it, nearest
    first, up to the body of the function (or module) that holds it (a ``while`` loop's counter is set there)."""
    tree, _ = _parsed(filename)
    if tree is None:
        return ()
    levels: list[list[ast.stmt]] = []
    body: list[ast.stmt] | None = tree.body
    while body:
        i = next((k for k, st in enumerate(body) if st.lineno <= lineno <= (st.end_lineno or st.lineno)), None)
        if i is None:
            return ()
        inner = body[i]
        if inner.lineno == lineno:
            levels.append(body[:i])
            break
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            levels, body = [], inner.body  # a scope of its own: what ran outside it is not its
            continue
        levels.append(body[:i])
        blocks = [b for b in (getattr(inner, f, None) for f in ("body", "orelse", "finalbody")) if isinstance(b, list)]
        blocks += [h.body for h in getattr(inner, "handlers", [])]
        blocks += [c.body for c in getattr(inner, "cases", [])]
        body = next((b for b in blocks if b and b[0].lineno <= lineno <= (b[-1].end_lineno or b[-1].lineno)), None)
    return tuple(st for level in reversed(levels) for st in reversed(level))
