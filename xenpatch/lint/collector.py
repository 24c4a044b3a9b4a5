"""The cyclic garbage collector run less often during a lint.

At the default first threshold (700 allocations) it ran 1300 times over
Xen 4.17 in the workers, 7% of the lint's CPU, walking the many long-lived
objects of the analyses again and again; the garbage it finds in a run is
little.  The same holds in the process that runs the command: 417
collections, 0.16 s of a whole-tree run's 1.6 s there, and 239, 0.04 s of
a single file's cold run (measured on Xen 4.17, common/grant_table.c).
Kept apart from passes.py, which imports the process pools: a run of
one file needs none.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# The first threshold during a run.
GC_THRESHOLD = 50_000


def collect_less() -> None:
    """For the rest of this process (a worker's life)."""
    _, g1, g2 = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, max(g1, 20), max(g2, 100))


@contextmanager
def collecting_less() -> Iterator[None]:
    """The same within (a run in this process)."""
    before = gc.get_threshold()
    collect_less()
    try:
        yield
    finally:
        gc.set_threshold(*before)
