"""Summaries across files: a helper defined in one C file is understood in
another when both are linted together (the runner's second pass)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from xenpatch.analysis.irqentry import FIELD_KEY, LOCKS_KEY
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.lint.findings import FileResult
from xenpatch.lint.run import lint_files
from xenpatch.lint.treeexports import tree_exports
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "crossfile"


def _found(results: list[FileResult]) -> dict[str, list[tuple[int, str]]]:
    return {r.path: sorted((f.line, f.check) for f in r.findings) for r in results}


@pytest.mark.parametrize("jobs", [1, 2])
def test_helper_of_another_file_is_understood(jobs: int) -> None:
    files = [(p, p.name) for p in sorted(TREE.glob("*.c"))]
    got = _found(lint_files(files, jobs=jobs))
    assert got == {p.name: expected(p) for p, _ in files}


def test_alone_the_caller_cannot_know() -> None:
    # Without msix.c, dump_one() seems to leak where msix_print() dropped
    # the lock, and dump_twice()'s double release is invisible: the second
    # pass is what makes the difference.
    dump = TREE / "dump.c"
    got = _found(lint_files([(dump, dump.name)], jobs=1))[dump.name]
    assert got != expected(dump)
    assert [c for _, c in got] == ["XL001"]


def test_exports_name_only_external_functions() -> None:
    msix = TREE / "msix.c"
    [r] = lint_files([(msix, msix.name)], jobs=1)
    [summary] = r.exports.values()
    assert list(r.exports) == ["msix_print"]
    assert summary.conditional == "nz"  # released when the result is non-zero
    assert [(e.action, e.key) for e in summary.effects] == [
        ("release", "$0->pdev->vdev->lock")
    ]


def test_a_name_with_two_summaries_is_left_out() -> None:
    rel = Summary((Effect("release", "spin", "", "any", "$0->lock", None, "f"),), None)
    acq = Summary((Effect("acquire", "spin", "", "any", "$0->lock", None, "f"),), None)
    a, b, c = FileResult("a.c"), FileResult("b.c"), FileResult("c.c")
    a.exports = {"f": rel, "g": rel}
    b.exports = {"f": acq}
    c.exports = {"g": rel}
    assert tree_exports([a.exports, b.exports, c.exports]) == {"g": rel}


def test_second_pass_files_are_those_calling_the_helper(tmp_path: Path) -> None:
    # A file that names no lock API at all is still linted when it calls
    # the other file's helper.
    (tmp_path / "msix.c").write_bytes((TREE / "msix.c").read_bytes())
    (tmp_path / "user.c").write_text(
        "struct vdev { spinlock_t lock; struct msix *msix; };\n"
        "struct pdev { struct vdev *vdev; };\n"
        "struct msix { struct pdev *pdev; unsigned int nr; };\n"
        "void show(struct msix *m)\n{\n    msix_print(m);\n}\n"
    )
    files = [(p, p.name) for p in sorted(tmp_path.glob("*.c"))]
    results = {r.path: r for r in lint_files(files, jobs=1)}
    assert results["user.c"].parsed
    # show() drops its caller's lock on one outcome only: nothing to report.
    assert results["user.c"].findings == []


def test_takes_cross_files_bound_by_their_parameters() -> None:
    # heap.c's helpers only take and drop their locks: their summaries go
    # to heap_user.c all the same, the domain's lock bound to the argument.
    heap = TREE / "heap.c"
    [r] = lint_files([(heap, heap.name)], jobs=1)
    # (Their takes for XL017 across files go apart: irqwitness.py.)
    assert {n: sorted((e.action, e.key) for e in s.effects) for n, s in r.exports.items()
            if not n.startswith(LOCKS_KEY)} == {
        "free_page_to_heap": [("take", "heap_lock")],
        "free_dom_page": [("take", "$0->alloc_lock"), ("take", "heap_lock")],
    }
    user = TREE / "heap_user.c"
    alone = _found(lint_files([(user, user.name)], jobs=1))[user.name]
    assert alone == []
    both = _found(lint_files([(heap, heap.name), (user, user.name)], jobs=1))
    assert both[user.name] == expected(user) == [(13, "XL010"), (28, "XL010")]


@pytest.mark.parametrize(("key", "text", "meets"), [
    ("console_lock", b"printk(x);", False),  # the caller cannot hold it
    ("console_lock", b"spin_lock(&console_lock); printk(x);", True),
    ("$0->alloc_lock", b"spin_lock(&d->alloc_lock);", True),
    ("$0->alloc_lock", b"spin_lock(&d->lock);", False),
    ("_pcidevs_lock", b"pcidevs_lock();", True),  # through its wrapper
    ("*$0", b"f(l);", True),  # the lock it is handed: any
])
def test_a_take_only_summary_matters_to_a_file_naming_its_lock(key: str, text: bytes,
                                                               meets: bool) -> None:
    from xenpatch.lint.takers import may_meet

    take = Summary((Effect("take", "spin", "write", "plain", key, None, "f"),), None)
    assert may_meet(take, text) is meets
    release = Summary((Effect("release", "spin", "", "any", key, None, "f"),), None)
    assert may_meet(release, text)  # anything but takes: always


def test_a_take_only_helper_sends_a_file_to_the_second_pass_where_a_lock_is_held() -> None:
    # heap_user.c calls heap.c's helpers under their locks (and elsewhere
    # outside them): its first pass says which calls may hold a lock, and a
    # file calling them at none is not linted again.
    from xenpatch.lint import workers
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.filelint import lint_file

    heap, user = TREE / "heap.c", TREE / "heap_user.c"
    config = LintConfig.load()
    exports = dict(lint_file(heap, heap.name, config).exports)
    first = lint_file(user, user.name, config)
    assert {"free_page_to_heap", "free_dom_page"} <= first.held_calls
    assert "mark_offline" in first.held_calls and "scrub_page" not in first.held_calls
    workers.init(None)
    again = workers.again((user, user.name), frozenset(), exports, None, first.held_calls)
    assert again is not None and sorted((f.line, f.check) for f in again.findings) == [
        (13, "XL010"), (28, "XL010")]
    assert workers.again((user, user.name), frozenset(), exports, None, frozenset()) is None


def test_the_name_index_finds_a_definition_with_a_comment_before_its_body() -> None:
    # mtrr_set() of Xen's mtrr/generic.c: its doc comment sits between the
    # parameter list and the body; its summary must be findable lazily.
    from xenpatch.lint.nameindex import definitions

    src = (b"int f(int a)\n/* one\n * two */\n{\n    return a;\n}\n"
           b"int g(void) /* c */\n{\n}\nvoid h(void) {\n}\n"
           b"int k(int a)\n/* not a body */;\n"
           b"int __attribute__((pure)) __m(int a)\n{\n}\nstatic void __init n(void)\n{\n}\n")
    assert [d.name for d in definitions(src)] == ["f", "g", "h", "__m", "n"]


def test_takes_on_some_paths_are_exported_with_their_site() -> None:
    # buf_release() frees into the pool on its last reference only; the
    # locked variant on its argument's say, and on some paths only: its
    # callers must bind the argument (pool_trim_held() passes 1).
    pool = TREE / "pool.c"
    [r] = lint_files([(pool, pool.name)], jobs=1)
    # (The "%irq" keys are whole-tree IRQ facts, not function summaries.)
    takes = {n: [(e.action, e.key, e.when, e.origin) for e in s.effects]
             for n, s in r.exports.items() if not n.startswith(FIELD_KEY)}
    assert takes == {
        "buf_release": [("take", "pool_lock", None,
                         "pool_insert(), called by buf_release() in pool.c")],
        "buf_release_locked": [("take", "pool_lock", "!$1", "buf_release_locked() in pool.c")],
    }
