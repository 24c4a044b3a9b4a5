"""The tree's walk and name index of a cold single-file run, made in a
child forked as `xenpatch lint` starts, while this process imports the
checker.

A first run on a tree (no cache file for it yet) hashes every C file and
header (treecache._walk(): ~0.03 s on Xen 4.17, two thirds of it the C
files) before anything else can start, then scans every C file for the
name index (Plan._scan(), ~0.1 s, in a child forked after the walk).
Neither needs the checker, whose imports (~0.1 s) left the second CPU
idle: a child forked before them hashes the C files, then scans them,
handing each answer on as it is made (forked.Ahead).  TreeCache.open()
is given the C files' hashes (inputs.tree_cache(): walked() waits for
them if need be) and hashes the headers itself (this process reads most
of them anyway, for its header indexes: read here they are read once);
the lazy plan takes the index (Plan.prefetch()) instead of forking a
child for it.  Both are the same functions over the same files, so the
answers are those of the parent's own walk and scan: the index's entries
are of the texts the child hashed, and it is taken only by the cache
that took the child's hashes.
A child that gives no whole answer leaves the work to this process, as
when none was forked.

Only where a child is worth it: one file named, inside a Xen tree whose
cache file does not exist (a warm run's walk is mostly stamps; a cache
there to be read decides more), and a second CPU (forked.can_fork()).
What the child read is its own: this process reads a C file again where
it needs it (a few dozen), and the cache's content checks
(Plan._as_hashed(), passmaps.as_hashed()) hold for a file changed since.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from xenpatch.lint import forked

# The child of a tree's root (resolved, as a string), while not ended.
_CHILDREN: dict[str, forked.Ahead[Any]] = {}
# The roots whose walk a cache took from their child (its index is theirs).
_TAKEN: set[str] = set()


def start(path: Path) -> None:
    """Fork the child for the tree ``path`` is in, if it is worth one."""
    from xenpatch.analysis.headers import find_xen_root
    from xenpatch.lint.treecache import cache_file

    found = find_xen_root(path.resolve())
    if found is None:
        return
    root = found.resolve()
    if str(root) in _CHILDREN or cache_file(root).exists() or not forked.can_fork():
        return
    child = _CHILDREN[str(root)] = forked.Ahead(_Tasks(root, path).task, 3)
    from xenpatch.analysis import headers

    me = os.getpid()
    # Asked by this process only: a child forked later has its own pipes.
    headers.scans_from(lambda: _header_scans(child) if os.getpid() == me else None)


class _Tasks:
    """Task 0: treecache._walk() of the tree's C files as a first run makes
    it (no stamps); task 1: the scans of the headers the file's header
    index is made of (headers.scans()); task 2: Plan._scan()'s answer for
    every C file it hashed."""

    def __init__(self, root: Path, path: Path) -> None:
        self.root = root
        self.path = path
        self.hashes: dict[str, str] = {}

    def task(self, i: int) -> Any:
        from xenpatch.c import texts

        if i == 0:
            from xenpatch.lint.treecache import _walk

            # Every file read once: the scan below reads the texts hashed.
            texts.shared_reads().__enter__()
            hashes, stamps, _ = _walk(self.root, {}, (".c",))
            self.hashes = hashes
            return hashes, stamps
        if i == 1:
            from xenpatch.analysis import headers

            headers.header_index(self.path)
            return headers.scans()
        from xenpatch.lint import nameindex

        out: dict[str, list[str]] = {}
        keep: dict[str, list[str]] = {}
        for rel in sorted(r for r in self.hashes if r.endswith(".c")):
            try:
                raw = texts.read_bytes(self.root / rel)
            except OSError:
                continue
            keep[rel] = names = nameindex.external_names(raw)
            for n in names:
                out.setdefault(n, []).append(rel)
        return out, keep, set()


def walked(root: Path) -> tuple[dict[str, str], dict[str, list[Any]]] | None:
    """The child's walk of ``root``'s C files (resolved; treecache._walk()'s
    hashes and stamps), waited for; None: no child, or none whole (the
    caller walks them)."""
    child = _CHILDREN.get(str(root))
    if child is None:
        return None
    got = child.wait(0, unstarted=True)
    if got is None:
        end()
        return None
    _TAKEN.add(str(root))
    return got  # type: ignore[no-any-return]


class _Index:
    """Plan's child scanning for the name index (forked.Child's result()
    and cancel()), answered by the early child."""

    def __init__(self, child: forked.Ahead[Any]) -> None:
        self.child = child

    def result(self) -> Any:
        return self.child.wait(2, unstarted=True)

    def cancel(self) -> None:
        self.child.end()


def _header_scans(child: forked.Ahead[Any]) -> Any:
    """The child's header scans (task 1), waited for, while it is not
    ended; None: none whole (this process scans the headers itself)."""
    if not any(c is child for c in _CHILDREN.values()):
        return None
    return child.wait(1, unstarted=True)


def index(root: Path) -> _Index | None:
    """The child's name index of ``root`` (Plan._scan()'s answer), for a
    cache that took its walk; None otherwise."""
    child = _CHILDREN.get(str(root))
    if child is None or str(root) not in _TAKEN:
        return None
    return _Index(child)


def end() -> None:
    """Every child ended and reaped (what is left of them not wanted)."""
    for child in _CHILDREN.values():
        child.end()
    _CHILDREN.clear()
    _TAKEN.clear()
