"""A header inline that calls another inline through a macro (get_gfn_untyped()
-> get_gfn(d, g, &t) -> get_gfn_type()) is a lock helper when the inline
behind the macro is one: its callers hold what it takes (the 2012-05 master
tree's lookup loops read the take as lost and each second put_gfn() as a
release of a lock not held)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from lint.trees import found_by_file, small_tree
from xenpatch.lint.inputs import collect_files
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIX = fixtures_dir() / "lint" / "inlinemacro"


def _tree(tmp: Path) -> Path:
    return small_tree(tmp / "xen", {"include/xen/slots.h": FIX / "slots.h",
                                    "common/slots.c": FIX / "slots.c",
                                    "common/slot_user.c": FIX / "slot_user.c"})


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_take_reaches_the_caller_through_the_macro(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    got = found_by_file(lint_files(collect_files([_tree(tmp_path)]), jobs=jobs))
    assert got["slot_user.c"] == expected(FIX / "slot_user.c") == [(21, "XL001")]
    assert got["slots.c"] == got["slots.h"] == []


def test_the_hook_on_the_file_alone_agrees(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    user = _tree(tmp_path) / "common" / "slot_user.c"
    (one,) = lint_files([(user, "slot_user.c")], jobs=1)
    assert sorted((f.line, f.check) for f in one.findings) == expected(FIX / "slot_user.c")
