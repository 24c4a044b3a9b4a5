"""A hypercall's handler is entered with IRQs on (analysis/irqroots.py,
rules/locks.toml's [irqentry]): the tree's public xen.h numbers the
hypercalls, and each number's do_NAME/compat_NAME is a way in that no C
call of the tree shows.

fixtures/lint/hyperroot/: devs_lock is taken IRQ-safe in drivers/intr.c
and plainly by the handlers of two hypercalls (one a 32-bit guest's, one
through a static helper), which XL017 reports; a do_ function no number
names, and a handler another caller enters with IRQs off, say nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint import trees
from xenpatch.analysis.irqroots import roots
from xenpatch.analysis.irqstate import load_irq_table
from xenpatch.errors import XenpatchError
from xenpatch.lint.config import LintConfig
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "hyperroot"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert any(trees.wanted(TREE).values())


def test_the_handlers_are_named_from_the_trees_numbers() -> None:
    got = roots(LintConfig.load().irq, TREE)
    # The alias (a #define of another macro) names none.
    assert got == {"do_devctl_op": "on", "compat_devctl_op": "on",
                   "do_probe_op": "on", "compat_probe_op": "on"}
    assert roots(LintConfig.load().irq, None) == {}


def test_without_the_numbers_nothing_is_reported(tmp_path: Path) -> None:
    root = trees.copied(TREE, tmp_path)
    (root / "include" / "public" / "xen.h").unlink()
    assert not any(trees.found_whole(root).values())


def test_a_bad_irqentry_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "locks.toml"
    bad.write_text('[irqentry.x]\nheader = "include/public/xen.h"\ndefine = "__H_"\n'
                   'prefixes = ["do_"]\nstate = "maybe"\n')
    with pytest.raises(XenpatchError, match="irqentry.x"):
        load_irq_table(bad)


ARCH = fixtures_dir() / "lint" / "hyperarch"


def test_a_dispatcher_whose_locks_are_its_callees_is_a_way_in() -> None:
    """do_map_op() takes nothing itself (the lint leaves it out as quiet):
    its callee's takes get their state from its entry all the same."""
    got = trees.whole(ARCH)
    assert trees.found_whole(ARCH) == trees.wanted(ARCH)
    assert {f.key for f in got["arch/x86/irqmap.c"]} == {"pt_lock", "va_lock"}
    assert all("in 'do_map_op'" in f.message for fs in got.values() for f in fs)


def test_another_architectures_file_scope_lock_is_not_this_ones() -> None:
    # The chain from an Arm file through common code reaches x86's
    # definition (the tree's record of arch_map()): x86's pt_lock is not a
    # lock an Arm hypervisor has.
    got = trees.whole(ARCH)
    assert [f.key for f in got["arch/arm/its.c"]] == ["va_lock"]


@pytest.mark.parametrize("rel", ["arch/x86/irqmap.c", "arch/arm/its.c"])
def test_the_file_alone_reports_what_the_whole_tree_run_does(rel: str) -> None:
    # A file-scope lock's witness search (lint/lazywitness.py) finds the
    # dispatcher's take.  (devs_lock of hyperroot/ is an extern: a file
    # alone does not search the tree for its takes; the whole-tree run
    # reports it.)
    assert trees.shape(trees.alone(ARCH, rel)) == trees.shape(trees.whole(ARCH)[rel])
    assert trees.alone(ARCH, rel)
