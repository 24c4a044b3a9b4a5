"""The likely callers' first passes made ahead, beside the file's own lint
(lazyrun._callers_ahead(), forked.Ahead, upahead.py): the same findings as without
them, and a pass is taken only for the same text shown the same."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lint import trees
from xenpatch.lint import aheadpasses, forked, upahead, upcallers
from xenpatch.lint.inputs import display as _display
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "upcallers"


def _square(i: int) -> int:
    return i * i


def test_ahead_hands_on_what_it_has_made() -> None:
    ahead = forked.Ahead(_square, 4)
    time.sleep(2.0)  # a loaded machine's fork
    assert ahead.taken() == {0: 0, 1: 1, 2: 4, 3: 9}
    assert ahead.taken() == {}  # once


def test_ahead_never_waits_for_an_answer_being_made() -> None:
    def slow(i: int) -> int:
        if i >= 1:
            time.sleep(30)
        return i

    ahead = forked.Ahead(slow, 3)
    time.sleep(1.5)
    t0 = time.perf_counter()
    assert ahead.taken() == {0: 0}
    assert time.perf_counter() - t0 < 5


def test_a_failing_child_gives_what_it_handed_on() -> None:
    def fails(i: int) -> int:
        if i == 1:
            raise RuntimeError("no")
        return i

    ahead = forked.Ahead(fails, 3)
    time.sleep(1.5)
    assert ahead.taken() == {0: 0}


def _alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> dict[str, list]:
    return trees.each_alone(TREE, tmp_path / name, monkeypatch)


def test_passes_made_ahead_give_the_findings_made_without(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    here = _alone(tmp_path, monkeypatch, "here")
    assert any(here.values())
    used: list[str] = []
    real = upcallers._Side._ahead

    def counted(self, rel, raw, shown, path):  # type: ignore[no-untyped-def]
        got = real(self, rel, raw, shown, path)
        if got is not None:
            used.append(rel)
        return got

    me = os.getpid()
    real_ahead = forked.Ahead

    def finished(fn, n):  # type: ignore[no-untyped-def]
        # Every pass made before it is taken: the file's own lint of a
        # fixture is quicker than a fork.
        ahead = real_ahead(fn, n)
        time.sleep(1.0)
        return ahead

    monkeypatch.setattr(forked, "can_fork", lambda: os.getpid() == me)
    monkeypatch.setattr(forked, "Ahead", finished)
    monkeypatch.setattr(upcallers._Side, "_ahead", counted)
    # The facts made in this process, so that the passes taken are seen.
    monkeypatch.setattr("xenpatch.lint.lazyrun._facts_aside", lambda *a: None)
    assert _alone(tmp_path, monkeypatch, "ahead") == here
    # Not vacuous: passes made ahead were taken.
    assert used
    # And forgotten with the run.
    assert not aheadpasses._AHEAD


def test_a_pass_made_ahead_of_other_text_is_not_taken(tmp_path: Path) -> None:
    p = tmp_path / "a.c"
    p.write_bytes(b"int x;\n")
    aheadpasses._AHEAD[str(p)] = (aheadpasses.content_hash(b"int y;\n"), "a.c", {"k": None})  # type: ignore[dict-item]
    try:
        side = upcallers._Side(tmp_path / "side", "ctx")
        assert side._ahead("a.c", b"int x;\n", "a.c", p) is None
        assert side._ahead("a.c", b"int y;\n", "b.c", p) is None
        assert side._ahead("a.c", b"int y;\n", "a.c", p) == {"k": None}
    finally:
        upahead.forget_ahead()


def test_nothing_is_guessed_after_an_edit(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # The callers asked before are kept: a guess would only make the wrong
    # ones again.
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    me = os.getpid()
    made: list[int] = []
    real_ahead = forked.Ahead

    def counted(fn, n):  # type: ignore[no-untyped-def]
        made.append(n)
        return real_ahead(fn, n)

    monkeypatch.setattr(forked, "can_fork", lambda: os.getpid() == me)
    monkeypatch.setattr(forked, "Ahead", counted)
    files = sorted(tree.rglob("*.c"))
    first = {p: lint_files([(p, _display(p))], jobs=1, tree=True) for p in files}
    assert made  # not vacuous: guessed on the first runs
    made.clear()
    for p in files:
        with p.open("a") as f:
            f.write("/* edited */\n")
        again = lint_files([(p, _display(p))], jobs=1, tree=True)
        assert [repr(f) for r in again for f in r.findings] == \
            [repr(f) for r in first[p] for f in r.findings]
    assert not made
