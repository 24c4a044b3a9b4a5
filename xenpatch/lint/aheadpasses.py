"""The first passes of likely callers made ahead in a run (upahead.py,
beside the file's own lint), kept for the caller facts made after it
(upcallers.py) to take as the pass they would make of the same text
shown the same."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xenpatch.analysis.locktable import Summary
from xenpatch.lint.treecache import TreeCache, content_hash

# First passes of likely callers made ahead in this run (lazyrun, beside
# the file's own lint): the file's path (the tree's root / rel) -> (content
# hash, display name, IRQ exports).  Taken by first()/first_all() as the
# pass they would make of the same text shown the same (forget_ahead()
# empties it at the end of the run).
_AHEAD: dict[str, tuple[str, str, dict[str, Summary]]] = {}


def made_ahead(cache: TreeCache, made: Iterable[tuple[str, str, str, dict[str, Summary]]],
               ) -> None:
    """Passes first_ahead() made, for upcallers' first()/first_all() of
    this run."""
    for rel, digest, shown, ex in made:
        _AHEAD[str(cache.root / rel)] = (digest, shown, ex)


def forget_ahead() -> None:
    _AHEAD.clear()


def made_for(path: Path, raw: bytes, shown: str) -> dict[str, Summary] | None:
    """The pass made ahead of the file at ``path``, if of this text shown
    so."""
    got = _AHEAD.get(str(path))
    if got is None or got[0] != content_hash(raw) or got[1] != shown:
        return None
    return got[2]
