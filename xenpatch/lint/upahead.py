"""The first passes of a linted file's likely callers, made ahead of its
own lint (lazyrun._callers_ahead(), in a child forked beside it): the
caller facts made after the lint (upcallers.py) take a pass made here as
the one they would make of the same text shown the same.

Which callers' facts a file asks for, its first pass says; here every
external function it defines is taken as asked (a guess of which passes
to make early, never an answer: a pass made for a file not asked is only
not used).  The mentions of those functions the guess scanned the tree
for are the facts' scan of them in the same tree state; the pass the
child is making when the lint ends is finished, and waited for by the
facts if they ask it (took()).  Kept for the run only (forget_ahead())."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenpatch.analysis.locktable import Summary
from xenpatch.c.texts import read_bytes
from xenpatch.lint import upcallers
from xenpatch.lint.aheadpasses import forget_ahead, found_ahead, made_ahead, made_for, making
from xenpatch.lint.treecache import TreeCache, content_hash

if TYPE_CHECKING:
    from xenpatch.lint import forked
    from xenpatch.lint.config import LintConfig


def likely_callers(cache: TreeCache, path: Path, raw: bytes,
                   config: LintConfig) -> list[str]:
    """The files upcallers._callers() would choose if every external
    function the file defines were asked of the tree (its first pass, which says what
    is asked, is not made yet): those naming the most of them first, then
    the biggest.  A guess of which first passes to make ahead, never an
    answer: a pass made for a file not asked is only not used."""
    got = guess(cache, path, raw, config)
    return [] if got is None else got[2]


def guess(cache: TreeCache, path: Path, raw: bytes, config: LintConfig,
          ) -> tuple[str, dict[str, list[str]], list[str]] | None:
    """likely_callers(), with the tree state and the mentions of the
    file's external names it scanned for (None: nothing scanned)."""
    from xenpatch.lint import nameindex

    rel = upcallers._rel(cache, path)
    names = frozenset(nameindex.external_names(raw))
    if rel is None or not names:
        return None
    side = upcallers._Side.open(cache)
    if rel in side.facts:
        return None  # see never_asked()
    state = side.tree_state(cache, rel)
    mentions = side.mentions(cache.root, state, names)
    chosen = [r for r in upcallers._callers(cache, side, rel, mentions, names, names, config,
                                            names)
              if side.firsts.get(r, ("",))[0] != cache.hashes.get(r)]  # not kept already
    named = {r: sum(r in mentions[n] for n in names) for r in chosen}
    return state, mentions, sorted(chosen, key=lambda r: (-named[r], -_size(cache.root / r), r))


class Guess:
    """The tasks of the child making the guess's passes (forked.Ahead):
    task 0 guesses (guess(): the callers, the mentions it scanned), task i
    makes the first pass of the i-th caller guessed (first_ahead())."""

    def __init__(self, cache: TreeCache, path: Path, raw: bytes, config: LintConfig,
                 first_pass: upcallers.FirstPass, display_of: Callable[[Path], str]) -> None:
        self.cache, self.path, self.raw, self.config = cache, path, raw, config
        self.first_pass, self.display_of = first_pass, display_of
        self._picked: list[str] | None = None

    def task(self, i: int) -> Any:
        if i == 0:
            got = guess(self.cache, self.path, self.raw, self.config)
            self._picked = [] if got is None else got[2]
            return got
        assert self._picked is not None
        return first_ahead(self.cache, self._picked[i - 1], self.first_pass,
                           self.display_of) if i <= len(self._picked) else None


def took(cache: TreeCache, ahead: forked.Ahead[Any]) -> None:
    """What the guess's child has made by now, for the caller facts of
    this run (aheadpasses.py): its mentions, its passes, and the pass it
    is making (left to finish: the facts wait for it if they ask it, else
    let go of it)."""
    got = ahead.stop()
    scanned = got.get(0)
    if scanned is None:
        ahead.end()  # nothing guessed yet: nothing to wait for
        return
    state, mentions, picked = scanned
    found_ahead(cache.root, state, mentions)
    made_ahead(cache, (v for i, v in got.items() if i > 0 and v is not None))
    making(_Making(ahead, {str(cache.root / r): i + 1 for i, r in enumerate(picked)
                           if i + 1 not in got}))


class _Making:
    """aheadpasses.Making of a guess's child."""

    def __init__(self, ahead: forked.Ahead[Any], task_of: dict[str, int]) -> None:
        self.ahead, self.task_of = ahead, task_of

    def paths(self) -> frozenset[str]:
        started = self.ahead.started()
        return frozenset(p for p, i in self.task_of.items() if i in started)

    def wait(self, path: str) -> tuple[str, str, str, dict[str, Summary]] | None:
        i = self.task_of.get(path)
        got = self.ahead.wait(i) if i is not None else None
        return got if isinstance(got, tuple) else None

    def let_go(self) -> None:
        self.ahead.end()


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


__all__ = ["Guess", "first_ahead", "forget_ahead", "guess", "likely_callers", "made_ahead",
           "made_for", "took"]
