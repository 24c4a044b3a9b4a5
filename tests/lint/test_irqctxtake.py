"""XL017 with a take's IRQ state from one caller's way in
(lint/irqsafectx.py), the caller in another file.

fixtures/lint/irqctxtake/ is a small tree: drivers/bus.c takes a segment's
map_lock plainly in seg_record() (inside seg_add()) and in
seg_bridge_of().  The bus hypercall (drivers/ctl.c, a handler public xen.h
numbers) calls seg_add() with IRQs on; drivers/remap.c calls
seg_bridge_of() with IRQs off from set_source(), a static helper with no
lock of its own called under an _irqsave section (lint/offchains.py);
drivers/probe.c calls both in a state nothing states, so neither entry is
known and only the callers one at a time say anything.  count_lock is
taken with IRQs on by the hypercall and with IRQs off only after
common/suspend.c turned check_lock() off (spin_debug_disable()): nothing
to report there."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint import trees
from xenpatch.analysis.irqentry import UNCHECKED, WITNESS
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqctxtake"

# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert trees.wanted(TREE)["drivers/bus.c"] == [(26, "XL017")]


def test_the_finding_names_both_ways_in() -> None:
    [f] = trees.whole(TREE)["drivers/bus.c"]
    assert f.function == "seg_record"
    assert "taken with IRQs off at line 48 (in 'seg_bridge_of')" in f.message
    notes = [s.note for s in f.flow]
    assert notes[:4] == [
        "'seg_add' called with IRQs on by 'do_busctl_op' (drivers/ctl.c:18)",
        "'seg_record' called here with IRQs on, in 'seg_add'",
        "'seg_bridge_of' called with IRQs off by 'set_source' (drivers/remap.c:29)",
        "'s->map_lock' taken with IRQs off here, in 'seg_bridge_of' ('spin_lock' with IRQs "
        "off on every path to it)"]


def test_the_hook_run_finds_both_callers() -> None:
    # upcallers.py: the IRQs-off caller can turn IRQs off; the IRQs-on one
    # defines a hypercall's handler.
    got = trees.alone(TREE, "drivers/bus.c")
    assert [(f.line, f.check, f.function) for f in got] == [(26, "XL017", "seg_record")]


def test_a_caller_with_check_lock_off_is_no_witness() -> None:
    [r] = lint_files([(TREE / "common" / "suspend.c", "common/suspend.c")], jobs=1, tree=False)
    [e] = r.exports[f"{WITNESS}seg_count|off"].effects
    assert e.flavour == UNCHECKED
    assert not any(f.key == "s->count_lock" for fs in trees.whole(TREE).values() for f in fs)


def test_without_the_helpers_irqsave_nothing_is_reported(tmp_path: Path) -> None:
    root = trees.copied(TREE, tmp_path)
    trees.edit(root / "drivers" / "remap.c", "spin_lock_irqsave(&u->lock, flags);",
               "spin_lock(&u->lock);")
    trees.edit(root / "drivers" / "remap.c", "spin_unlock_irqrestore(&u->lock, flags);",
               "spin_unlock(&u->lock);")
    assert not any(trees.found_whole(root).values())


def test_without_the_hypercall_nothing_is_reported(tmp_path: Path) -> None:
    # ctl.c's handler is then entered in a state nothing states.
    root = trees.copied(TREE, tmp_path)
    (root / "include" / "public" / "xen.h").unlink()
    assert not any(trees.found_whole(root).values())


def test_with_check_lock_on_the_suspend_take_counts(tmp_path: Path) -> None:
    # suspend.c's call is then a witness with IRQs off: seg_count_reset()'s
    # take with IRQs on is against it.  seg_count()'s own take, met with
    # IRQs on (ctl.c) and off (suspend.c), is its callers' conflict: not
    # reported in bus.c.  (The enable goes too: one with no disable before
    # it arms the check, and the function is entered with it off:
    # analysis/unarmed.py.)
    root = trees.copied(TREE, tmp_path)
    trees.edit(root / "common" / "suspend.c", "    spin_debug_disable();\n", "")
    trees.edit(root / "common" / "suspend.c", "    spin_debug_enable();\n", "")
    got = trees.whole(root)["drivers/bus.c"]
    assert [(f.line, f.function) for f in got] == [(26, "seg_record"), (75, "seg_count_reset")]
    assert "taken with IRQs off at line 63 (in 'seg_count')" in got[1].message
