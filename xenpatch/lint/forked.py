"""Work done in one forked child while this process does other work: the
cold single-file run's second core (run._lazily).

A pool (ProcessPoolExecutor) costs more than it saves for one file (its
workers start, import and derive again what this process has); a child
forked once has all of it.  What the child returns is pickled whole into a
pipe and read back only if the child exited cleanly: a child killed,
failing or cut short gives nothing (None), never a part, and the caller
then does the work itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Is there a second CPU for a child, and fork to make one?"""
    if not hasattr(os, "fork"):
        return False
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:
        return (os.cpu_count() or 1) > 1


class Child(Generic[T]):
    """``fn()`` run in a forked child; result() waits for it."""

    def __init__(self, fn: Callable[[], T]) -> None:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: nothing of the parent's runs past here
            os.close(r)
            code = 1
            try:
                data = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(w, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self._pid, self._fd = pid, r
        self._done = False

    def result(self) -> T | None:
        """The child's result, or None if it gave none whole."""
        if self._done:
            return None
        self._done = True
        chunks = []
        with os.fdopen(self._fd, "rb") as inp:
            while chunk := inp.read(1 << 20):
                chunks.append(chunk)
        _, status = os.waitpid(self._pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        try:
            got: T = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 -- a truncated pickle: none whole
            return None
        return got

    def cancel(self) -> None:
        """The child's result is not wanted: end it, reap it."""
        if self._done:
            return
        self._done = True
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        os.close(self._fd)
        os.waitpid(self._pid, 0)
