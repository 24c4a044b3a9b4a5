"""A call of a header macro whose body is a call of another file's
function is a call of that function (issue 9, item 5), whether or not the
header names a lock itself: ``free_domheap_page(p)`` of xen/mm.h is
free_domheap_pages(p, 0), which takes the heap lock in page_alloc.c."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from lint.trees import found_by_file, small_tree
from xenpatch.analysis.headers import header_index
from xenpatch.lint.inputs import collect_files
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIX = fixtures_dir() / "lint" / "calleemacro"


def _tree(tmp: Path) -> Path:
    return small_tree(tmp / "xen", {"include/xen/frames.h": FIX / "frames.h",
                                    "common/frames.c": FIX / "frames.c",
                                    "common/retire.c": FIX / "retire.c"})


def test_the_header_without_a_lock_call_gives_its_macros(tmp_path: Path) -> None:
    xen = _tree(tmp_path)
    idx = header_index(xen / "common" / "retire.c")
    assert idx.wrappers["frame_free"].target == "frames_free_many"
    assert idx.wrappers["frame_free"].args == ("$0", "0")
    assert idx.wrappers["frame_free_all"].target == "frames_free_many"
    assert idx.wrappers["frames_total"].target == "frames_count"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_macro_call_meets_the_take_of_the_function_it_calls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = _tree(tmp_path)
    got = found_by_file(lint_files(collect_files([xen]), jobs=jobs))
    assert got["retire.c"] == expected(FIX / "retire.c") == [(11, "XL010"), (18, "XL010")]
    assert got["frames.c"] == []


def test_the_hook_on_the_file_alone_agrees(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = _tree(tmp_path)
    retire = xen / "common" / "retire.c"
    (cold,) = lint_files([(retire, "retire.c")], jobs=1)
    assert sorted((f.line, f.check) for f in cold.findings) == expected(FIX / "retire.c")
    lint_files(collect_files([xen]), jobs=1)  # the whole tree fills the cache
    (warm,) = lint_files([(retire, "retire.c")], jobs=1)
    assert sorted((f.line, f.check) for f in warm.findings) == expected(FIX / "retire.c")
