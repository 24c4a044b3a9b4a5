"""Two xenpatch processes and one journal record: they take turns.

Each command starts by recovering the records it finds (recovery.py); a
record whose writer is still at work is not an interrupted write.  Before
journal.holding(), a lint started while a rewrite was landing rolled the
rewrite back under it, and two reports written into one folder at once
failed on each other's record.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from xenpatch import journal
from xenpatch.recovery import recover_around

_CTX = mp.get_context("fork")


def _reporting(fn: Callable[..., None], result: mp.Queue, *args: object  # type: ignore[type-arg]
               ) -> None:
    """``fn(*args)`` in a child, "ok" or its exception put in ``result``
    (reported to the test, which fails on it)."""
    try:
        fn(*args)
        result.put("ok")
    except BaseException as exc:
        result.put(f"{type(exc).__name__}: {exc}")


def _started(fn: Callable[..., None], result: mp.Queue, *args: object  # type: ignore[type-arg]
             ) -> mp.process.BaseProcess:
    p = _CTX.Process(target=_reporting, args=(fn, result, *args))
    p.start()
    return p


def _paused_writer(folder: str, ready: mp.synchronize.Event, go: mp.synchronize.Event) -> None:
    target = Path(folder) / "report.json"
    jn = journal.Journal(journal.record_path_for(Path(folder)), "test write")

    def stage() -> None:
        jn.stage({target: b"new\n"})
        ready.set()
        go.wait(20)

    journal.run(jn, stage)


def test_a_write_in_flight_is_waited_for_not_rolled_back(tmp_path: Path,
                                                          capfd: pytest.CaptureFixture[str]
                                                          ) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old\n")
    ready, go = _CTX.Event(), _CTX.Event()
    wrote, recovered = _CTX.Queue(), _CTX.Queue()
    writer = _started(_paused_writer, wrote, str(tmp_path), ready, go)
    assert ready.wait(20), "the writer never staged"
    # The record is there, as an interrupted write would leave it.
    assert journal.find_records([tmp_path]) == [tmp_path / journal.DOT_RECORD_NAME]
    other = _started(recover_around, recovered, [tmp_path])
    time.sleep(0.5)
    assert other.is_alive(), "the second command judged a record whose writer is at work"
    assert target.read_bytes() == b"old\n"
    go.set()
    writer.join(20)
    other.join(20)
    assert wrote.get(timeout=5) == "ok"
    assert recovered.get(timeout=5) == "ok"
    assert target.read_bytes() == b"new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    # Nothing was left to recover, so nothing is said.
    assert "rolled back" not in capfd.readouterr().err


def _hammer(folder: str, me: int, rounds: int) -> None:
    d = Path(folder)
    for i in range(rounds):
        recover_around([d])  # as every command starts
        journal.write_files(d, {d / f"report-{me}.txt": f"{me} {i}\n".encode()},
                            what="lint report")


def test_writers_into_one_folder_take_turns(tmp_path: Path) -> None:
    n, rounds = 3, 40
    q = _CTX.Queue()
    procs = [_started(_hammer, q, str(tmp_path), me, rounds) for me in range(n)]
    for p in procs:
        p.join(120)
    got = [q.get(timeout=5) for _ in procs]
    assert got == ["ok"] * n
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"report-{me}.txt" for me in range(n)]
    for me in range(n):
        assert (tmp_path / f"report-{me}.txt").read_text() == f"{me} {rounds - 1}\n"


def test_a_lock_file_left_by_a_killed_writer_goes(tmp_path: Path,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    # Killed between removing its record and removing its lock file.
    lock = journal.lock_path(tmp_path / journal.DOT_RECORD_NAME)
    lock.write_bytes(b"")
    recover_around([tmp_path])
    assert not lock.exists()
    assert capfd.readouterr().err == ""


def test_the_lock_is_taken_again_by_its_holder(tmp_path: Path) -> None:
    # A command that recovers a record and then writes through it.
    record = tmp_path / journal.DOT_RECORD_NAME
    with journal.holding(record), journal.holding(record):
        journal.write_files(tmp_path, {tmp_path / "a": b"a"}, what="test")
        assert journal.lock_path(record).exists()
    assert not journal.lock_path(record).exists()
    assert (tmp_path / "a").read_bytes() == b"a"


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    gone = tmp_path / "nowhere"
    with pytest.raises(journal.JournalError) as err:
        journal.write_files(gone, {gone / "a": b"a"}, what="test")
    assert err.value.what == str(gone)
    assert "no such folder" in err.value.reason
    assert os.listdir(tmp_path) == []


def test_a_file_system_without_locks_still_writes(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import fcntl

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    journal.write_files(tmp_path, {tmp_path / "a": b"a"}, what="test")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    # Any other failure to lock is the write's failure, named as the tree's.
    monkeypatch.setattr(fcntl, "flock", lambda fd, op: (_ for _ in ()).throw(
        OSError(errno.EIO, os.strerror(errno.EIO))))
    with pytest.raises(journal.JournalError) as err:
        journal.write_files(tmp_path, {tmp_path / "b": b"b"}, what="test")
    assert "nothing was changed" in err.value.reason
    assert err.value.what == str(tmp_path)
    # Its lock file may be another's now: left for the next command, which
    # clears it once it holds it.
    monkeypatch.undo()
    recover_around([tmp_path])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
