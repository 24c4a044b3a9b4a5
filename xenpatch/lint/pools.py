"""The lint's process pools: what their workers do with Ctrl-C, and what
the run does when one of them dies.

A terminal's Ctrl-C reaches every process of the foreground group, the
pool's workers with the command.  A worker interrupted mid-task printed
multiprocessing's traceback of it before the command's own one-line
"interrupted"; so the workers ignore SIGINT, and the command, interrupted
(or failing), ends them itself instead of letting the pool finish the
work queued for them.  A worker killed from outside (the kernel's
out-of-memory killer, a kill) breaks the pool: cli.main() reports that in
one line (exit 2), the run being incomplete.  A command killed outright
(SIGKILL, or SIGTERM to it alone, as `timeout` sends it) took no worker
with it: each sat waiting for work that never came, holding the command's
stdout and stderr open (a CI job reading them hung); on Linux the kernel
now ends a worker whose command is gone (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


def _worker_start(initializer: Callable[..., Any], initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Forked, it has the command's SIGTERM handler (cli.Terminated): a
    # worker the command ends (terminate()) just ends.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    initializer(*initargs)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """SIGKILL this worker when the process that made it ends (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:
        # Its command was gone before the request was made.
        os._exit(1)


@contextmanager
def pool(jobs: int, initializer: Callable[..., Any],
         initargs: tuple[Any, ...]) -> Iterator[ProcessPoolExecutor]:
    """``jobs`` workers, each started with ``initializer(*initargs)``."""
    ex = ProcessPoolExecutor(jobs, initializer=_worker_start, initargs=(initializer, initargs))
    _LIVE.append(ex)
    try:
        yield ex
    except BaseException:
        # The work still queued is not wanted: end the workers rather than
        # wait for it (they ignore Ctrl-C).  Every pool's at once: a
        # worker forked for one pool holds the pipes of the pools made
        # before it, so a pool whose own worker is gone may still be
        # writing a task into a pipe another pool's worker keeps open
        # (a whole-tree run's pools, passes.pinned(): it hung so).
        for each in _LIVE:
            for proc in list((getattr(each, "_processes", None) or {}).values()):
                proc.terminate()
        _LIVE.remove(ex)
        ex.shutdown(wait=True, cancel_futures=True)
        raise
    _LIVE.remove(ex)
    ex.shutdown(wait=True)


# The pools of this process still open, oldest first.
_LIVE: list[ProcessPoolExecutor] = []
