"""The first passes of likely callers made ahead in a run (upahead.py,
beside the file's own lint), kept for the caller facts made after it
(upcallers.py) to take as the pass they would make of the same text
shown the same; the pass still being made when the lint ended, for them
to wait for; and the mentions of the file's names the guess scanned for,
for them to take as the scan they would make of the same tree state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from xenpatch.analysis.locktable import Summary
from xenpatch.lint.treecache import TreeCache, content_hash

# First passes of likely callers made ahead in this run (lazyrun, beside
# the file's own lint): the file's path (the tree's root / rel) -> (content
# hash, display name, IRQ exports).  Taken by first()/first_all() as the
# pass they would make of the same text shown the same (forget_ahead()
# empties it at the end of the run).
_AHEAD: dict[str, tuple[str, str, dict[str, Summary]]] = {}

# (tree root, tree state) -> name -> the files mentioning it, as
# upcallers._Side.mentions() scanned them for the guess.
_FOUND: dict[tuple[str, str], dict[str, list[str]]] = {}


class Making(Protocol):
    """The passes the guess's child is still making (its last started)."""

    def paths(self) -> frozenset[str]:
        """The files whose pass it has started since the lint ended, or
        then and not handed on yet."""
        ...

    def wait(self, path: str) -> tuple[str, str, str, dict[str, Summary]] | None:
        """That pass, waited for: first_ahead()'s answer, None if the child
        does not hand it on whole."""
        ...

    def let_go(self) -> None:
        """Not wanted: the child is ended."""
        ...


_MAKING: list[Making] = []


def made_ahead(cache: TreeCache, made: Iterable[tuple[str, str, str, dict[str, Summary]]],
               ) -> None:
    """Passes first_ahead() made, for upcallers' first()/first_all() of
    this run."""
    for rel, digest, shown, ex in made:
        _AHEAD[str(cache.root / rel)] = (digest, shown, ex)


def making(what: Making) -> None:
    """The passes still being made ahead, for waited_for()."""
    _MAKING.append(what)


def found_ahead(root: Path, state: str, found: Mapping[str, list[str]]) -> None:
    """The mentions the guess scanned for in tree state ``state``."""
    _FOUND.setdefault((str(root), state), {}).update(found)


def found_for(root: Path, state: str, name: str) -> list[str] | None:
    """The files mentioning ``name`` as the guess found them in that state,
    if it scanned for it."""
    got = _FOUND.get((str(root), state))
    return None if got is None else got.get(name)


def forget_ahead() -> None:
    _AHEAD.clear()
    _FOUND.clear()
    _MAKING.clear()


def made_for(path: Path, raw: bytes, shown: str) -> dict[str, Summary] | None:
    """The pass made ahead of the file at ``path``, if of this text shown
    so."""
    got = _AHEAD.get(str(path))
    if got is None or got[0] != content_hash(raw) or got[1] != shown:
        return None
    return got[2]


def in_making(path: Path) -> bool:
    """Is the pass of the file at ``path`` being made ahead?"""
    return any(str(path) in m.paths() for m in _MAKING)


def waited_for(path: Path, raw: bytes, shown: str) -> dict[str, Summary] | None:
    """made_for(), the pass waited for if it is being made."""
    key = str(path)
    for m in _MAKING:
        if key in m.paths():
            got = m.wait(key)
            if got is not None:
                _AHEAD[key] = got[1:]
            break
    return made_for(path, raw, shown)


def let_go_unless(paths: Iterable[Path]) -> None:
    """The passes being made ahead are ended unless one is of ``paths``
    (the callers the facts ask): a guess that missed takes no more CPU."""
    wanted = {str(p) for p in paths}
    for m in _MAKING:
        if not (m.paths() & wanted):
            m.let_go()
