"""Two summaries of helpers that name their caller's lock in ways the
dataflow's facts alone do not give.

A void "retry until stable" lock helper holds its lock, at its exit,
through a local (``held``); the only way out of its loop is the ``==``
test's true edge with nothing run after it, so that local is the
expression it was compared with, and the summary names the lock by that
expression in the parameters' terms (analysis/exitnames.py), the lock its
unlock twin releases.  A helper whose local nothing proves equal to a
name its callers can see leaves them an unknown, never nothing
(summaries._held_template(), issue 9 item 3).

A set-up helper that drops its caller's lock only on the exits returning
an ``rc`` a test proved non-zero (``if ( rc ) goto fail1;``), and returns 0
holding it, releases it on a non-zero result only
(analysis/nonzero.py; summaries._lock_summary()'s ``by_result``): its
caller's success arm keeps the lock, its failure arm does not.

fixtures/lint/retrylock/: common/queues.c pairs the helpers of
include/xen/queues.h (one real double unlock); common/queue_poke.c
drops the trylock twin's lock by a call the lock table describes with a
newer signature, an integer for the lock: unknown, even though the integer
local is a copy of a field (actions.py asks the variable's type before its
aliases); arch/x86/slots.c calls the
set-up helper twice (one real double unlock on failure);
arch/x86/slots_fixup.c's helper changes rc after the test;
common/table_init.c's helper keeps its lock on an error return whose rc
is proven non-zero: a leak there (XL001), not a trylock its caller would
be blamed for (the proof serves releases only)."""

from __future__ import annotations

import pytest

from lint import trees
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "retrylock"

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert any(trees.wanted(TREE).values())


@pytest.mark.parametrize("rel", ["common/queues.c", "common/queue_poke.c", "common/table_init.c",
                                 "arch/x86/slots.c"])
def test_each_file_alone_reports_the_same(rel: str) -> None:
    assert trees.shape(trees.alone(TREE, rel)) == trees.shape(trees.whole(TREE)[rel])


@pytest.mark.parametrize("helper", ["item_queue_lock", "item_queue_lock_hinted"])
def test_the_retry_helper_takes_what_its_twin_releases(helper: str) -> None:
    fa = trees.analysed(TREE / "common/queues.c")
    take, drop = fa.summary_of(helper), fa.summary_of("item_queue_unlock")
    assert take is not None and drop is not None
    assert [(e.action, e.key) for e in take.effects] == [("acquire", drop.effects[0].key)]
    assert drop.effects[0].key == "*(per_cpu(runqs,${0}->cpu).lock)"


def test_the_trylock_twin_names_its_lock_on_success() -> None:
    # "return 1;" straight from the test's equal edge: a constant read
    # after the test changes neither side.
    fa = trees.analysed(TREE / "common/queues.c")
    s = fa.summary_of("queue_trylock")
    assert s is not None and s.conditional == "nz"
    assert [(e.action, e.key) for e in s.effects] == [("try", "*(per_cpu(runqs,${0}).lock)")]


def test_a_lock_held_by_a_local_name_alone_is_unknown_to_the_callers() -> None:
    fa = trees.analysed(TREE / "common/queues.c")
    s = fa.summary_of("item_queue_lock_counted")
    assert s is not None
    assert [(e.action, e.key) for e in s.effects] == [("unknown", "*")]


def test_the_setup_helper_releases_on_a_non_zero_result_only() -> None:
    fa = trees.analysed(TREE / "arch/x86/slots.c")
    s = fa.summary_of("slot_setup")
    assert s is not None and s.conditional == "nz"
    assert [(e.action, e.key) for e in s.effects if e.action != "take"] == [
        ("release", "$1->lock")]


def test_rc_changed_after_its_test_proves_nothing() -> None:
    fa = trees.analysed(TREE / "arch/x86/slots_fixup.c")
    s = fa.summary_of("slot_setup_fixup")
    assert s is not None and s.conditional is None
