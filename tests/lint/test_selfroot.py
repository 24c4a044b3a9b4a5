"""A function whose own body turns IRQs on before anything moved or read
them is entered with IRQs off (analysis/irqroots.py self_stated()): a
CPU's bring-up path, called from assembly only.

fixtures/lint/selfroot/: secondary_start() (arch/arm/bringup.c) enables
IRQs after calling the interrupt controller's set-up, whose spin_lock_irq()
meets IRQs off (XL011); a function that disabled them first, one that
tests them first, and one a C caller calls with IRQs on say nothing of
their way in.  A plain take on the bring-up path is no witness for XL017
(check_lock() is off there) against a hypercall's take with IRQs on."""

from __future__ import annotations

import pytest

from lint import trees
from xenpatch.analysis.irqroots import self_stated
from xenpatch.analysis.irqstate import BOOT
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "selfroot"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert any(trees.wanted(TREE).values())


def test_the_set_up_file_alone_reports_it_too() -> None:
    # The hook's run: the bring-up file is one of the callers it reads
    # (upcallers.py), a file naming no lock but a move of IRQs.
    rel = "common/gicx.c"
    assert trees.shape(trees.alone(TREE, rel)) == trees.shape(trees.whole(TREE)[rel])
    [got] = trees.alone(TREE, rel)
    assert got.check == "XL011"
    # The path starts where the state does: the function's entry.
    assert "called before its caller first turns them on" in got.flow[0].note


def _units(rel: str) -> dict[str, FunctionUnit]:
    fa = trees.analysed(TREE / rel)
    for f in fa.order:
        fa.prepare(f)
    return {f.name: f for f in fa.order}


def test_only_an_enable_before_any_move_or_test_states_the_way_in() -> None:
    got = {n: self_stated(f) for n, f in _units("arch/arm/bringup.c").items()}
    assert got == {"secondary_start": BOOT, "secondary_stop": None, "secondary_idle": None}


def test_a_c_caller_with_irqs_on_leaves_the_entry_unknown() -> None:
    # cpu_resume_path()'s body says off, its caller calls it with IRQs on:
    # notes_record(), which it calls, is not taken to run with IRQs off.
    assert self_stated(_units("arch/arm/resume.c")["cpu_resume_path"]) == BOOT
    assert not [f for f in trees.whole(TREE)["common/gicx.c"] if f.function == "notes_record"]


def test_a_take_on_the_bring_up_path_is_no_witness_for_xl017() -> None:
    # route_lock: plain in gicx_route() (bring-up, IRQs off) and in
    # do_route_op() (a hypercall, IRQs on).
    got = trees.whole(TREE)["common/gicx.c"]
    assert [f.check for f in got] == ["XL011"]
