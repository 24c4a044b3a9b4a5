"""What the later rounds and the second pass ask of a helper's summary
(lint/takers.py): whether it only takes locks, the names a caller must
use to hold one of them, and whether what a summary adds can change the
lint of a file naming given identifiers."""

from __future__ import annotations

from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.lint import takers


def _effect(action: str, key: str) -> Effect:
    return Effect(action, "spin", "write", "plain", key, None, "helper")


def _summary(*effects: tuple[str, str]) -> Summary:
    return Summary(tuple(_effect(a, k) for a, k in effects), None)


HEAP = _summary(("take", "heap_lock"))
FIELD = _summary(("take", "d->page_alloc_lock"))
HANDED = _summary(("take", "*$0"))
RELEASE = _summary(("release", "heap_lock"))
MIXED = _summary(("take", "heap_lock"), ("release", "d->page_alloc_lock"))


def test_takes_only() -> None:
    assert takers.takes_only(HEAP) and takers.takes_only(FIELD)
    assert not takers.takes_only(RELEASE)
    # One release among takes is not take-only.
    assert not takers.takes_only(MIXED)
    assert takers.takes_only(_summary())  # nothing at all: no release either


def test_lock_names_are_the_field_or_global_with_its_underscores() -> None:
    assert takers.lock_names(HEAP) == {"heap_lock", "_heap_lock", "__heap_lock"}
    assert takers.lock_names(FIELD) == \
        {"page_alloc_lock", "_page_alloc_lock", "__page_alloc_lock"}
    # The leading underscores are not part of the name.
    assert takers.lock_names(_summary(("take", "_pcidevs_lock"))) == \
        {"pcidevs_lock", "_pcidevs_lock", "__pcidevs_lock"}
    # Every effect's lock is named.
    assert takers.lock_names(_summary(("take", "heap_lock"), ("take", "d->lock"))) == \
        {"heap_lock", "_heap_lock", "__heap_lock", "lock", "_lock", "__lock"}


def test_a_lock_the_helper_is_handed_may_be_any() -> None:
    assert takers.lock_names(HANDED) is None
    # A parameter's field is named by the field.
    assert takers.lock_names(_summary(("take", "$1->lock"))) == {"lock", "_lock", "__lock"}
    assert takers.lock_names(_summary(("take", "heap_lock"), ("take", "*$0"))) is None
    # Only underscores: no name.
    assert takers.lock_names(_summary(("take", "__"))) is None


def test_take_names_only_for_takes() -> None:
    assert takers.take_names(HEAP) == takers.lock_names(HEAP)
    assert takers.take_names(RELEASE) is None
    assert takers.take_names(MIXED) is None


def test_meets() -> None:
    names = takers.lock_names(HEAP)
    assert takers.meets(names, frozenset({"heap_lock", "other"}))
    assert takers.meets(names, frozenset({"_heap_lock"}))
    assert not takers.meets(names, frozenset({"sweep_lock", "heap"}))
    assert not takers.meets(names, frozenset())
    # None (anything but takes, or a handed lock) meets every file.
    assert takers.meets(None, frozenset())
    assert takers.meets(None, frozenset({"heap_lock"}))


def test_what_a_summary_adds() -> None:
    assert takers.added(MIXED, None) == MIXED
    assert takers.added(MIXED, HEAP) == _summary(("release", "d->page_alloc_lock"))
    assert takers.added(HEAP, MIXED) == _summary()
    assert takers.added(HEAP, RELEASE) == HEAP


def test_change_meets_asks_of_what_is_added_only() -> None:
    heap = frozenset({"heap_lock"})
    # A release already there, a take added: only the take is asked.
    assert takers.change_meets(MIXED, _summary(("release", "d->page_alloc_lock")), heap)
    assert not takers.change_meets(MIXED, _summary(("release", "d->page_alloc_lock")),
                                   frozenset({"sweep_lock"}))
    # A release added meets any file.
    assert takers.change_meets(MIXED, HEAP, frozenset())
    # Nothing added: takes of no lock, meeting no file.
    assert not takers.change_meets(HEAP, HEAP, heap)
    assert takers.change_meets(HEAP, None, heap)
    assert not takers.change_meets(HEAP, None, frozenset({"sweep_lock"}))


def test_may_meet_reads_the_files_text() -> None:
    assert takers.may_meet(HEAP, b"spin_lock(&heap_lock);")
    assert not takers.may_meet(HEAP, b"spin_lock(&sweep_lock);")
    # Through a wrapper named after the lock, underscores dropped.
    assert takers.may_meet(_summary(("take", "_pcidevs_lock")), b"pcidevs_lock();")
    # A field: the file names it.
    assert takers.may_meet(FIELD, b"spin_lock(&d->page_alloc_lock);")
    assert not takers.may_meet(FIELD, b"spin_lock(&d->lock);")
    # Anything but a take, or a handed lock, may meet any file.
    assert takers.may_meet(RELEASE, b"")
    assert takers.may_meet(HANDED, b"")
    assert takers.may_meet(_summary(("take", "__")), b"")
    # Every effect asked: the second one's lock is named.
    assert takers.may_meet(_summary(("take", "sweep_lock"), ("take", "heap_lock")),
                           b"spin_lock(&heap_lock);")
    assert not takers.may_meet(_summary(), b"heap_lock")
