"""XL017 across files for a struct field's lock in a single-file run
(lint/lazyfield.py): the file linted alone reports what a whole-tree run
reports of it, naming the same take of another file.

fixtures/lint/fieldlazy/: drivers/poolirq.c takes a pool's lock (a field
of struct pool) plainly under its _irqsave lock; common/poolctl.c's
hypercall handler takes it with IRQs on (through a static helper), and
no file takes it IRQ-safe.  common/queuectl.c takes a lock of the same
field name in struct queue IRQ-safe: another lock (the identity is the
struct type and the field path), which neither makes the pool's lock
IRQ-safe nor is against poolirq.c's take of it with IRQs off.  The
pool's statistics lock, taken with IRQs off only, says nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint import trees
from xenpatch.lint import lazyfield
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "fieldlazy"
IRQ = "drivers/poolirq.c"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert trees.wanted(TREE)[IRQ] == [(16, "XL017")]


def test_the_file_alone_reports_what_the_whole_tree_run_does() -> None:
    whole = trees.whole(TREE)[IRQ]
    alone = trees.alone(TREE, IRQ)
    assert trees.shape(alone) == trees.shape(whole)
    assert "at common/poolctl.c:8 (in 'pool_resize')" in alone[0].message


def test_the_search_is_listed_and_reads_the_files_naming_the_field() -> None:
    [r] = lint_files([(TREE / IRQ, IRQ)], jobs=1)
    said = {why for _, _, why in r.searched}
    # The pool's lock: the two files declaring a struct pool and naming
    # the path (queuectl.c names struct pool, but its ->lock is a queue's:
    # its record has no take of the pool's lock).
    assert any("'struct pool->lock'" in w and "common/poolctl.c" in w
               and "common/queuectl.c" in w for w in said)
    assert any("'struct pool->stat_lock'" in w and "searched the 0 files" in w for w in said)
    # The queue's lock is IRQ-safe by queuectl.c's take.
    assert any("'struct queue->lock'" in w and "common/queuectl.c takes it IRQ-safe" in w
               for w in said)
    assert r.undecided == []


def test_the_other_files_alone_report_nothing() -> None:
    for rel in ("common/poolctl.c", "common/queuectl.c"):
        assert trees.alone(TREE, rel) == []


def test_a_search_stopping_at_its_bound_reports_nothing_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lazyfield, "BOUND", 1)
    [r] = lint_files([(TREE / IRQ, IRQ)], jobs=1)
    assert r.findings == []
    assert any("none of the 1 the search lints" in why for _, _, why in r.undecided)


def test_the_path_of_an_identity_is_searched_as_a_chain() -> None:
    pat = lazyfield.path_pattern("structdomain#->arch.paging.lock")
    assert pat is not None
    assert pat.search(b"spin_lock(&d->arch . paging.lock);")
    assert not pat.search(b"spin_lock(&d->paging.lock);")
    assert lazyfield.path_pattern("structdomain#->locks[0]") is None
    typed = lazyfield.type_pattern("structdomain#->lock")
    assert typed is not None and typed.search(b"struct  domain *d")


def test_a_tree_naming_no_other_take_reports_nothing(tmp_path: Path) -> None:
    root = trees.copied(TREE, tmp_path)
    (root / "common" / "poolctl.c").unlink()
    assert trees.alone(root, IRQ) == []
