"""The third round's tests of what changed (lint/rounds.py): which
functions' tree-level summaries the second round changes or gives, and
which files a round after the second pass may lint again."""

from __future__ import annotations

from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.lint import rounds
from xenpatch.lint.findings import FileResult


def _takes(key: str) -> Summary:
    return Summary((Effect("take", "spin", "write", "plain", key, None, "f"),), None)


HEAP, PAGE = _takes("heap_lock"), _takes("d->page_alloc_lock")


def _file(path: str, exports: dict[str, Summary],
          held: frozenset[str] = frozenset()) -> FileResult:
    return FileResult(path, exports=exports, held_calls=held)


def test_a_summary_the_second_round_changes_is_changed() -> None:
    # put_page() of mm.c took page_alloc_lock in the first round, and
    # heap_lock too in the second: the tree's summary changes.
    both = Summary(HEAP.effects + PAGE.effects, None)
    first = [_file("mm.c", {"put_page": PAGE}), _file("page_alloc.c", {"alloc": HEAP})]
    got = rounds.changed(first, [{"put_page": both}, None], {"put_page": PAGE, "alloc": HEAP})
    assert got == {"put_page": both}


def test_a_summary_the_second_round_gives_is_changed() -> None:
    first = [_file("mm.c", {}), _file("page_alloc.c", {"alloc": HEAP})]
    got = rounds.changed(first, [{"put_page": HEAP}, None], {"alloc": HEAP})
    assert got == {"put_page": HEAP}


def test_a_summary_the_second_round_leaves_is_not_changed() -> None:
    first = [_file("mm.c", {"put_page": PAGE}), _file("page_alloc.c", {"alloc": HEAP})]
    assert rounds.changed(first, [{"put_page": PAGE}, None],
                          {"put_page": PAGE, "alloc": HEAP}) == {}


def test_a_name_the_tree_left_out_stays_out() -> None:
    # Two architectures' p2m_put() with different first-round summaries:
    # the tree has none, and the second round agreeing on one gives none.
    first = [_file("x86/p2m.c", {"p2m_put": HEAP}), _file("arm/p2m.c", {"p2m_put": PAGE})]
    assert rounds.changed(first, [{"p2m_put": HEAP}, {"p2m_put": HEAP}], {}) == {}


def test_a_file_may_be_linted_later_when_it_calls_holding_or_defines_what_is() -> None:
    first = [_file("caller.c", {}, frozenset({"put_page"})),
             _file("mm.c", {}),
             _file("page_alloc.c", {"put_page": HEAP}),
             _file("other.c", {})]
    named: list[list[str] | None] = [["caller"], ["put_page"], ["put_page"], ["unrelated"]]
    # caller.c holds a lock at a call; mm.c defines put_page() with no
    # summary of its own; page_alloc.c has one already; other.c neither.
    assert rounds.asked_later(first, named) == [True, True, False, False]
    # A file whose names were not read may be.
    assert rounds.asked_later(first, [["caller"], None, None, None]) == [True] * 4
