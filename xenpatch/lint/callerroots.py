"""What the caller facts of a single-file run read of the tree
(upcallers.py, entrysettle.py through it): how many calling files at
most, and whether a file defines a function the tree's entry code calls
with IRQs on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig

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
