"""Ctrl-C and a killed worker in a run with a process pool (lint/pools.py):
one line on stderr, never multiprocessing's traceback of a worker, and no
waiting for the work still queued."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "xen" / "xen"


def _live(pgid: int) -> list[str]:
    """The processes of a group still alive (zombies hold nothing)."""
    rows = subprocess.run(["ps", "-o", "pid=,stat=", "-g", str(pgid)], capture_output=True,
                          text=True).stdout.splitlines()
    return [r.split()[0] for r in rows if "Z" not in r.split()[1]]

# What each script below starts with: tasks that sleep, workers that start.
_PRELUDE = """
import sys, time
from contextlib import ExitStack
sys.path.insert(0, {root!r})
from xenpatch.cli import Terminated, _terminable
from xenpatch.lint.pools import pool

def nap(payload):
    time.sleep(60)

def started():
    pass

def ready_then_wait(futs):
    print("ready", flush=True)
    for f in futs:
        f.result()
"""

_INTERRUPTED = _PRELUDE + """
try:
    with pool(2, started, ()) as ex:
        ready_then_wait([ex.submit(nap, i) for i in range(8)])
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
"""


def test_ctrl_c_ends_the_workers_without_their_tracebacks(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(_INTERRUPTED.format(root=str(ROOT)))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # the workers are in their naps
    t0 = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
    _, err = p.communicate(timeout=30)
    # Not the 60 s of the queued naps.
    assert time.monotonic() - t0 < 10
    assert p.returncode == 130
    assert err == "interrupted\n", err
    time.sleep(0.3)
    assert _live(p.pid) == []


_KILLED = """
import os, signal, sys
sys.path.insert(0, {root!r})
from xenpatch.cli import main
from xenpatch.lint import workers

real = workers.first

def first(item, raw, index):
    # The kernel's out-of-memory killer, as a worker meets this file.
    if item[1].endswith("grant_table.c"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(item, raw, index)

workers.first = first
sys.exit(main(["lint", "-j", "2", {tree!r}]))
"""


def test_a_killed_worker_is_one_line_and_exit_2(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(_KILLED.format(root=str(ROOT), tree=str(FIXTURE)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "XENPATCH_CACHE": str(tmp_path / "c")})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "xenpatch: a worker process ended abruptly (killed, or out of memory?): "
        "the run is incomplete"]


_TWO_POOLS = _PRELUDE + """
with _terminable():
    try:
        with ExitStack() as stack:
            # As a whole-tree run's pinned pools: each worker made at its
            # pool's first task, so each holds the other's pipes.
            a = stack.enter_context(pool(1, started, ()))
            b = stack.enter_context(pool(1, started, ()))
            futs = [a.submit(nap, b"")]
            # Enough queued behind b's first nap to fill its pipe.
            futs += [b.submit(nap, b"x" * (1 << 16)) for _ in range(8)]
            time.sleep(0.5)
            ready_then_wait(futs)
    except Terminated:
        print("terminated", file=sys.stderr)
        sys.exit(143)
"""


def _started(tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "run.py"
    script.write_text(_TWO_POOLS.format(root=str(ROOT)))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    return p


def test_sigterm_to_the_command_alone_ends_it_and_its_workers(tmp_path: Path) -> None:
    p = _started(tmp_path)
    t0 = time.monotonic()
    os.kill(p.pid, signal.SIGTERM)  # as `timeout` sends it: the command only
    try:
        _, err = p.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
    assert time.monotonic() - t0 < 10
    assert p.returncode == 143
    assert err == "terminated\n", err
    time.sleep(0.3)
    assert _live(p.pid) == []


def test_sigkill_to_the_command_takes_its_workers(tmp_path: Path) -> None:
    p = _started(tmp_path)
    os.kill(p.pid, signal.SIGKILL)
    try:
        # Its workers held its stdout and stderr: a CI job reading them hung.
        p.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
    time.sleep(0.3)
    assert _live(p.pid) == []


_CHILD_TERMINATED = """
import os, signal, sys
sys.path.insert(0, {root!r})
from xenpatch.cli import _terminable

with _terminable():
    pid = os.fork()
    if pid == 0:
        # A worker signalled before it sets its own handler: the command's.
        os.kill(os.getpid(), signal.SIGTERM)
        os._exit(0)  # not reached
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status))
"""


def test_a_child_of_the_command_signalled_early_ends_quietly(tmp_path: Path) -> None:
    # The race CI met: a pool's worker ended while it started printed the
    # Terminated of the handler it inherited, as a traceback.
    script = tmp_path / "run.py"
    script.write_text(_CHILD_TERMINATED.format(root=str(ROOT)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "143"
    assert done.stderr == ""
