"""Every fenced code block in README.md and docs/*.md runs, so the docs cannot rot.

Conventions (documented in docs/index.md):

* ```python blocks run in one namespace per file, in file order, so later
  blocks use names from earlier ones; blocks with ``>>>`` prompts run as
  doctests (output compared) in that same namespace.
* ```bash / ```console / ```sh / ```shell blocks: each command that starts
  with ``netdoctor`` (after optional ``NAME=value`` environment words, which
  are passed on) runs as ``python -m netdoctor.cli ...`` and must exit 0,
  or the code given by ``<!-- exit: N -->`` on a line before the block, or by
  a trailing ``# exit N`` on the command. ``pip install`` steps are skipped;
  other commands are not run (the test says which). In ```console blocks only
  lines starting with ``$`` are commands.
* ```text blocks (and blocks without a language) are output and are not run.
  A ```text block right after a command block that shows a ``verdict`` line
  is checked against the verdict that command prints now.
* ``<!-- skip: reason -->`` before a block skips it, with the reason shown.
* ``<!-- setup: ... -->`` (any number of lines) before a python block runs
  hidden set-up code in the file's namespace first.
* ``<!-- requires: torch -->`` before a block skips it, saying so, when the
  module it names (an optional extra such as torch) is not installed.

Commands and python blocks run in a temporary directory in which
``examples/`` of the checkout is visible, so docs can name example files but
never write into the repository. Identical commands run once per session.

``python tests/test_docs.py`` regenerates the pictures in docs/images from
the real output (report SVG via rich, plots PNG via ``--plots``).
"""

from __future__ import annotations

import doctest
import html
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "console", "sh", "shell"}
RUNNABLE = SHELL | {"python", "py", "pycon"}
STALLING = ["check", "--hidden", "30", "--loss", "mse", "--init", "normal", "--reduce", "sum", "--batch-size", "100", "--lr", "0.1"]
"""The command of the walk-through in docs/getting-started.md (and the README); pictures come from it."""


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    exit_code: int | None = None
    skip: str | None = None
    setup: str = ""
    requires: tuple[str, ...] = ()
    output_after: str | None = None  # the ```text block that follows, if any

    @property
    def id(self) -> str:
        name = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path.name
        return f"{name}:{self.line}-{self.lang}"


_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<ticks>`{3,})\s*(?P<info>[^`]*)$")
_COMMENT = re.compile(r"<!--\s*(exit|skip|setup|requires)\s*:(.*?)-->", re.S)


def parse_blocks(path: Path) -> list[Block]:
    """Fenced blocks of a Markdown file with the annotations in the comments just before them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i, _pending, last_end = 0, "", 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        ticks, lang = m["ticks"], (m["info"].split() or [""])[0].lower()
        start, body = i, []
        i += 1
        while i < len(lines) and not re.match(rf"^ {{0,3}}{ticks}`*\s*$", lines[i]):
            body.append(lines[i][len(m["indent"]):] if lines[i].startswith(m["indent"]) else lines[i])
            i += 1
        # Annotations: HTML comments between the previous block (or heading text) and this fence.
        between = "\n".join(lines[last_end:start])
        block = Block(path, start + 1, lang, "\n".join(body) + "\n")
        tail = between.rstrip()
        while tail.endswith("-->"):
            opening = tail.rfind("<!--")
            if opening < 0:
                break
            c = _COMMENT.fullmatch(tail[opening:])
            if c is None:
                break
            kind, value = c[1], c[2].strip()
            if kind == "exit":
                block.exit_code = int(value)
            elif kind == "skip":
                block.skip = value or "skipped in the docs"
            elif kind == "requires":
                block.requires += tuple(value.replace(",", " ").split())
            else:
                block.setup = value + "\n" + block.setup
            tail = tail[:opening].rstrip()
        if blocks and lang in ("text", "output") and not between.strip():
            blocks[-1].output_after = block.code
        blocks.append(block)
        i += 1
        last_end = i
    return blocks


ALL_BLOCKS = [b for p in DOC_FILES if p.exists() for b in parse_blocks(p)]
RUN_BLOCKS = [b for b in ALL_BLOCKS if b.lang in RUNNABLE]


# -- shell commands ---------------------------------------------------------------
def commands(block: Block) -> list[tuple[list[str], int | None, str]]:
    """(argv, expected exit or None, original text) for each command in a shell block."""
    raw = block.code.splitlines()
    if block.lang == "console":
        raw = [ln for ln in raw if ln.lstrip().startswith("$")]
    joined, buf = [], ""
    for ln in raw:
        ln = ln.strip()
        if ln.startswith("$"):
            ln = ln[1:].strip()
        if ln.endswith("\\"):
            buf += ln[:-1] + " "
            continue
        joined.append(buf + ln)
        buf = ""
    out = []
    for ln in joined:
        if not ln or ln.startswith("#"):
            continue
        m = re.search(r"#\s*exit\s+(\d+)\s*$", ln)
        expected = int(m[1]) if m else None
        for part in ln.split("&&"):
            argv = shlex.split(part, comments=True)
            if argv:
                out.append((argv, expected, part.strip()))
    return out


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """A scratch directory where ``examples/`` of the checkout is visible (read-only use)."""
    d = tmp_path_factory.mktemp("docs")
    (d / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    return d


_RESULTS: dict[tuple[str, ...], subprocess.CompletedProcess] = {}


def split_env(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Leading ``NAME=value`` words of a shell command (its environment) and the rest."""
    env = {}
    while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
        name, value = argv[0].split("=", 1)
        env[name] = value
        argv = argv[1:]
    return env, argv


def run_netdoctor(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m netdoctor.cli ARGS`` with the checkout importable, no colour, 80 columns (cached)."""
    extra_env = extra_env or {}
    key = (*args, *sorted(extra_env.items()))
    if key not in _RESULTS:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   NO_COLOR="1", COLUMNS="80", TERM="dumb", **extra_env)
        _RESULTS[key] = subprocess.run([sys.executable, "-m", "netdoctor.cli", *args], cwd=cwd, env=env,
                                       capture_output=True, text=True, timeout=600)
    return _RESULTS[key]


def _verdict(text: str) -> str | None:
    """The verdict paragraph of a rendered report, whitespace collapsed."""
    m = re.search(r"^verdict\s+(.*?)(?=^\S|\Z)", text, re.S | re.M)
    if m is None:
        return None
    return " ".join(" ".join(ln.split()) for ln in m[1].splitlines() if ln.strip())


def _check_shell(block: Block, workdir: Path) -> None:
    cmds = [(*split_env(argv), exp, text) for argv, exp, text in commands(block)]
    run = [(env, argv, exp, text) for env, argv, exp, text in cmds if argv and argv[0] == "netdoctor"]
    not_run = [text for _, argv, _, text in cmds if argv[:1] != ["netdoctor"] and argv[:2] != ["pip", "install"]]
    if not run:
        pytest.skip(f"no netdoctor command to run (not run: {'; '.join(not_run) or 'pip install only'})")
    last = None
    for env, argv, expected, text in run:
        expected = expected if expected is not None else (block.exit_code if block.exit_code is not None else 0)
        proc = run_netdoctor(argv[1:], workdir, env)
        assert proc.returncode == expected, (
            f"{block.id}: `{text}` exited {proc.returncode}, the docs expect {expected}\n"
            f"--- stderr (tail) ---\n{proc.stderr[-2000:]}\n--- stdout (tail) ---\n{proc.stdout[-2000:]}"
        )
        assert "Traceback" not in proc.stderr, f"{block.id}: `{text}` printed a traceback:\n{proc.stderr[-3000:]}"
        last = proc
    if block.output_after and last is not None and _verdict(block.output_after):
        assert _verdict(last.stdout) == _verdict(block.output_after), (
            f"{block.id}: the output shown after this block is stale; the command now says:\n{last.stdout[:3000]}"
        )


# -- python blocks -------------------------------------------------------------------
_NAMESPACES: dict[Path, tuple[dict, int, str | None]] = {}


def missing_modules(block: Block) -> list[str]:
    """The modules a block ``requires`` that cannot be imported here (optional extras)."""
    import importlib.util

    return [m for m in block.requires if importlib.util.find_spec(m) is None]


def _exec_python(block: Block, ns: dict) -> None:
    if block.setup:
        exec(compile(block.setup, f"{block.id} (setup)", "exec"), ns)
    if ">>>" in block.code:
        test = doctest.DocTestParser().get_doctest(block.code, ns, block.id, str(block.path), block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        out: list[str] = []
        runner.run(test, out=out.append, clear_globs=False)
        if runner.failures:
            raise AssertionError(f"{block.id}: doctest failed\n{''.join(out)}")
    else:
        exec(compile(block.code, block.id, "exec"), ns)


def _check_python(block: Block, workdir: Path, monkeypatch) -> None:
    monkeypatch.chdir(workdir)
    # Blocks may start `python -m netdoctor...` themselves: the checkout must be importable there too.
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    mine = [b for b in RUN_BLOCKS if b.path == block.path and b.lang in ("python", "py", "pycon")]
    ns, done, failed = _NAMESPACES.get(block.path, ({"__name__": "__docs__"}, 0, None))
    index = mine.index(block)
    # Run earlier blocks of the file first when this one is selected alone.
    for earlier in mine[done:index]:
        if earlier.skip or missing_modules(earlier):
            continue
        try:
            _exec_python(earlier, ns)
        except Exception as exc:  # noqa: BLE001 - reported against this block, naming the earlier one
            failed = f"{earlier.id}: {type(exc).__name__}: {exc}"
    if failed and index > done:
        _NAMESPACES[block.path] = (ns, index + 1, failed)
        pytest.fail(f"an earlier block of this file failed ({failed}); this block depends on its names")
    _NAMESPACES[block.path] = (ns, index + 1, failed)
    try:
        _exec_python(block, ns)
    except Exception as exc:
        _NAMESPACES[block.path] = (ns, index + 1, f"{block.id}: {type(exc).__name__}: {exc}")
        raise


def test_environment_words_before_a_command_are_split_off():
    assert split_env(["OPENBLAS_NUM_THREADS=1", "X=a=b", "netdoctor", "check"]) == (
        {"OPENBLAS_NUM_THREADS": "1", "X": "a=b"}, ["netdoctor", "check"])
    assert split_env(["netdoctor", "check", "--lr=1"]) == ({}, ["netdoctor", "check", "--lr=1"])


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[b.id for b in RUN_BLOCKS])
def test_doc_block(block: Block, workdir: Path, monkeypatch, request) -> None:
    if not request.config.pluginmanager.hasplugin("netdoctor"):
        # Installed, the plugin registers its marker; an uninstalled checkout registers it here.
        request.config.addinivalue_line("markers", "netdoctor(**options): per-test gradient-check options")
    if block.skip:
        pytest.skip(f"{block.id}: {block.skip}")
    if missing_modules(block):
        pytest.skip(f"{block.id}: needs {', '.join(missing_modules(block))} (pip install 'netdoctor[torch]' for torch)")
    if block.lang in SHELL:
        _check_shell(block, workdir)
    else:
        _check_python(block, workdir, monkeypatch)


# -- the docs themselves ---------------------------------------------------------------
def test_docs_exist_and_the_index_links_every_page():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "index.md":
            assert f"({page.name})" in index, f"docs/index.md does not link {page.name}"


def test_relative_links_and_images_point_at_files():
    missing = []
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (path.parent / target).exists():
                missing.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not missing, "broken links: " + ", ".join(missing)


def test_cli_reference_names_every_flag():
    from netdoctor.cli.app import build_parser

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    check = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "check")[1]
    flags = [s for action in check._actions for s in action.option_strings if s.startswith("--")]
    assert flags, "no flags found"
    missing = [f for f in flags if f"`{f}" not in text]
    assert not missing, f"docs/cli.md does not document {missing}"
    for code in ("0", "1", "2", "130"):
        assert f"| {code} |" in text, f"exit code {code} missing from docs/cli.md"


def test_cli_reference_lists_every_json_field():
    from netdoctor.findings import Finding, Report

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    keys = list(Report().to_dict()) + list(Finding("x", "info", "", "").to_dict())
    missing = [k for k in keys if f"`{k}`" not in text]
    assert not missing, f"docs/cli.md does not describe JSON fields {missing}"


def _codes_in(text: str) -> list[str]:
    """Finding codes in a rendered report, in order (the line after each severity line)."""
    lines = text.splitlines()
    return [lines[i + 1].split()[0] for i, ln in enumerate(lines[:-1])
            if re.match(r"^\s+\d+\s+(ERROR|WARNING|INFO)\b", ln) and lines[i + 1].split()]


def test_pictures_show_the_current_diagnosis(workdir):
    """The report picture has the findings the walk-through command prints now, in that order."""
    guide = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", guide)
    assert any(p.endswith(".svg") for p in images) and any(p.endswith(".png") for p in images)
    for p in images:
        assert (ROOT / "docs" / p).stat().st_size > 1000, p
    svg = html.unescape((ROOT / "docs" / "images" / "stalling-report.svg").read_text(encoding="utf-8"))
    codes = _codes_in(run_netdoctor(STALLING, workdir).stdout)
    assert codes, "the walk-through command found nothing"
    positions = [svg.find(c) for c in codes]
    assert -1 not in positions and positions == sorted(positions), (
        f"docs/images are stale: the command now finds {codes}; run `python tests/test_docs.py`")


# -- regenerating the pictures ------------------------------------------------------------
def regenerate_images(directory: Path = ROOT / "docs" / "images") -> list[Path]:
    """Run the walk-through command in process; write its report as SVG and its plots as PNG."""
    import io

    from rich.console import Console

    from netdoctor.cli.app import build_parser
    from netdoctor.cli.check import run_check

    directory.mkdir(parents=True, exist_ok=True)
    args = build_parser().parse_args([*STALLING, "--plots", str(directory)])
    out = Console(record=True, width=80, file=io.StringIO(), color_system="truecolor", force_terminal=True,
                  highlight=False, emoji=False, legacy_windows=False)
    err = Console(file=io.StringIO(), width=80)
    run_check(args, out=out, err=err)
    from netdoctor.fileio import atomic_write_text

    svg = directory / "stalling-report.svg"
    atomic_write_text(svg, out.export_svg(title="netdoctor check --hidden 30 --loss mse --init normal --reduce sum"
                                                 " --batch-size 100 --lr 0.1"))
    return [svg, *sorted(directory.glob("*.png"))]


if __name__ == "__main__":  # python tests/test_docs.py
    sys.path.insert(0, str(ROOT))
    for written in regenerate_images():
        sys.stdout.write(f"{written.relative_to(ROOT)}\n")


def test_parser_reads_annotations_commands_and_output_blocks(tmp_path):
    """The conventions of docs/index.md, on a small page (so the runner itself can fail)."""
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n<!-- exit: 1 -->\n```bash\nnetdoctor check --lr 1 \\\n  --epochs 1\n```\n"
        "```text\nverdict  No problems found.\n```\n\n"
        "<!-- skip: needs a GPU -->\n```python\nimport nothing\n```\n\n"
        "<!-- setup:\nx = 2\n-->\n```python\n>>> x + 1\n3\n```\n\n"
        "<!-- requires: netdoctor_no_such_module -->\n```python\nimport netdoctor_no_such_module\n```\n\n"
        "```console\n$ pip install . && netdoctor check  # exit 0\nsome output\n$ python -m pytest -q\n```\n"
        "````markdown\n```python\nnested\n```\n````\n",
        encoding="utf-8",
    )
    b = parse_blocks(page)
    assert [(x.lang, x.line) for x in b] == [("bash", 4), ("text", 8), ("python", 13), ("python", 20), ("python", 26),
                                             ("console", 30), ("markdown", 35)]
    assert b[0].exit_code == 1 and b[0].output_after == "verdict  No problems found.\n"
    assert commands(b[0]) == [(["netdoctor", "check", "--lr", "1", "--epochs", "1"], None, "netdoctor check --lr 1  --epochs 1")]
    assert b[2].skip == "needs a GPU" and b[3].setup.strip() == "x = 2" and b[3].skip is None
    ns: dict = {}
    _exec_python(b[3], ns)  # the doctest sees the setup's x
    assert ns["x"] == 2
    assert b[4].requires == ("netdoctor_no_such_module",) and missing_modules(b[4]) == ["netdoctor_no_such_module"]
    assert missing_modules(b[3]) == []
    bad = Block(page, 99, "python", ">>> 1 + 1\n3\n")
    with pytest.raises(AssertionError, match="doctest failed"):
        _exec_python(bad, {})
    assert [(argv, exp) for argv, exp, _ in commands(b[5])] == [
        (["pip", "install", "."], 0), (["netdoctor", "check"], 0), (["python", "-m", "pytest", "-q"], None)]
    assert b[6].code == "```python\nnested\n```\n"


def test_verdict_comparison_ignores_wrapping():
    a = "verdict  3 problem(s) found; root cause: x (the batch\n         gradient is summed.)\nFindings\n"
    b = "verdict  3 problem(s) found; root cause: x (the batch gradient\n         is summed.)\n"
    assert _verdict(a) == _verdict(b) == "3 problem(s) found; root cause: x (the batch gradient is summed.)"
    assert _verdict("no verdict here") is None
