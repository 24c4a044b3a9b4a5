"""What the caller facts of a single-file run read of the tree
(upcallers.py, entrysettle.py through it): how many calling files at
most, and whether a file defines a function the tree's entry code calls
with IRQs on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from xenpatch.analysis.locktable import Summary
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.findings import FileResult
    from xenpatch.lint.treecache import TreeCache

# (path, display name, text) -> the file's first pass.
FirstPass = Callable[[Path, str, bytes], "FileResult"]


class CallerSide(Protocol):
    """What upcallers.py keeps of a tree (its ``_Side``), as the searches
    it hands a file's caller facts to read and add to it (upchains.py)."""

    searches: dict[str, dict[str, Any]]
    dirty: bool

    def mentions(self, root: Path, state: str, names: Iterable[str]) -> dict[str, list[str]]:
        ...

    def can_state(self, cache: TreeCache, rel: str, off: bool,
                  text: Callable[[str], bytes], config: LintConfig) -> bool:
        ...

    def first(self, rel: str, raw: bytes, shown: str, path: Path,
              first_pass: FirstPass) -> dict[str, Summary]:
        ...

# At most this many caller files get a first pass for one linted file:
# past it, the file's names are left unknown (a hook must stay quick).
MOST_CALLERS = 8


def enters_on(rel: str, text: Callable[[str], bytes], config: LintConfig, root: Path) -> bool:
    """Does the C file define a function the tree's entry code calls with
    IRQs on (irqroots.roots(): a hypercall's handler)?"""
    from xenpatch.analysis.irqroots import roots
    from xenpatch.lint import nameindex

    if not rel.endswith(".c"):
        return False
    got = _ROOTS.get(root)
    if got is None:
        got = _ROOTS[root] = frozenset(n for n, s in roots(config.irq, root).items()
                                       if s == "on")
    return any(d.name in got for d in nameindex.definitions(text(rel)))


# Per tree: the functions its entry code calls with IRQs on (read once).
_ROOTS: dict[Path, frozenset[str]] = {}
