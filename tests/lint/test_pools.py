"""Ctrl-C and a killed worker in a run with a process pool (lint/pools.py):
one line on stderr, never multiprocessing's traceback of a worker, and no
waiting for the work still queued."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "xen" / "xen"

_INTERRUPTED = """
import os, sys, time
sys.path.insert(0, {root!r})
from xenpatch.lint.pools import pool

def nap(i):
    time.sleep(60)

def started():
    pass

try:
    with pool(2, started, ()) as ex:
        futs = [ex.submit(nap, i) for i in range(8)]
        print("ready", flush=True)
        for f in futs:
            f.result()
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
"""


def _group_left(pgid: int) -> list[str]:
    return subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True,
                          text=True).stdout.split()


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
    assert _group_left(p.pid) == []


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
