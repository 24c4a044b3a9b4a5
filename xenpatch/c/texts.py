"""The bytes of a tree's files as one run first read them.

A cold single-file lint reads the tree's headers four times (hashing them
for the cache, deriving macro kinds, indexing lock helpers, typesafe
wrappers) and its C files twice (hashing, the name index).  Inside
``shared_reads()`` each file is read once and every reader gets those
bytes: less work, and every part of the run sees one version of a file
(the one the cache hashed).  Outside it, every read reads the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_RUN: dict[str, bytes] | None = None


@contextmanager
def shared_reads() -> Iterator[None]:
    """Reads within share their bytes (nested: the outer run's)."""
    global _RUN
    outer = _RUN
    if outer is None:
        _RUN = {}
    try:
        yield
    finally:
        _RUN = outer


def forget() -> None:
    """Drop what the run has read so far (worker processes about to fork
    would each hold a copy of the tree's text for nothing)."""
    if _RUN is not None:
        _RUN.clear()


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes (OSError as open() raises it)."""
    run = _RUN
    key = os.fspath(path)
    if run is not None:
        got = run.get(key)
        if got is not None:
            return got
    raw = _read(key)
    if run is not None:
        run[key] = raw
    return raw


def read_or_none(path: str | os.PathLike[str]) -> bytes | None:
    """read_bytes(), or None where the file cannot be read (absent)."""
    try:
        return read_bytes(path)
    except OSError:
        return None


def _read(path: str) -> bytes:
    """The whole file, in one read where its size says how much (a cold
    run reads every file of the tree: a buffered file object for each
    costs more than the read)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        first = os.read(fd, size + 1)
        if len(first) == size:
            return first  # all of it, as its size said
        chunks = [first]
        while more := os.read(fd, 1 << 20):
            chunks.append(more)
        return b"".join(chunks)
    except OSError as exc:
        # Named, as open() names it (a directory fails only here).
        raise OSError(exc.errno, exc.strerror, path) from None
    finally:
        os.close(fd)
