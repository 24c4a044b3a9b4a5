"""Session fixtures over the real inputs of tests/xensource.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from xensource import git_tree_at, xen_source_tree


@pytest.fixture(scope="session")
def xen417() -> Path:
    """Debian's Xen 4.17 source tree (the folder holding xen/)."""
    return xen_source_tree()


@pytest.fixture(scope="session")
def xen2016(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tree at ef9dd43ddd, parent of the upstream grant table conversion."""
    return git_tree_at("ef9dd43ddd", tmp_path_factory.mktemp("xen2016"))
