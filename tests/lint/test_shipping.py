"""The exports file a whole-tree run ships to its workers (lint/shipping.py):
removed when the pass ends, and one left by a run killed outright removed by
the next run, never one of a run still going."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from xenpatch.lint.shipping import PREFIX, received, sweep, to_workers


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_dead_runs_file_is_swept_a_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / f"{PREFIX}{_dead_pid()}-abc.pickle"
    live = tmp_path / f"{PREFIX}{os.getpid()}-def.pickle"
    other = tmp_path / "xenpatch-exports-notapid.pickle"
    for f in (dead, live, other):
        f.write_bytes(b"x")
    assert sweep(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and other.exists()


def test_shipped_once_read_and_removed_after() -> None:
    with to_workers({"a": 1}, lambda *a: iter(())) as sent:
        assert received(sent) == {"a": 1}
        assert Path(sent.path).name.startswith(f"{PREFIX}{os.getpid()}-")
    assert not Path(sent.path).exists()
    with to_workers({"b": 2}, map) as same:
        assert same == {"b": 2}  # in this process: the object itself


_HOLDER = """
import sys, time
from xenpatch.lint.shipping import to_workers
with to_workers(list(range(1000)), lambda *a: iter(())) as sent:
    print(sent.path, flush=True)
    time.sleep(60)
"""


def test_a_file_left_by_sigkill_goes_with_the_next_run() -> None:
    # Fault injection: the run is killed while its file exists (no finally
    # runs); the next run's sweep removes it.
    p = subprocess.Popen([sys.executable, "-c", _HOLDER], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    left = Path(p.stdout.readline().strip())
    assert left.exists()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert left.exists()  # nothing cleaned up by the killed run
    with to_workers({}, lambda *a: iter(())):
        pass
    assert not left.exists()
    assert left.parent == Path(tempfile.gettempdir())


def test_only_the_last_object_received_is_held() -> None:
    """A worker gets each round's tree summaries in turn: the earlier ones
    are let go of, and one asked again is read again, the same."""
    from xenpatch.lint import shipping

    with to_workers({"round": 2}, lambda *a: iter(())) as second, \
            to_workers({"round": 3}, lambda *a: iter(())) as third:
        assert received(second) == {"round": 2}
        assert received(third) == {"round": 3}
        assert list(shipping._RECEIVED) == [third.path]
        assert received(second) == {"round": 2}
        assert list(shipping._RECEIVED) == [second.path]
