"""The HTML report: its structure (parsed), and its layout in a real browser (headless Chromium).

The report under test is the one of the walk-through command (the issue's
acceptance command), made once per module in-process with ``--html`` and
``--json``. The structure tests read it with the standard library's HTML
parser; the browser tests open it in one Chromium for the whole module (see
tests/browser.py) at 1280 and 420 CSS pixels, in the light and the dark
colour scheme. Without Chromium they skip, unless NETDOCTOR_REQUIRE_BROWSER is
set (.ci/run sets it after installing the browser), where they fail.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("rich")

import browser

from netdoctor.findings import Finding, Report
from netdoctor.report.format import format_value
from netdoctor.report.html import PALETTES, fragment, report_html
from netdoctor.report.terminal import report_text


# -- a small DOM ------------------------------------------------------------------------------------------
class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.items: list[Node | str] = []  # text and child elements in document order

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        out = []
        for c in self.children:
            if (tag is None or c.tag == tag) and (cls is None or cls in c.attrs.get("class", "").split()):
                out.append(c)
            out += c.all(tag, cls)
        return out

    def content(self) -> str:
        return " ".join(" ".join(i if isinstance(i, str) else i.content() for i in self.items).split())


_VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "wbr"}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        self.cur.items.append(node)
        if tag not in _VOID:
            self.cur = node

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"</{tag}> closes nothing"
        self.cur = node.parent

    def handle_data(self, data):
        self.cur.items.append(data)


def dom(page: str) -> Node:
    p = _Parser()
    p.feed(page)
    p.close()
    assert p.cur is p.root, f"<{p.cur.tag}> is never closed"
    return p.root


# -- the report under test ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stalling(tmp_path_factory):
    """(html path, page text, report dict, exit code) of the walk-through command."""
    page, out, code = browser.make_report(tmp_path_factory.mktemp("html"))
    return page, page.read_text(encoding="utf-8"), json.loads(out), code


def test_the_stalling_report_is_one_small_self_contained_file(stalling):
    path, page, data, code = stalling
    assert code == 1 and not data["ok"]
    assert path.stat().st_size < 1_000_000, path.stat().st_size  # the budget, plots included
    lower = page.lower()
    assert lower.startswith("<!doctype html>") and "<script" not in lower and "<link" not in lower
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", page), "every resource is inline, every link an anchor"
    assert "@import" not in page and "url(" not in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    tree = dom(page)
    images = tree.all("img")
    assert {f.attrs["data-plot"] for f in tree.all("figure")} == {"history", "activations", "gradients", "confusion", "gradcheck"}
    assert all(img.attrs["src"].startswith("data:image/png;base64,") and len(img.attrs["alt"]) > 40 for img in images)


def test_header_reads_verdict_first_then_how_to_reproduce(stalling):
    _, page, data, _ = stalling
    tree = dom(page)
    header = tree.all("header")[0]
    verdict = header.all("p", "verdict")[0]
    assert verdict.content() == "Verdict: " + data["verdict"]
    assert page.index('id="verdict"') < page.index("netdoctor</th>") < page.index("Settings")
    meta = {row.children[0].content(): row.children[1].content() for row in header.all("table", "meta")[0].all("tr")}
    from netdoctor import __version__

    assert meta["netdoctor"] == __version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", meta["date"])
    # The command as typed: splitting it gives back the arguments, so it can be pasted to reproduce the report.
    assert shlex.split(meta["command"])[:len(browser.STALLING) + 1] == ["netdoctor", *browser.STALLING]
    assert data["context"]["command"] == meta["command"]
    settings = header.content()
    for key, value in data["context"].items():  # every setting, whatever the context holds
        if isinstance(value, dict):  # e.g. settings: {name: {value, source}}, one row per name
            assert all(str(name) in settings for name in value), key
        elif key not in ("notes", "command") and value not in (None, "", []):
            assert key in settings and format_value(value) in settings, key
    data_table = tree.all("section")[0]
    assert data_table.attrs["id"] == "section-data" and "2,000 images x 784 pixels" in data_table.content()


def test_every_finding_is_a_section_with_code_evidence_table_and_fix(stalling):
    _, page, data, _ = stalling
    tree = dom(page)
    articles = tree.all("article", "finding")
    assert [a.attrs["data-code"] for a in articles] == [f["code"] for f in data["findings"]]
    ids = {n.attrs["id"] for n in tree.all() if "id" in n.attrs}
    for article, f in zip(articles, data["findings"]):
        assert f["severity"] in article.attrs["class"].split()
        assert article.all("span", "badge")[0].content() == f["severity"].upper()
        assert article.all("code", "code")[0].content() == f["code"]
        evidence = article.all("table", "evidence")[0]
        names = [row.children[0].content() for row in evidence.all("tbody")[0].children if row.tag == "tr"]
        assert names == list(f["evidence"])
        fix = article.all("p", "fix")[0]
        assert fix.content().startswith("Fix:")
        # Backticks are code, not literal backticks.
        assert "`" not in fix.content()
        for code in re.findall(r"`([^`]+)`", f["fix"]):
            assert code in [c.content() for c in fix.all("code")]
        present = [c for c in f["caused_by"] if c != f["code"] and c in [g["code"] for g in data["findings"]]]
        links = article.all("p", "caused-by")[0].all("a") if present else []
        assert [a.content() for a in links] == present
        assert all(a.attrs["href"][1:] in ids for a in links)


def test_every_section_is_a_table_with_its_plot_beside_it(stalling):
    _, page, data, _ = stalling
    tree = dom(page)
    sections = {s.attrs["data-section"]: s for s in tree.all("section") if "data-section" in s.attrs}
    for key in ("layers", "history", "confusion", "predictions", "experiments", "gradcheck", "probe"):
        assert key in data["sections"] and sections[key].all("table"), key
    plots = {key: [f.attrs["data-plot"] for f in s.all("figure")] for key, s in sections.items()}
    assert plots["history"] == ["history"] and plots["layers"] == ["activations", "gradients"]
    assert plots["confusion"] == ["confusion"] and plots["gradcheck"] == ["gradcheck"]
    confusion = sections["confusion"].all("tbody")[0].all("tr")
    assert [[int(c.content()) for c in row.children[1:]] for row in confusion] == data["sections"]["confusion"]["matrix"]
    # The gradient check shows the worst entry's two derivatives for every tensor (the notebook's column was empty).
    rows = sections["gradcheck"].all("tbody")[0].all("tr")
    assert [r.children[0].content() for r in rows] == [t["name"] for t in data["sections"]["gradcheck"]["tensors"]]
    for row, t in zip(rows, data["sections"]["gradcheck"]["tensors"]):
        w = t["worst"][0]
        assert row.children[-1].content().endswith(f"{w['analytic']:.3e} vs {w['numeric']:.3e}")
    assert sections["layers"].all("details") and "X_probe" in sections["layers"].content()  # which batch |grad W| is


def test_same_findings_in_the_same_order_as_the_terminal():
    report = Report([
        Finding("class-collapse", "error", "output", "all predictions are 0", {"share": 1.0}, caused_by=("summed-gradient",)),
        Finding("dead-units", "info", "layer 1", "3% dead", {"dead": 0.03}),
        Finding("summed-gradient", "warning", "train_step", "each step is `100x` lr", {"lr_factor": 100.0}),
        Finding("gradient-mismatch", "error", "W1[0, 1]", "W1 disagrees", {"rel_error": 0.5}),
        Finding("gradient-mismatch", "error", "W2[3, 1]", "W2 disagrees", {"rel_error": 0.2}),
    ])
    text = report_text(report, width=100)
    page = report_html(report, plots=False)
    in_html = re.findall(r'<article class="finding [a-z]+" id="finding-\d+" data-code="([^"]+)"', page)
    assert in_html == report.codes()
    positions = [text.index(f.message[:12].replace("`", "")) for f in report.findings]
    assert positions == sorted(positions)  # the terminal lists the same findings in this order
    # Two findings with one code: causes link to the first of them.
    assert '<a href="#finding-' in page and "<code>100x</code>" in page


def test_user_text_is_escaped_everywhere():
    evil = "<img src=x onerror=alert(1)>"
    report = Report([Finding("dead-units", "warning", evil, evil, {evil: evil}, fix=f"`{evil}`", explanation=evil,
                             caused_by=(evil,))], context={evil: evil, "command": evil}, sections={evil: {evil: evil}}, title=evil)
    report.context["settings"] = {evil: {evil: evil}}
    for page in (report_html(report, plots=False), fragment(report), fragment(report.findings[0])):
        assert "<img" not in page and "onerror=alert(1)&gt;" in page


def test_without_matplotlib_the_page_has_every_table_and_says_how_to_get_the_plots(tmp_path):
    import subprocess
    import sys

    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from netdoctor.findings import Report\n"
            "from netdoctor.report.html import report_html\n"
            "r = Report(sections={'history': [{'epoch': 1, 'loss': 2.0, 'train_accuracy': 0.5}],\n"
            "                     'confusion': {'labels': [0, 1], 'matrix': [[1, 0], [0, 1]], 'on': 'test data'}})\n"
            "print(report_html(r))\n")
    page = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "<img" not in page and page.count("<table") == 3  # meta, history, confusion matrix
    assert "pip install 'netdoctor[notebook]'" in html_lib.unescape(page)


def _luminance(rgb: tuple[float, ...]) -> float:
    def lin(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (0..255)."""
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _hex(color: str) -> tuple[int, ...]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize("scheme", list(PALETTES))
def test_palette_meets_wcag_aa(scheme):
    p = {k: _hex(v) for k, v in PALETTES[scheme].items()}
    assert contrast((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)  # the formula's known end points
    for text in ("fg", "muted", "error", "warning", "info", "ok", "link"):
        for surface in ("bg", "panel", "code"):
            assert contrast(p[text], p[surface]) >= 4.5, (scheme, text, surface)
    for badge in ("error", "warning", "info", "ok"):
        assert contrast(p["bg"], p[badge]) >= 4.5, (scheme, "badge", badge)


# -- in the browser -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    reason = browser.missing()
    if reason:
        if os.environ.get(browser.REQUIRE):
            pytest.fail(f"{browser.REQUIRE} is set but the browser cannot run: {reason}")
        pytest.skip(reason)
    driver, profile = browser.start()
    try:
        yield driver
    finally:
        browser.stop(driver, profile)


_TEXT_COLOURS = """
const out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const seen = new Set();
while (walker.nextNode()) {
  const el = walker.currentNode.parentElement;
  if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
  seen.add(el);
  let bg = null, node = el;
  while (node) {
    const c = getComputedStyle(node).backgroundColor;
    if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break; }
    node = node.parentElement;
  }
  out.push([getComputedStyle(el).color, bg || getComputedStyle(document.documentElement).backgroundColor,
            el.tagName, el.textContent.trim().slice(0, 40)]);
}
return out;
"""


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", css)[:3])


@pytest.mark.parametrize("width", [1280, 420])
def test_browser_layout_fits_loads_and_logs_no_errors(chromium, stalling, width):
    page = stalling[0]
    browser.show(chromium, page, width, 800)
    sizes = chromium.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"the page scrolls sideways at {width} px: {sizes}"
    # Nothing outside a scrolling table box reaches past the right edge.
    sticking_out = chromium.execute_script("""
        return [...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll'))
          .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5).map(e => e.tagName + '.' + e.className);""")
    assert not sticking_out
    verdict = chromium.execute_script("const r = document.getElementById('verdict').getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight];")
    assert 0 <= verdict[0] and verdict[1] <= verdict[2], f"the verdict is not within the first screen: {verdict}"
    images = chromium.execute_script("return [...document.images].map(i => [i.complete, i.naturalWidth, i.alt.length])")
    assert len(images) == 5 and all(done and w > 0 and alt > 40 for done, w, alt in images), images
    errors = [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    # Prose wraps between words: no text element wider than the viewport, the verdict is not broken mid-word.
    assert chromium.execute_script("return getComputedStyle(document.getElementById('verdict')).overflowWrap") == "break-word"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_browser_text_contrast_is_wcag_aa_in_both_schemes(chromium, stalling, scheme):
    browser.show(chromium, stalling[0], 1280, 800, scheme)
    pairs = chromium.execute_script(_TEXT_COLOURS)
    assert len(pairs) > 100
    expected_bg = _hex(PALETTES[scheme]["bg"])
    assert _rgb(chromium.execute_script("return getComputedStyle(document.body).backgroundColor")) == expected_bg
    low = [(text, tag, round(contrast(_rgb(fg), _rgb(bg)), 2)) for fg, bg, tag, text in pairs
           if contrast(_rgb(fg), _rgb(bg)) < 4.5]
    assert not low, low


def test_browser_dom_has_every_finding_with_evidence_and_fix(chromium, stalling):
    from selenium.webdriver.common.by import By

    _, _, data, _ = stalling
    browser.show(chromium, stalling[0], 420, 800)
    articles = chromium.find_elements(By.CSS_SELECTOR, "article.finding")
    assert [a.get_attribute("data-code") for a in articles] == [f["code"] for f in data["findings"]]
    for a, f in zip(articles, data["findings"]):
        assert a.find_element(By.CSS_SELECTOR, "table.evidence").is_displayed()
        assert a.find_element(By.CSS_SELECTOR, "p.fix").text.startswith("Fix:")
        assert f["code"] in a.find_element(By.TAG_NAME, "h3").text
    # A caused-by link lands on the finding it names.
    link = chromium.find_element(By.CSS_SELECTOR, "p.caused-by a")
    target = link.get_attribute("href").split("#")[1]
    assert chromium.find_element(By.ID, target).get_attribute("data-code") == link.text
    # Long details fold away and open on request.
    details = chromium.find_element(By.CSS_SELECTOR, "#section-layers details")
    assert details.get_attribute("open") is None
    details.find_element(By.TAG_NAME, "summary").click()
    assert details.get_attribute("open") is not None


def test_screenshots_in_docs_come_from_this_code(chromium, stalling, tmp_path):
    """The README's screenshots are made by tests/browser.py; here the same code makes fresh ones of this run."""
    for width, height in browser.SHOTS.items():
        browser.show(chromium, stalling[0], width, height)
        out = tmp_path / f"report-{width}.png"
        browser.screenshot(chromium, out, width, height)
        png = out.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(png[16:20], "big") == width and int.from_bytes(png[20:24], "big") == height
        docs = Path(browser.ROOT, "docs", "images", f"report-{width}.png")
        assert docs.exists() and docs.read_bytes()[16:24] == png[16:24]
    readme = Path(browser.ROOT, "README.md").read_text(encoding="utf-8")
    assert "docs/images/report-1280.png" in readme and "docs/images/report-420.png" in readme


# -- no table cell clipped ------------------------------------------------------------------------------------
LONG_PATH = ("/home/someone/projects/mnist_from_scratch/experiments/2026-12-05_a_long_directory_name/networks/"
             "two_layer_network.py")


def program_report() -> Report:
    """A ``netdoctor run`` report with the long words real programs have: paths, attribute names, nested evidence."""
    aliased = Finding(
        "aliased-buffers", "error", f"{LONG_PATH}:137, train_the_network_on_mnist.py:58",
        "`self.weight_updates_for_every_layer` and `self.weight_templates` are one list object.",
        {"paths": ["self.weight_updates_for_every_layer", "self.weight_templates"],
         "lines": [f"{LONG_PATH}:137", "train_the_network_on_mnist.py:58", "network.py:13", "network.py:45"],
         "first_update": {"self.weight_templates_for_every_layer_of_the_network[0]": 1, "self.bias_templates[1]": 1},
         "digest": "a" * 64, "defined_in": LONG_PATH, "ratio": 1.2345e-7, "shapes": [[30, 784], [10, 30]]},
        fix="create fresh buffers: `self.weight_updates_for_every_layer = [np.zeros_like(w) for w in self.weights]`",
        explanation="Resetting by assignment re-binds the name to the template. " * 4)
    lr = Finding("learning-rate-too-high", "warning", "train.py:12", "One update changes the weights by 33%.",
                 {"update_ratio": 0.33, "ratios": [2.089, 0.3277, 0.04723]}, caused_by=("aliased-buffers",))
    context = {"command": f"netdoctor run {LONG_PATH} --data {LONG_PATH}.csv --epochs 3", "data": f"{LONG_PATH}.csv",
               "model": "784 -> 30 -> 10 (columns), 4 arrays in self", "checksum": "b" * 80,
               "settings": {"lr": {"value": 0.1, "source": "NetworkWithAVeryLongClassName.learning_rate_attribute"},
                            "data_path": {"value": LONG_PATH, "source": "--data"}},
               "notes": [f"loaded {LONG_PATH} with the label in column 0"]}
    sections = {"observed": {"network": "self", "arrays": [f"self.weights[{i}] [30, 784]" for i in range(6)], "source": LONG_PATH},
                "layers": [{"layer": "1 hidden", "activation": "tanh", "units": 30, "saturation": 0.97, "dead": 0.1,
                            "act_std": 0.05, "grad_norm": 1.2e-7, "update_ratio": 3.1e-2}]}
    return Report([aliased, lr], context=context, sections=sections)


@pytest.fixture(scope="module")
def program_page(tmp_path_factory):
    path = tmp_path_factory.mktemp("program") / "program.html"
    path.write_text(report_html(program_report(), plots=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("width", [1280, 420])
@pytest.mark.parametrize("which", ["stalling", "program"])
def test_browser_no_table_cell_is_clipped(chromium, stalling, program_page, which, width):
    """Every cell's content fits the cell and its box lies in the viewport (a grid of numbers scrolled to it first)."""
    page = stalling[0] if which == "stalling" else program_page
    browser.show(chromium, page, width, 900)
    assert chromium.execute_script("return document.querySelectorAll('td, th').length") > 20
    clipped = chromium.execute_script(browser.CLIPPED_CELLS)
    assert not clipped, clipped
    # Tables of words (settings, evidence) wrap in place; only grids of numbers may scroll in a box of their own.
    assert not chromium.execute_script(browser.SCROLLING_WORDS)


def test_browser_clipping_check_finds_a_clipped_cell(chromium, tmp_path):
    """The check can fail: a cell that cannot wrap, a table pushed past the edge, a scrolling box too narrow for a cell."""
    style = "<style>body{margin:0;width:300px}td{padding:0}</style>"
    page = tmp_path / "clipped.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta name='viewport' content='width=device-width'>" + style + "</head><body>"
        "<table style='table-layout:fixed;width:200px'><tr><td id=a style='white-space:nowrap;overflow:hidden'>"
        + "x" * 80 + "</td></tr></table>"
        "<table style='margin-left:600px'><tr><td>past the right edge</td></tr></table>"
        "<div class='scroll' style='overflow-x:auto;width:100px'><table style='width:500px;table-layout:fixed'><tr>"
        "<td style='width:400px'>inside a box</td></tr></table></div></body></html>", encoding="utf-8")
    browser.show(chromium, page, 420, 600)
    found = chromium.execute_script(browser.CLIPPED_CELLS)
    texts = {text: why for _, text, why in found}
    assert "content" in texts["x" * 60] and "viewport" in texts["past the right edge"]
    assert "cut by its box" in texts["inside a box"]
