"""The first passes of a linted file's likely callers, made ahead of its
own lint (lazyrun._callers_ahead(), in a child forked beside it): the
caller facts made after the lint (upcallers.py) take a pass made here as
the one they would make of the same text shown the same.

Which callers' facts a file asks for, its first pass says; here every
external function it defines is taken as asked (a guess of which passes
to make early, never an answer: a pass made for a file not asked is only
not used).  Kept for the run only (forget_ahead())."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.analysis.locktable import Summary
from xenpatch.c.texts import read_bytes
from xenpatch.lint import upcallers
from xenpatch.lint.aheadpasses import forget_ahead, made_ahead, made_for
from xenpatch.lint.treecache import TreeCache, content_hash

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig




def likely_callers(cache: TreeCache, path: Path, raw: bytes,
                   config: LintConfig) -> list[str]:
    """The files upcallers._callers() would choose if every external
    function the file defines were asked of the tree (its first pass, which says what
    is asked, is not made yet): those naming the most of them first, then
    the biggest.  A guess of which first passes to make ahead, never an
    answer: a pass made for a file not asked is only not used."""
    from xenpatch.lint import nameindex

    rel = upcallers._rel(cache, path)
    names = frozenset(nameindex.external_names(raw))
    if rel is None or not names:
        return []
    side = upcallers._Side.open(cache)
    if rel in side.facts:
        return []  # see never_asked()
    mentions = side.mentions(cache.root, side.tree_state(cache, rel), names)
    chosen = [r for r in upcallers._callers(cache, side, rel, mentions, names, names, config,
                                            names)
              if side.firsts.get(r, ("",))[0] != cache.hashes.get(r)]  # not kept already
    named = {r: sum(r in mentions[n] for n in names) for r in chosen}
    return sorted(chosen, key=lambda r: (-named[r], -_size(cache.root / r), r))


def never_asked(cache: TreeCache, path: Path) -> bool:
    """Were the file's caller facts never made with this cache?  Only
    then are its callers' first passes worth guessing: after an edit the
    passes of the callers it asked before are kept, and the wrong guesses
    would be made again on every run (+0.25 s of CPU for grant_table.c's,
    in a child forked for nothing)."""
    rel = upcallers._rel(cache, path)
    return rel is not None and rel not in upcallers._Side.open(cache).facts


def first_ahead(cache: TreeCache, rel: str, first_pass: upcallers.FirstPass,
                display_of: Callable[[Path], str],
                ) -> tuple[str, str, str, dict[str, Summary]] | None:
    """The file's first pass as upcallers._Side.first() makes it: (rel, content hash,
    display name, IRQ exports); None if unreadable."""
    p = cache.root / rel
    try:
        raw = read_bytes(p)
    except OSError:
        return None
    shown = display_of(p)
    return rel, content_hash(raw), shown, upcallers._first_exports(first_pass, p, shown, raw)


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


__all__ = ["first_ahead", "forget_ahead", "likely_callers", "made_ahead", "made_for"]
