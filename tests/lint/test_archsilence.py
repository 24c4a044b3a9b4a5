"""Tree summaries across architectures (treeexports.architecture_silence()):
a name each of two architectures defines, one taking a lock and the other
none, has no summary for the tree's callers, as two differing summaries
have none; a name one architecture alone defines keeps its summary.

Each architecture's files are built with its own definitions
(treeexports.arch_overlays(), lazy.Plan.build): a name the tree's summary
leaves out may have one in a build, and a name only other builds define
has none in this one.

fixtures/lint/archsilence/ is a small tree: Arm's access_check() takes the
p2m lock, x86's takes nothing; x86's fault handler calls it holding that
lock (no deadlock on any build), Arm's does too (its own definition takes
it again: XL010).  arm_only_check() has Arm's definition alone: common
code calling it holding the lock meets its take (XL010), x86's code does
not (no function of x86's build)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lint import trees
from xenpatch.analysis.locktable import Summary
from xenpatch.lint.treeexports import SILENT, arch_overlays, architecture, architecture_silence
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "archsilence"

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert trees.wanted(TREE)["arch/x86/hvm/fault.c"] == []
    assert trees.wanted(TREE)["common/vm_event.c"] == [(10, "XL010")]


def test_the_hooks_run_of_each_caller_alone_agrees() -> None:
    for rel, want in trees.wanted(TREE).items():
        assert sorted((f.line, f.check) for f in trees.alone(TREE, rel)) == want, rel


def test_silence_counts_only_against_another_architecture() -> None:
    assert architecture("xen/arch/x86/mm/p2m.c") == "x86"
    assert architecture("/t/xen/common/memory.c") is None
    files = ["/t/xen/arch/arm/p2m.c", "/t/xen/arch/x86/mm/p2m.c", "/t/xen/common/p2m.c",
             "/t/xen/arch/arm/other.c"]
    got = architecture_silence({"f": files}, {"f": ["/t/xen/arch/arm/p2m.c"]})
    # x86's silence only: common code and Arm's other file are no other build.
    assert got == [{"f": SILENT}]
    assert architecture_silence({"f": files}, {"f": []}) == []


def test_a_caller_meets_its_own_architectures_definition() -> None:
    # Arm's caller is built with Arm's access_check(), which takes the
    # lock it holds; the tree's summary of the name (none: the two builds
    # differ) is no caller's.
    assert trees.found_whole(TREE)["arch/arm/fault.c"] == [(11, "XL010")]
    assert sorted((f.line, f.check) for f in trees.alone(TREE, "arch/arm/fault.c")) == \
        [(11, "XL010")]
    got = arch_overlays([("/t/xen/arch/arm/a.c", {"f": TAKES}), ("/t/xen/arch/x86/a.c", {}),
                         ("/t/xen/common/c.c", {"g": TAKES})], {"g": TAKES})
    assert got == {"arm": {"f": TAKES}}
    # Within one build two definitions that differ still give none.
    assert arch_overlays([("/t/xen/arch/arm/a.c", {"f": TAKES}),
                          ("/t/xen/common/c.c", {"f": SILENT_OTHER})], {}) == {}


TAKES = Summary((), None, guard=0)
SILENT_OTHER = Summary((), "success")


def test_the_hooks_run_of_several_builds_files_at_once_agrees() -> None:
    # A commit touching x86's, Arm's and common code's files: each is
    # linted with its own build's definitions, as alone.
    from xenpatch.lint.run import lint_files

    rels = ["arch/x86/hvm/fault.c", "arch/arm/fault.c", "common/vm_event.c"]
    got = lint_files([(TREE / r, r) for r in rels], jobs=1)
    want = trees.wanted(TREE)
    assert {r.path: sorted((f.line, f.check) for f in r.findings) for r in got} == \
        {r: want[r] for r in rels}


def test_the_hooks_second_run_of_several_builds_files_reads_what_the_first_kept() -> None:
    # The same commit's files again (a second `git commit` attempt): each
    # build's run takes what it kept, and only its own files' exports (the
    # other builds' files are no part of its tree: their kept exports are
    # of another plan, and reading them as its own crashed this run).
    from xenpatch.lint.run import lint_files

    rels = ["arch/x86/hvm/fault.c", "arch/x86/mm/access.c", "arch/arm/fault.c",
            "common/vm_event.c"]
    want = trees.wanted(TREE)
    for _ in range(2):
        got = lint_files([(TREE / r, r) for r in rels], jobs=1)
        assert [r.error for r in got] == [None] * len(rels)
        assert {r.path: sorted((f.line, f.check) for f in r.findings) for r in got} == \
            {r: want[r] for r in rels}


@pytest.mark.parametrize("folder", ["arch/src", "arch/x86/src"])
def test_a_tree_checked_out_under_a_folder_named_arch(tmp_path: Path, folder: str) -> None:
    # A tree whose own path has an arch/ folder above it (~/arch/xen/):
    # its common code is still common, its arch/x86/ still x86's.
    root = tmp_path / folder / "xen"
    shutil.copytree(TREE, root)
    assert trees.found_whole(root) == trees.wanted(TREE)
    for rel, want in trees.wanted(TREE).items():
        assert sorted((f.line, f.check) for f in trees.alone(root, rel)) == want, rel
    assert architecture(str(root / "common" / "vm_event.c")) is None
    assert architecture(str(root / "arch" / "x86" / "hvm" / "fault.c")) == "x86"
