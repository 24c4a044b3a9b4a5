"""Tree summaries across architectures (treeexports.architecture_silence()):
a name each of two architectures defines, one taking a lock and the other
none, has no summary for the tree's callers, as two differing summaries
have none; a name one architecture alone defines keeps its summary.

fixtures/lint/archsilence/ is a small tree: Arm's access_check() takes the
p2m lock, x86's takes nothing, and x86's fault handler calls it holding
that lock (no deadlock on any build); arm_only_check() has Arm's
definition alone, and the same caller meets its take (XL010)."""

from __future__ import annotations

import pytest

from lint import trees
from xenpatch.lint.treeexports import SILENT, architecture, architecture_silence
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "archsilence"

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert trees.wanted(TREE)["arch/x86/hvm/fault.c"] == [(21, "XL010")]


def test_the_hooks_run_of_the_caller_alone_agrees() -> None:
    assert sorted((f.line, f.check) for f in trees.alone(TREE, "arch/x86/hvm/fault.c")) == \
        [(21, "XL010")]


def test_silence_counts_only_against_another_architecture() -> None:
    assert architecture("xen/arch/x86/mm/p2m.c") == "x86"
    assert architecture("/t/xen/common/memory.c") is None
    files = ["/t/xen/arch/arm/p2m.c", "/t/xen/arch/x86/mm/p2m.c", "/t/xen/common/p2m.c",
             "/t/xen/arch/arm/other.c"]
    got = architecture_silence({"f": files}, {"f": ["/t/xen/arch/arm/p2m.c"]})
    # x86's silence only: common code and Arm's other file are no other build.
    assert got == [{"f": SILENT}]
    assert architecture_silence({"f": files}, {"f": []}) == []
