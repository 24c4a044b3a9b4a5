"""Small Xen-shaped trees for the tests of the tree cache and the lazy
cross-file summaries: xen/include/xen/spinlock.h (what makes a folder a
Xen tree to the lint) and the C files given."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path


def small_tree(xen: Path, files: Mapping[str, str | Path]) -> Path:
    """``xen`` with the lock API's header and ``files`` (path under xen/ ->
    its text, or a file to copy there)."""
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_text("/* the lock API */\n")
    for rel, what in files.items():
        dest = xen / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(what, Path):
            shutil.copy(what, dest)
        else:
            dest.write_text(what)
    return xen
