"""XL017 across files (lint/irqwitness.py): a lock taken with IRQs known on
in one file and known off in another, its takes inside callees included.
fixtures/lint/irqsafe_xfile/ is a small tree: common/pool.c's allocator
takes its pool's lock plainly (the pool a parameter bound to a file-scope
object, behind the pool_new() macro of a cast call, as xmalloc() is);
table.c allocates holding an irqsave lock, user.c with IRQs known on after
an _irq unlock.  The twins that must stay silent: _quick_get() masks IRQs
itself before its plain take; user_grow() allocates with IRQs as its
callers have them; table_release() frees through table_put(), which
calls pool_put() on some paths only; each of table.c and user.c has its
own static stats_lock, taken in the two states."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from lint.trees import copied, edit, found_whole
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import irqrecords, irqwitness
from xenpatch.lint.inputs import display as _display
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqsafe_xfile"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_allocators_lock_is_taken_in_both_states(jobs: int) -> None:
    got = found_whole(TREE, jobs)
    want = {p.relative_to(TREE).as_posix(): expected(p) for p in sorted(TREE.rglob("*.c"))}
    assert got == want
    # Every take of the pool's lock is plain: the one with IRQs off is the
    # one against its convention.
    assert got["common/table.c"] == [(23, "XL017"), (69, "XL017")]
    assert got["common/user.c"] == []


def test_the_finding_names_the_other_files_take() -> None:
    files = [(p, p.relative_to(TREE).as_posix()) for p in sorted(TREE.rglob("*.c"))]
    [f, g] = [f for r in lint_files(files, jobs=1, tree=False) for f in r.findings
              if r.path == "common/table.c"]
    assert f.function == "table_add"
    assert "with IRQs off" in f.message and "common/user.c:20 (in 'user_refill')" in f.message
    assert f.flow[0].note == ("'main_pool->lock' taken with IRQs on at common/user.c:20, "
                              "in 'user_refill' (through '_pool_get')")
    # Through table_free(), on every path of which pool_put() is called.
    assert (g.function, g.line) == ("table_del", 69)
    assert g.message.startswith("'table_free' (through 'spin_lock') takes 'main_pool->lock'")


def test_unknown_state_at_the_other_call_says_nothing(tmp_path: Path) -> None:
    """user_refill() entered with IRQs as its callers have them: no take of
    the pool's lock is known to have IRQs on."""
    root = copied(TREE, tmp_path)
    edit(root / "common" / "user.c", "    spin_lock_irq(&user_lock);\n    nr_users++;\n"
          "    spin_unlock_irq(&user_lock);\n    return pool_new(struct item);",
          "    return pool_new(struct item);")
    assert all(v == [] for v in found_whole(root).values())


def test_a_shared_lock_of_that_name_is_one_lock(tmp_path: Path) -> None:
    """stats_lock made one global object: table.c's irqsave take and
    user.c's take with IRQs on meet; the irqsave form declares it IRQ-safe,
    so the take with IRQs on is reported."""
    root = copied(TREE, tmp_path)
    edit(root / "common" / "table.c", "static DEFINE_SPINLOCK(stats_lock);",
          "DEFINE_SPINLOCK(stats_lock);")
    edit(root / "common" / "user.c", "static DEFINE_SPINLOCK(stats_lock);",
          "extern spinlock_t stats_lock;")
    got = found_whole(root)
    assert got["common/table.c"] == [(23, "XL017"), (69, "XL017")]
    assert got["common/user.c"] == [(41, "XL017")]


def test_a_callee_masking_irqs_itself_binds_no_state(tmp_path: Path) -> None:
    """_quick_get() without its own local_irq_save(): its plain take is
    then in its callers' states, which differ."""
    root = copied(TREE, tmp_path)
    pool = root / "common" / "pool.c"
    edit(pool, "    local_irq_save(flags);\n", "")
    edit(pool, "    local_irq_restore(flags);\n", "")
    got = found_whole(root)
    assert got["common/table.c"] == [(23, "XL017"), (40, "XL017"), (69, "XL017")]
    assert got["common/user.c"] == []


def test_a_file_alone_reports_what_the_whole_tree_run_does() -> None:
    """The other files a file alone needs are found (lint/lazywitness.py)."""
    for p in sorted(TREE.rglob("*.c")):
        [r] = lint_files([(p, _display(p))], jobs=1, tree=True)
        assert sorted((f.line, f.check) for f in r.findings) == expected(p)


def test_a_files_own_take_is_no_other_files() -> None:
    w = irqrecords.Witness("f", "a.c", 3, "g", "l")
    mine = {f"{irqwitness.LOCK}#l|on": Summary((irqrecords.witness_effect("on", w),), None),
            f"{irqwitness.LOCK}#l|off": Summary((irqrecords.witness_effect(
                "off", irqrecords.Witness("h", "a.c", 9, "spin_lock_irq", "l")),), None)}
    # Both states in one file: nobody else's take to disagree with.
    assert irqwitness.merge([(Path("a.c"), "a.c", mine)]) == {}
    other = {f"{irqwitness.LOCK}#l|off": mine[f"{irqwitness.LOCK}#l|off"]}
    got = irqwitness.merge([(Path("a.c"), "a.c", mine), (Path("b.c"), "b.c", {
        f"{irqwitness.LOCK}#l|off": Summary((irqrecords.witness_effect(
            "off", irqrecords.Witness("k", "b.c", 5, "spin_lock", "l")),), None)})])
    # Plain takes only: the lock is IRQ-unsafe, b.c's take with IRQs off
    # is against a.c's with them on.
    assert f"{irqwitness.RELINT}b.c" in got and f"{irqwitness.RELINT}a.c" not in got
    assert other


def test_a_take_check_lock_does_not_check_latches_nothing(tmp_path: Path) -> None:
    """After spin_debug_disable() (rules/lint.toml's irqsafe.unchecked),
    check_lock() returns at once: table_add()'s allocation there latches
    no IRQ safety."""
    root = copied(TREE, tmp_path)
    edit(root / "common" / "table.c", "    spin_lock_irqsave(&table_lock, flags);\n"
          "    e = pool_new", "    spin_debug_disable();\n"
          "    spin_lock_irqsave(&table_lock, flags);\n    e = pool_new")
    assert found_whole(root)["common/table.c"] == [(70, "XL017")]  # table_del()'s only


def _in_arch(root: Path, arch: str) -> None:
    """table.c moved under arch/ARCH/, and the only call with IRQs known
    on made by a file of arch/x86/."""
    (root / "arch" / arch).mkdir(parents=True, exist_ok=True)
    (root / "common" / "table.c").rename(root / "arch" / arch / "table.c")
    (root / "arch" / "x86").mkdir(parents=True, exist_ok=True)
    (root / "common" / "user.c").rename(root / "arch" / "x86" / "user.c")


def test_two_architectures_are_never_built_together(tmp_path: Path) -> None:
    root = copied(TREE, tmp_path)
    _in_arch(root, "arm")
    assert all(v == [] for v in found_whole(root).values())


def test_one_architecture_is(tmp_path: Path) -> None:
    root = copied(TREE, tmp_path)
    _in_arch(root, "x86")
    assert found_whole(root)["arch/x86/table.c"] == [(23, "XL017"), (69, "XL017")]
