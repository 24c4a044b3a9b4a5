"""The IRQ state after a call of a helper that returns holding a lock it
took with IRQs off (summaries.py, Effect.irq): off where its effect holds
-- after an acquire helper, on the success side of a try-like one's
result test -- so XL017 sees the caller's allocation made with IRQs off.

fixtures/lint/irqreturned/: common/chan.c's chan_find() returns a channel
locked _irqsave, or NULL with nothing locked (as the IRQ descriptor
lookups do); chan_get() always returns it locked _irq, chan_get_plain()
locked plainly.  The pool's lock (common/pool.c) is IRQ-unsafe: stats.c
takes it with IRQs known on.  Reported: the allocation past
``if ( c == NULL ) return`` and the one after chan_get().  Silent: the
allocation on chan_find()'s NULL side (IRQs as they were: on), and the one
after chan_get_plain() (IRQs as the caller has them, which nothing says),
and the one after chan_unlock(), which restores flags it was handed (the
IRQ state after it is unknown: summaries.py's release ``irq``).  An unlock
helper that turns IRQs on on every path (chan_put()) is still checked
against the state before it: XL014 inside chan_poll()'s
local_irq_disable() section, after chan_get().

fixtures/lint/irqbuilt/ linted a file alone (lint/lazywitness.py): the
allocator defined twice, the Makefile building one; the search takes the
built definition's record, as the whole-tree run's merge does."""

from __future__ import annotations

import pytest

from lint import trees
from lint.test_fixtures import expected
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqreturned"
BUILT = fixtures_dir() / "lint" / "irqbuilt"
CHAN = "common/chan.c"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    got = trees.found_whole(TREE)
    assert got == {p.relative_to(TREE).as_posix(): expected(p)
                   for p in sorted(TREE.rglob("*.c"))}
    assert got[CHAN] == [(66, "XL017"), (92, "XL017"), (141, "XL014")]


def test_the_success_side_of_the_result_test_has_irqs_off() -> None:
    [f, _, _] = trees.whole(TREE)[CHAN]
    assert f.function == "chan_attach"
    assert "'_pool_get' (through 'spin_lock') takes 'pool_lock' with IRQs off" in f.message
    assert "at common/stats.c:18 (in 'stats_sample')" in f.message
    # The path runs through the helper's call and the test it passed.
    notes = [s.note for s in f.flow]
    assert "c = chan_find(port, NULL);" in notes and "'c == NULL' is false" in notes


def test_the_file_alone_reports_what_the_whole_tree_run_does() -> None:
    assert trees.shape(trees.alone(TREE, CHAN)) == trees.shape(trees.whole(TREE)[CHAN])


def test_summaries_say_irqs_off_only_for_an_irq_take() -> None:
    fa = trees.analysed(TREE / CHAN)

    def irq(name: str) -> list[tuple[str, str | None]]:
        s = fa.summary_of(name)
        assert s is not None
        return [(e.action, e.irq) for e in s.effects if e.action != "take"]

    assert irq("chan_find") == [("try", "off")]
    assert irq("chan_get") == [("acquire", "off")]
    assert irq("chan_get_plain") == [("acquire", None)]
    # Its caller's IRQ state after it is unknown: not the acquire's "off".
    assert irq("chan_unlock") == [("release", "?")]
    # IRQ_ON says what chan_put() leaves: on.
    assert irq("chan_put") == [("release", None), ("irqon", None)]


def test_an_allocator_defined_twice_is_the_built_ones_for_a_file_alone() -> None:
    """irqbuilt/common/user.c alone: slab.c's record (the Makefile's), as
    the whole-tree run merges it."""
    rel = "common/user.c"
    alone = trees.alone(BUILT, rel)
    assert [(f.line, f.check) for f in alone] == [(20, "XL017")]
    assert trees.shape(alone) == trees.shape(trees.whole(BUILT)[rel])
