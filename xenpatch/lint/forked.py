"""Work done in one forked child while this process does other work: the
cold single-file run's second core (lazyrun.lazily).

A pool (ProcessPoolExecutor) costs more than it saves for one file (its
workers start, import and derive again what this process has); a child
forked once has all of it.  What the child returns is pickled whole into a
pipe and read back only if the child exited cleanly: a child killed,
failing or cut short gives nothing (None), never a part, and the caller
then does the work itself.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import struct
from collections.abc import Callable
from typing import BinaryIO, Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Is there a second CPU for a child, and fork to make one?  On a
    machine busy with other work the child would only add its CPU time
    (its half of the work runs beside this process's, and the answers it
    gives after this process has done the same work are thrown away); the
    results are the same either way.  Decided once per process, at its
    first ask, before any child of its own runs."""
    global _ROOM
    if not hasattr(os, "fork"):
        return False
    if _ROOM is None or _ROOM[0] != os.getpid():
        _ROOM = (os.getpid(), _room())
    return _ROOM[1]


_ROOM: tuple[int, bool] | None = None  # (the process asking, its answer)


def _room() -> bool:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return False
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    if load <= cpus - 1:
        return True
    # The minute's average lags: a build that ended seconds ago keeps it
    # high while the CPUs are idle (a hook run right after it, the cold
    # bench's own earlier rounds).  The kernel's count of what is runnable
    # now (this process one of them) says whether a CPU is free now.
    now = runnable_now()
    return now is not None and now - 1 <= cpus - 2


def runnable_now() -> int | None:
    """The scheduling entities runnable at this moment, this process's
    among them (/proc/loadavg's fourth field, "R/T"); None where there is
    no such file."""
    try:
        with open("/proc/loadavg", "rb") as f:
            fields = f.read().split()
        return int(fields[3].split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None


def _fork(write: Callable[[BinaryIO], None]) -> tuple[int, int]:
    """A child forked to ``write`` into a pipe: (its pid, the pipe's read
    end).  The child exits with 0 only once all it wrote is flushed, and
    runs nothing of the parent's past here (os._exit, not the parent's
    handlers and finally clauses)."""
    r, w = os.pipe()
    _freeze()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 1
        try:
            with os.fdopen(w, "wb") as out:
                write(out)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


# Did _freeze() freeze the collector's objects (thaw() gives them back)?
_FROZEN = False


def _freeze() -> None:
    """Before a fork: the objects this process has are left out of the
    collector's walks until thaw().  A collection walks (and writes to)
    every object of the generations it collects; once a child shares this
    process's pages, each page so written is copied, in the child and
    here, and the child's own collections walk this process's past again.
    Frozen, both sides walk only what they made since (measured on Xen
    4.17's grant_table.c, cold: the parent's collections 18 -> 10 ms, a
    child's up to 9 -> 7 ms, ~1,000 fewer page faults each side).  Only
    the collector's timing changes: no answer depends on it.  Objects
    someone else froze are left as they are (nothing frozen here then)."""
    global _FROZEN
    if _FROZEN or gc.get_freeze_count() == 0:
        gc.freeze()
        _FROZEN = True


def thaw() -> None:
    """What _freeze() froze, given back to the collector (the end of the
    run whose children shared it: its garbage is collected again)."""
    global _FROZEN
    if _FROZEN:
        gc.unfreeze()
        _FROZEN = False


def _kill(pid: int, fd: int) -> None:
    """End a child (one already gone: nothing to end) and close the pipe
    it writes; its reaping is its parent's."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.close(fd)


class Child(Generic[T]):
    """``fn()`` run in a forked child; result() waits for it."""

    def __init__(self, fn: Callable[[], T]) -> None:
        def write(out: BinaryIO) -> None:
            out.write(pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL))

        self._pid, self._fd = _fork(write)
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
        _kill(self._pid, self._fd)
        os.waitpid(self._pid, 0)


_FRAME = struct.Struct("<Q")


def shared_map(fn: Callable[[int], T], n: int) -> list[T]:
    """``[fn(i) for i in range(n)]``, this process taking them from the
    first, a forked child from the last, until they meet: however unequal
    the tasks, each side works while there is work.  The child says which
    task it starts, then hands its answer on, each pickled whole in a frame
    of its length; this process stops at the first task the child has
    started (doing it too would only add its CPU time: on Xen 4.17's
    grant_table.c the two sides did two of the 14 tasks twice), waits for
    the answers still coming, and does itself every task the child has
    not answered (all of them if it dies), so the list is the same
    whatever becomes of the child."""
    if n < 2 or not can_fork():
        return [fn(i) for i in range(n)]

    def write(out: BinaryIO) -> None:
        for i in reversed(range(n)):
            started = pickle.dumps((i, _STARTED), protocol=pickle.HIGHEST_PROTOCOL)
            out.write(_FRAME.pack(len(started)) + started)
            out.flush()
            data = pickle.dumps((i, fn(i)), protocol=pickle.HIGHEST_PROTOCOL)
            out.write(_FRAME.pack(len(data)) + data)
            out.flush()

    pid, r = _fork(write)
    os.set_blocking(r, False)
    got: dict[int, T] = {}
    started: set[int] = set()
    buf = bytearray()
    ended = False

    def take() -> None:
        nonlocal ended
        while len(buf) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(buf)
            if len(buf) < _FRAME.size + size:
                break
            try:
                i, value = pickle.loads(bytes(buf[_FRAME.size:_FRAME.size + size]))
            except Exception:  # noqa: BLE001 -- not whole: done here
                ended = True
                return
            del buf[:_FRAME.size + size]
            if isinstance(value, _Started):
                started.add(i)
            else:
                got[i] = value

    def drain() -> None:
        nonlocal ended
        while not ended:
            try:
                chunk = os.read(r, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                ended = True
                break
            buf.extend(chunk)
        take()

    try:
        for i in range(n):
            drain()
            # The child answers from the last down: a start said for i
            # means answers (or starts) for all after it.
            if i in got or i in started:
                break
            got[i] = fn(i)
        # The tasks the child has started and not answered yet: waited for
        # (the child ending without them leaves them to this process).
        os.set_blocking(r, True)
        while not ended and any(j not in got for j in started):
            chunk = os.read(r, 1 << 20)
            if not chunk:
                ended = True
            buf.extend(chunk)
            take()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.close(r)
        os.waitpid(pid, 0)
    return [got[i] if i in got else fn(i) for i in range(n)]


class Ahead(Generic[T]):
    """``fn(i)`` for i in range(n), in a child forked now, each answer handed
    on as soon as it is made: work this process may want later, done while
    it does other work.  taken() returns the answers whole by then and ends
    the child: this process never waits for one still being made (it does
    that task itself if it turns out to want it).  stop() instead takes
    them and lets the child finish the task it has started, starting no
    other: wait(i) then takes that answer where it turns out to be wanted,
    here or in a process forked from here after stop() (the caller facts'
    child), and end() ends the child.  What the child does not hand on
    whole is never taken, whatever becomes of it."""

    def __init__(self, fn: Callable[[int], T], n: int) -> None:
        told_r, told_w = os.pipe()

        def write(out: BinaryIO) -> None:
            os.close(told_w)
            os.set_blocking(told_r, False)
            for i in range(n):
                if _told(told_r):
                    return
                started = pickle.dumps((i, _STARTED), protocol=pickle.HIGHEST_PROTOCOL)
                out.write(_FRAME.pack(len(started)) + started)
                out.flush()
                data = pickle.dumps((i, fn(i)), protocol=pickle.HIGHEST_PROTOCOL)
                out.write(_FRAME.pack(len(data)) + data)
                out.flush()

        self._pid, self._fd = _fork(write)
        os.close(told_r)
        self._told = told_w
        # Only the process that forked the child reaps it.
        self._owner = os.getpid()
        os.set_blocking(self._fd, False)
        self._buf = bytearray()
        self._got: dict[int, T] = {}
        self._started: set[int] = set()
        self._ended = False  # the pipe read to its end, or a frame not whole
        self._done = False  # the child ended (or let go of, in a forked process)

    def _drain(self) -> None:
        """What the pipe has now, read; its whole frames taken."""
        while not self._ended:
            try:
                chunk = os.read(self._fd, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                self._ended = True
                break
            self._buf.extend(chunk)
        at = 0
        buf = self._buf
        while len(buf) - at >= _FRAME.size:
            (size,) = _FRAME.unpack_from(buf, at)
            if len(buf) - at - _FRAME.size < size:
                break
            try:
                i, value = pickle.loads(bytes(buf[at + _FRAME.size:at + _FRAME.size + size]))
            except Exception:  # noqa: BLE001 -- not whole: nothing after it taken
                self._ended = True
                break
            if isinstance(value, _Started):
                self._started.add(i)
            else:
                self._got[i] = value
            at += _FRAME.size + size
        del buf[:at]

    def taken(self) -> dict[int, T]:
        """The answers the child has handed on whole (none if it failed
        before); the child is ended and reaped."""
        if self._done:
            return {}
        try:
            if not self._ended:
                self._drain()
        finally:
            self.end()
        return dict(self._got)

    def stop(self) -> dict[int, T]:
        """The answers the child has handed on whole so far; it starts no
        other task, and finishes the one it has started (wait())."""
        if self._done:
            return {}
        with contextlib.suppress(OSError):
            os.write(self._told, b"x")
        self._drain()
        return dict(self._got)

    def started(self) -> frozenset[int]:
        """The tasks the child has started (handed on or not)."""
        if not self._done:
            self._drain()
        return frozenset(self._started | self._got.keys())

    def wait(self, i: int, unstarted: bool = False) -> T | None:
        """Task ``i``'s answer, waited for if the child has started it (with
        ``unstarted``, also if it has not yet: a child not told to stop
        does its tasks in order); None if it is not handed on whole (not
        started, the child ended)."""
        if i in self._got:
            return self._got[i]
        if self._done:
            return None
        self._drain()
        while i not in self._got and (unstarted or i in self._started) and not self._ended:
            select.select([self._fd], [], [])
            self._drain()
        return self._got.get(i)

    def end(self) -> None:
        """The child ended (no answer taken after), and reaped here if this
        process forked it (else it is only ended: its parent reaps it)."""
        if self._done:
            return
        self._done = True
        _kill(self._pid, self._fd)
        os.close(self._told)
        if os.getpid() == self._owner:
            os.waitpid(self._pid, 0)

    def cancel(self) -> None:
        """Not wanted after all: end it, reap it."""
        self.end()


def _told(fd: int) -> bool:
    """Has the parent said stop (a byte), or gone (the pipe's end)?"""
    try:
        os.read(fd, 1)
    except BlockingIOError:
        return False
    return True


class _Started:
    """The child's word that it starts a task (shared_map())."""


_STARTED = _Started()
