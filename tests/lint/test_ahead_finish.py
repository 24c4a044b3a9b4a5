"""What the likely callers' child has under way when the file's lint ends
(forked.Ahead.stop()/wait(), upahead.took(), aheadpasses.py): the pass it
is making is finished and waited for by the caller facts that ask it, the
mentions it scanned for are the facts' scan, and the findings are those
made without any of it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from xenpatch.lint import aheadpasses, forked, nameindex, upahead, upcallers
from xenpatch.lint.inputs import display
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "upcallers"
# Its callers' facts ask two other files' first passes.
RUNNER = TREE / "common" / "runner.c"


def _until(cond: Callable[[], bool], limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < end, "the child never got there"
        time.sleep(0.02)


def _held(go: Path) -> Callable[[int], int]:
    """Task 1 waits for ``go`` to exist (a minute at most)."""
    def task(i: int) -> int:
        if i == 1:
            end = time.monotonic() + 60
            while not go.exists() and time.monotonic() < end:
                time.sleep(0.02)
        return i * 10

    return task


def test_a_stopped_child_finishes_the_task_it_started(tmp_path: Path) -> None:
    go = tmp_path / "go"
    ahead = forked.Ahead(_held(go), 4)
    try:
        _until(lambda: 1 in ahead.started())
        assert ahead.stop() == {0: 0}
        go.touch()
        assert ahead.wait(1) == 10
        # Told to stop, it starts no other task: none is waited for.
        t0 = time.perf_counter()
        assert ahead.wait(2) is None
        assert time.perf_counter() - t0 < 10
        assert ahead.started() == {0, 1}
    finally:
        ahead.end()
    assert ahead.wait(3) is None


def test_a_task_whose_child_dies_is_not_waited_for(tmp_path: Path) -> None:
    ahead = forked.Ahead(_held(tmp_path / "never"), 4)
    try:
        _until(lambda: 1 in ahead.started())
        ahead.stop()
        os.kill(ahead._pid, signal.SIGKILL)
        assert ahead.wait(1) is None  # nothing whole: done where asked
    finally:
        ahead.end()


def _findings(cache: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    monkeypatch.setenv("XENPATCH_CACHE", str(cache))
    [r] = lint_files([(RUNNER, display(RUNNER))], jobs=1, tree=True)
    return sorted((f.line, f.check, f.message, tuple(s.note for s in f.flow))
                  for f in r.findings)


def test_the_pass_being_made_and_the_mentions_scanned_ahead_are_taken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    here = _findings(tmp_path / "here", monkeypatch)
    assert here

    me = os.getpid()
    go = tmp_path / "go"
    real_first = upahead.first_ahead

    def held_first(*a):  # type: ignore[no-untyped-def]
        # In the child: the pass under way when the lint ends.
        while os.getpid() != me and not go.exists():
            time.sleep(0.02)
        return real_first(*a)

    from xenpatch.lint import lazyrun

    real_ahead = lazyrun._callers_ahead
    started: list[frozenset[str]] = []

    def ahead_under_way(*a):  # type: ignore[no-untyped-def]
        # The file's lint ends once the child has guessed and started a pass.
        ahead = real_ahead(*a)
        if ahead is not None:
            _until(lambda: 1 in ahead.started())
        return ahead

    real_took = upahead.took

    def took(cache, ahead):  # type: ignore[no-untyped-def]
        real_took(cache, ahead)
        started.append(frozenset(p for m in aheadpasses._MAKING for p in m.paths()))
        go.touch()  # the child finishes its pass now

    waited: list[str] = []
    real_wait = upahead._Making.wait

    def counted_wait(self, path):  # type: ignore[no-untyped-def]
        got = real_wait(self, path)
        if got is not None:
            waited.append(path)
        return got

    scanned: list[str] = []
    asked: list[str] = []
    real_scan, real_mentions = upcallers._scan, upcallers._Side.mentions

    def counted_scan(root, sources, names):  # type: ignore[no-untyped-def]
        if os.getpid() == me:
            scanned.extend(names)
        return real_scan(root, sources, names)

    def counted_mentions(self, root, state, names):  # type: ignore[no-untyped-def]
        if os.getpid() == me:
            asked.extend(names)
        return real_mentions(self, root, state, names)

    monkeypatch.setattr(forked, "can_fork", lambda: os.getpid() == me)
    monkeypatch.setattr(upahead, "first_ahead", held_first)
    monkeypatch.setattr(lazyrun, "_callers_ahead", ahead_under_way)
    monkeypatch.setattr(upahead, "took", took)
    monkeypatch.setattr(upahead._Making, "wait", counted_wait)
    monkeypatch.setattr(upcallers, "_scan", counted_scan)
    monkeypatch.setattr(upcallers._Side, "mentions", counted_mentions)
    # The facts made in this process, so that what they take is seen.
    monkeypatch.setattr("xenpatch.lint.lazyrun._facts_aside", lambda *a: None)
    assert _findings(tmp_path / "ahead", monkeypatch) == here
    # Not vacuous: a pass was under way when the lint ended, and the facts
    # waited for it instead of making it.
    assert started and started[0]
    assert waited and set(waited) <= started[0]
    # The facts asked mentions of the file's functions, and scanned none of
    # them: the guess had.
    mine = set(nameindex.external_names(RUNNER.read_bytes()))
    assert mine & set(asked)
    assert not mine & set(scanned)
    assert not aheadpasses._MAKING and not aheadpasses._FOUND  # forgotten with the run


def test_a_name_no_code_word_can_be_is_not_scanned_for(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.c").write_bytes(b"int foo(void) { return bar; }\n")
    scanned: list[list[str]] = []
    real_scan = upcallers._scan

    def counted(root, sources, names):  # type: ignore[no-untyped-def]
        scanned.append(list(names))
        return real_scan(root, sources, names)

    monkeypatch.setattr(upcallers, "_scan", counted)
    side = upcallers._Side(tmp_path / "side", "ctx")
    side._sources = ["a.c"]
    odd = ["->f", "&ask:struct d#->lock", "2x", ""]
    got = side.mentions(tmp_path, "s", ["bar", *odd])
    assert got == {"bar": ["a.c"], **dict.fromkeys(odd, [])}
    assert scanned == [["bar"]]
    # The same as a scan for them gives.
    assert real_scan(tmp_path, ["a.c"], odd) == {}
