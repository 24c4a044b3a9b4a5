"""Which rwlock a Xen tree has, read from its own headers: the queued
rwlock (qrwlock, since 2016: an atomic ``cnts`` with ``_QW_*`` writer bits
in ``xen/include/xen/rwlock.h``), the counter with a writer bit before it
(``RW_WRITE_FLAG`` in ``spinlock.h``, 4.3 to 4.6), or the reader-preferring
one of older trees.  The runtime picks its lock model by this; the lint
checks recursive reads of plain rwlocks by it: in the first two a reader
waits behind a waiting writer, so a second read of a lock this CPU
read-holds can deadlock, while the older one lets a reader in whenever no
writer holds the lock."""

from __future__ import annotations

from pathlib import Path


def queued_rwlock_text(rwlock_h: str | None) -> bool:
    """Does this rwlock.h define the queued rwlock?"""
    return rwlock_h is not None and "cnts" in rwlock_h and "_QW_" in rwlock_h


def counter_rwlock_text(header: str | None) -> bool:
    """Does this header (spinlock.h before 4.7, rwlock.h) define the
    RW_WRITE_FLAG counter rwlock?"""
    return header is not None and "RW_WRITE_FLAG" in header


def read_header(path: Path) -> str | None:
    """A header's text, None when it cannot be read."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def tree_has_queued_rwlock(xen: Path | None) -> bool:
    """The answer for the hypervisor directory ``xen`` (the one holding
    include/xen/); False when there is none or it cannot be read."""
    if xen is None:
        return False
    return queued_rwlock_text(read_header(xen / "include" / "xen" / "rwlock.h"))


def tree_readers_wait_for_writers(xen: Path | None) -> bool:
    """Does the tree's rwlock_t make a new reader wait while a writer waits
    (the queued rwlock, or the RW_WRITE_FLAG counter whose writer sets its
    bit before the readers in drain)?  False when the headers cannot be read."""
    if xen is None:
        return False
    if tree_has_queued_rwlock(xen):
        return True
    inc = xen / "include" / "xen"
    return any(counter_rwlock_text(read_header(inc / h)) for h in ("spinlock.h", "rwlock.h"))
