"""Which rwlock a Xen tree has, read from its own ``xen/include/xen/rwlock.h``:
the queued rwlock (qrwlock, since 2016: an atomic ``cnts`` with ``_QW_*``
writer bits) or an older one.  The runtime picks its lock model by this;
the lint checks recursive reads of plain rwlocks by it (a queued rwlock's
reader waits behind a waiting writer, so a second read of a lock this CPU
read-holds can deadlock)."""

from __future__ import annotations

from pathlib import Path


def queued_rwlock_text(rwlock_h: str | None) -> bool:
    """Does this rwlock.h define the queued rwlock?"""
    return rwlock_h is not None and "cnts" in rwlock_h and "_QW_" in rwlock_h


def tree_has_queued_rwlock(xen: Path | None) -> bool:
    """The answer for the hypervisor directory ``xen`` (the one holding
    include/xen/); False when there is none or it cannot be read."""
    if xen is None:
        return False
    try:
        text = (xen / "include" / "xen" / "rwlock.h").read_text(errors="replace")
    except OSError:
        return False
    return queued_rwlock_text(text)
