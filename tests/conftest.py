"""Session fixtures over the real inputs of tests/xensource.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from xensource import git_tree_at, xen_source_tree


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The lint's tree cache goes to the session's temporary directory, not
    the user's ~/.cache (subprocesses inherit it)."""
    old = os.environ.get("XENPATCH_CACHE")
    os.environ["XENPATCH_CACHE"] = str(tmp_path_factory.mktemp("xenpatch-cache"))
    yield
    if old is None:
        os.environ.pop("XENPATCH_CACHE", None)
    else:
        os.environ["XENPATCH_CACHE"] = old


@pytest.fixture(scope="session")
def xen417() -> Path:
    """Debian's Xen 4.17 source tree (the folder holding xen/)."""
    return xen_source_tree()


@pytest.fixture(scope="session")
def xen420() -> Path:
    """Debian trixie's Xen 4.20 source tree; skipped (never failed) when unavailable."""
    return xen_source_tree("trixie")


@pytest.fixture(scope="session")
def xen2016(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tree at ef9dd43ddd, parent of the upstream grant table conversion."""
    return git_tree_at("ef9dd43ddd", tmp_path_factory.mktemp("xen2016"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many fault points each write path has (tests/test_faults.py):
    printed whatever -r/-q say, so that CI logs show what was covered."""
    import sys

    faults = sys.modules.get("faults")
    counts = getattr(faults, "COUNTS", None)
    if not counts:
        return
    terminalreporter.section("fault points per write path")
    for name, n in sorted(counts.items()):
        terminalreporter.write_line(f"{name}: {n}")
