"""The lint's process pools: what their workers do with Ctrl-C, and what
the run does when one of them dies.

A terminal's Ctrl-C reaches every process of the foreground group, the
pool's workers with the command.  A worker interrupted mid-task printed
multiprocessing's traceback of it before the command's own one-line
"interrupted"; so the workers ignore SIGINT, and the command, interrupted
(or failing), ends them itself instead of letting the pool finish the
work queued for them.  A worker killed from outside (the kernel's
out-of-memory killer, a kill) breaks the pool: cli.main() reports that in
one line (exit 2), the run being incomplete.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


def _worker_start(initializer: Callable[..., Any], initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    initializer(*initargs)


@contextmanager
def pool(jobs: int, initializer: Callable[..., Any],
         initargs: tuple[Any, ...]) -> Iterator[ProcessPoolExecutor]:
    """``jobs`` workers, each started with ``initializer(*initargs)``."""
    ex = ProcessPoolExecutor(jobs, initializer=_worker_start, initargs=(initializer, initargs))
    try:
        yield ex
    except BaseException:
        # The work still queued is not wanted: end the workers rather than
        # wait for it (they ignore Ctrl-C).
        for proc in list((getattr(ex, "_processes", None) or {}).values()):
            proc.terminate()
        ex.shutdown(wait=True, cancel_futures=True)
        raise
    ex.shutdown(wait=True)
