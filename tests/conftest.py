"""Shared pytest hooks of the test suite."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The package's largest class and function, when tests/test_layout.py measured them in this run."""
    import sys

    layout = sys.modules.get("test_layout")
    if layout is None:  # the layout tests did not run
        return
    lines = config.stash.get(layout.LAYOUT_SIZES, None)
    if lines:
        terminalreporter.write_sep("-", "layout: sizes")
        for line in lines:
            terminalreporter.write_line(line)
