"""A callee that takes the lock of every element of a collection, in turn,
while its caller holds one element's lock: a self-deadlock (XL010;
analysis/collective.py; held-out 98e10364bd, dump_irqs() called under
one descriptor's lock).

fixtures/lint/collective/: include/xen/slot.h's slot_of(n) is
``(&slot_table[n])``.  dump_slots() (named through the accessor, skipping
slots by their own state) and zero_hits() (``slot_table[n]`` directly)
take every slot's lock; show_others() skips the slot whose number its
caller passes, show_peers() the slot this_slot() returns, show_first()
stops where its caller says, show_until() stops at the caller's slot,
show_remote() skips the one a call names, count_slots() takes each
slot's stat_lock: none of these is reported.  The callers hold one slot's lock as
``s->lock`` of ``s = slot_of(nr)`` (slot.c, and fault.c in another file)
or as ``slot_table[nr].lock``; slot_report() meets dump_slots()'s take
through report_all(), which locks nothing itself."""

from __future__ import annotations

import pytest

from lint import trees
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "collective"
SLOT = "common/slot.c"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    got = trees.found_whole(TREE)
    assert got == trees.wanted(TREE)
    assert got[SLOT] == [(109, "XL010"), (121, "XL010"), (179, "XL010")]
    assert got["common/fault.c"] == [(11, "XL010")]


def test_the_finding_names_the_callees_take_of_every_element() -> None:
    f = trees.whole(TREE)[SLOT][0]
    assert f.function == "slot_check"
    assert f.message.startswith("'dump_slots' takes 's->lock', already held since line 107")
    assert "taken in dump_slots() in slot.c, which takes the lock of every element of " \
           "'slot_table'" in f.message
    assert [s.line for s in f.flow][0] == 107 and f.flow[-1].line == 109


def test_the_file_alone_reports_what_the_whole_tree_run_does() -> None:
    assert trees.shape(trees.alone(TREE, SLOT)) == trees.shape(trees.whole(TREE)[SLOT])


def test_only_loops_over_every_element_say_so() -> None:
    fa = trees.analysed(TREE / SLOT)

    def takes(name: str) -> list[str]:
        s = fa.summary_of(name)
        return [e.key for e in s.effects] if s is not None else []

    assert takes("dump_slots") == ["slot_table[*].lock"]
    assert takes("zero_hits") == ["slot_table[*].lock"]
    # Another field's lock of every element: a caller holding .lock
    # meets none of it.
    assert takes("count_slots") == ["slot_table[*].stat_lock"]
    # Through a callee: the take keeps naming the loop that makes it.
    [e] = fa.summary_of("report_all").effects  # type: ignore[union-attr]
    assert e.key == "slot_table[*].lock" and e.origin is not None \
        and e.origin.startswith("dump_slots() in slot.c")
    # The caller's own slot skipped, or the range the caller's to say.
    assert takes("show_others") == []
    assert takes("show_peers") == []
    assert takes("show_first") == []
    # Stopping at the caller's slot; skipping this CPU's.
    assert takes("show_until") == []
    assert takes("show_remote") == []
