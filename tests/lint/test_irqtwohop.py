"""XL017 across files, two hops: a function holding an irqsave lock calls
another file's function, which calls (in its caller's state) a third
file's that takes an IRQ-unsafe lock (irqwitness HOPS, merge()'s
composition, lint/irqhops.py).

fixtures/lint/irqtwohop/: common/ctl.c holds its irqsave lock around
slot.c's functions; slot.c names no lock operation (a first pass skips
it); slot_setup() allocates, for a slot not set up yet, through
pool_fill(), an inline of a header naming no lock (the header index
leaves it out), which calls pool.c's _pool_get(), taking its lock
plainly; refill.c allocates with IRQs known on.  slot_reserve()
allocates for a size its caller passes: the caller's business, silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint import trees
from lint.trees import copied, edit, found_whole, wanted, whole
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqtwohop"
CTL = "common/ctl.c"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")



@pytest.mark.parametrize("jobs", [1, 2])
def test_two_hops_across_files_are_reported_whole_tree(jobs: int) -> None:
    got = found_whole(TREE, jobs)
    assert got == wanted(TREE)
    assert got[CTL] == [(17, "XL017")]  # not ctl_grow(): an argument decides


def test_the_finding_names_the_middle_function_and_the_other_files_take() -> None:
    [f] = whole(TREE)[CTL]
    assert f.function == "ctl_create"
    assert f.message.startswith("'slot_setup' (through 'spin_lock') takes 'pool_lock' "
                                "with IRQs off")
    assert "common/refill.c:18 (in 'refill_one')" in f.message


def test_an_irq_safe_end_lock_is_not_reported(tmp_path: Path) -> None:
    root = copied(TREE, tmp_path)
    edit(root / "common" / "pool.c", "    spin_lock(&pool_lock);",
         "    unsigned long flags;\n\n    spin_lock_irqsave(&pool_lock, flags);")
    edit(root / "common" / "pool.c", "    spin_unlock(&pool_lock);",
         "    spin_unlock_irqrestore(&pool_lock, flags);")
    assert all(fs == [] for fs in found_whole(root).values())


def test_a_middle_path_its_argument_decides_is_not_reported(tmp_path: Path) -> None:
    """slot_setup() allocating for a slot its caller says is not ready: the
    argument's value, which no record binds."""
    root = copied(TREE, tmp_path)
    edit(root / "common" / "slot.c", "int slot_setup(struct slot *s)\n{\n    if ( s->ready )",
         "int slot_setup(struct slot *s, int done)\n{\n    if ( done )")
    edit(root / "common" / "ctl.c", "int slot_setup(struct slot *s);",
         "int slot_setup(struct slot *s, int done);")
    edit(root / "common" / "ctl.c", "rc = slot_setup(s); /* expect: XL017 */",
         "rc = slot_setup(s, 0);")
    assert found_whole(root)[CTL] == []


def test_a_file_taking_the_lock_both_ways_inside_callees_still_reports(tmp_path: Path) -> None:
    """ctl.c allocating itself with IRQs known on too: its own lock ops never
    take the pool's lock, so the one-file check sees no pair."""
    root = copied(TREE, tmp_path)
    edit(root / "common" / "ctl.c", "#include <xen/spinlock.h>\n",
         "#include <xen/spinlock.h>\n#include <xen/pool.h>\n")
    (root / "common" / "ctl.c").write_text((root / "common" / "ctl.c").read_text() + (
        "\nvoid *ctl_spare(void)\n{\n    spin_lock_irq(&ctl_lock);\n"
        "    spin_unlock_irq(&ctl_lock);\n    return _pool_get(8);\n}\n"))
    [f] = whole(root)[CTL]
    assert f.line == 18
    # Its own take the other way is named: the same whichever files a run
    # read (the file alone reports it too).
    assert "with IRQs on in this file too, at common/ctl.c:38 (in 'ctl_spare')" in f.message
    assert trees.shape(trees.alone(root, CTL)) == trees.shape([f])


def test_a_chain_cut_at_the_bound_reports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.lint import irqhops

    monkeypatch.setattr(irqhops, "BOUND", 0)
    assert found_whole(TREE)[CTL] == []


def test_the_file_alone_reports_what_the_whole_tree_run_does() -> None:
    """The hook's setting: lint/lazywitness.py follows the chain too."""
    alone = trees.alone(TREE, CTL)
    assert trees.shape(alone) == trees.shape(whole(TREE)[CTL])
    assert [f.line for f in alone] == [17]


def test_a_chain_cut_at_its_bound_alone_reports_nothing_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.lint import lazywitness

    monkeypatch.setattr(lazywitness, "CHAIN_BOUND", 0)
    [r] = lint_files([(TREE / CTL, CTL)], jobs=1)
    assert r.findings == []
    notes = [u for u in r.undecided if "XL017 across files is not decided" in u[2]]
    assert notes and all("through 0 files" in u[2] for u in notes)


def test_a_parameter_tested_before_the_body_assigns_it_is_the_arguments(tmp_path: Path) -> None:
    """slot_reserve() testing its size before it rounds it up: the caller's
    argument decides the allocating path (xfree() tests its pointer's
    alignment before it strips the padding)."""
    root = copied(TREE, tmp_path)
    edit(root / "common" / "slot.c", "    if ( n <= 4 )\n        return 0;\n",
         "    if ( n <= 4 )\n        return 0;\n    n = (n + 7) & ~7ul;\n")
    edit(root / "common" / "slot.c", "    s->buf = pool_new(struct slot);",
         "    s->buf = pool_new(struct slot);\n    s->want = n;")
    assert found_whole(root)[CTL] == [(17, "XL017")]


def test_a_take_on_some_paths_of_a_hop_names_no_witness(tmp_path: Path) -> None:
    """refill.c allocating with IRQs on only through slot_prime()'s path
    its own local decides: a take its caller may meet, but the state
    deciding it may be one that caller never has (xfree() freeing a big
    block's pages), so it is no take with IRQs on to name."""
    root = copied(TREE, tmp_path)
    slot = root / "common" / "slot.c"
    slot.write_text(slot.read_text() + (
        "\nstatic int slot_count;\n\nint slot_prime(struct slot *s)\n{\n"
        "    int have = slot_count;\n\n    if ( have )\n        return 0;\n"
        "    s->buf = pool_new(struct slot);\n    return 0;\n}\n"))
    edit(root / "common" / "refill.c", "    return pool_new(struct chunk);",
         "    slot_prime(s);\n    return 0;")
    edit(root / "common" / "refill.c", "struct chunk *refill_one(void)",
         "struct slot;\nint slot_prime(struct slot *s);\n\n"
         "struct chunk *refill_one(struct slot *s)")
    ctl = root / CTL
    ctl.write_text(ctl.read_text() + (
        "\nint slot_prime(struct slot *s);\n\nvoid ctl_prime(struct slot *s)\n{\n"
        "    unsigned long flags;\n\n    spin_lock_irqsave(&ctl_lock, flags);\n"
        "    slot_prime(s);\n    spin_unlock_irqrestore(&ctl_lock, flags);\n}\n"))
    assert found_whole(root)[CTL] == []
