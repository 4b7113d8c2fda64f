"""Headless Chromium for the HTML report: the browser tests' driver and the screenshots in docs/images.

The tests in tests/test_html.py open the report of the stalling walk-through
command (:data:`STALLING`) in Debian's Chromium, driven by selenium through
Debian's chromedriver, exactly as a reader would at 1280 and 420 CSS pixels.
:data:`CLIPPED_CELLS` finds every table cell that is cut (content wider than
the cell, or a box outside the viewport). The same code makes the
screenshots that the README links:

    python tests/browser.py            # writes docs/images/report-1280.png and report-420.png

Chromium runs offline: no first-run, sync, component-update or background
requests (on a closed network those make it hang), a fresh profile each
time, no sandbox (CI runs as root).
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REQUIRE = "NETDOCTOR_REQUIRE_BROWSER"
"""Set (by .ci/run) when the browser must be there: a missing one then fails the tests instead of skipping them."""
STALLING = ["check", "--hidden", "30", "--loss", "mse", "--init", "normal", "--reduce", "sum", "--batch-size", "100",
            "--lr", "0.1"]
"""The walk-through command of docs/getting-started.md; the issue's acceptance command is this with ``--html r.html``."""
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1"]
SHOTS = {1280: 1100, 420: 1500}
"""Screenshot width -> height in CSS pixels: the first screen and a bit (verdict, settings, first findings)."""


CLIPPED_CELLS = """
for (const d of document.querySelectorAll('details')) d.open = true;  // folded tables are checked as opened
const vw = document.documentElement.clientWidth;
const out = [];
for (const cell of document.querySelectorAll('td, th')) {
  const why = [];
  if (cell.scrollWidth > cell.clientWidth + 1) why.push(`content ${cell.scrollWidth} px in a cell of ${cell.clientWidth} px`);
  // A grid of numbers may scroll inside its own box: bring the cell into view as a reader would, then look.
  const box = cell.closest('.scroll');
  if (box) cell.scrollIntoView({block: 'nearest', inline: 'nearest'});
  const r = cell.getBoundingClientRect();
  if (r.left < -0.5 || r.right > vw + 0.5) why.push(`cell at ${Math.round(r.left)}..${Math.round(r.right)} px, viewport ${vw} px`);
  if (box) {
    const b = box.getBoundingClientRect();
    if (r.left < b.left - 0.5 || r.right > b.right + 0.5) why.push(`cut by its box at ${Math.round(b.left)}..${Math.round(b.right)} px`);
    box.scrollLeft = 0;
  }
  if (why.length) out.push([cell.closest('table').className, cell.textContent.trim().slice(0, 60), why.join('; ')]);
}
window.scrollTo(0, 0);
return out;
"""
"""``[table class, cell text, why]`` for every table cell that is clipped on the page shown (every ``<details>``
opened first): content wider than
the cell (``scrollWidth`` over ``clientWidth``), or a box outside the viewport or outside the scrolling box of a
grid of numbers after that box is scrolled to it."""

SCROLLING_WORDS = """
return [...document.querySelectorAll('.scroll table.kv, .scroll table.evidence')].map(t => t.className)
  .concat([...document.querySelectorAll('.wraps')].filter(b => b.scrollWidth > b.clientWidth + 1)
          .map(b => `${b.className}: ${b.scrollWidth} px in ${b.clientWidth} px`));
"""
"""Tables of words (settings, evidence) in a scrolling box, or wider than their wrapping box: they must wrap."""


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install chromium chromium-driver; .ci/run does this)"
    return None


def start() -> tuple[Any, str]:
    """A headless Chromium with a fresh profile; returns ``(driver, profile_dir)`` (remove the dir after ``quit``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="netdoctor-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver, profile


def stop(driver: Any, profile: str) -> None:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def show(driver: Any, page: Path, width: int, height: int = 900, scheme: str = "light") -> None:
    """Load ``page`` in a ``width`` x ``height`` CSS-pixel viewport with the given colour scheme."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    driver.get(page.resolve().as_uri())


def screenshot(driver: Any, out: Path, width: int, height: int) -> None:
    """PNG of the top ``width`` x ``height`` pixels of the page shown now."""
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    out.write_bytes(base64.b64decode(shot["data"]))


def make_report(directory: Path, *, json: bool = True) -> tuple[Path, str, int]:
    """Run the stalling command with ``--html r.html`` (and ``--json``) in-process inside ``directory``.

    Returns:
        ``(html path, standard output, exit code)``; the output is the JSON report with ``json=True``.
    """
    from netdoctor.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(directory)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*STALLING, "--html", "r.html", *(["--json"] if json else [])])
    finally:
        os.chdir(here)
    return directory / "r.html", out.getvalue(), code


def main() -> int:
    """Regenerate docs/images/report-1280.png and report-420.png from a fresh run of the stalling command."""
    reason = missing()
    if reason:
        sys.stderr.write(f"tests/browser.py: {reason}\n")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        page, _, _ = make_report(Path(tmp), json=False)
        driver, profile = start()
        try:
            for width, height in SHOTS.items():
                show(driver, page, width, height)
                out = ROOT / "docs" / "images" / f"report-{width}.png"
                screenshot(driver, out, width, height)
                print(out.relative_to(ROOT))
        finally:
            stop(driver, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
