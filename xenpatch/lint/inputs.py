"""The files a lint run is given: which C files and headers a list of
paths names, how each is shown, their real paths, and the one Xen tree they
belong to (whose summary cache the run uses)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from xenpatch.analysis.headers import find_xen_root
from xenpatch.errors import XenpatchError
from xenpatch.lint.treecache import TreeCache
from xenpatch.paths import rules_dir


class UsageError(XenpatchError):
    pass


def collect_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """(path, display name) of every C file named or under a named directory.

    Files named explicitly are linted whatever their suffix; directories
    contribute their ``*.c`` files and their headers, whose functions (the
    ``static inline`` ones) are linted once each there, not in every file
    including them.  A missing path, or a directory holding no C file, is a
    usage error.
    """
    out: dict[str, Path] = {}
    for p in paths:
        if p.is_dir():
            shown = _Displays()
            found = [f for f in sorted([*p.rglob("*.c"), *p.rglob("*.h")]) if f.is_file()]
            if not found:
                # Nothing linted is no clean run: a wrong directory would
                # otherwise pass as a tree without findings.
                raise UsageError(f"{p}: no .c or .h file under this directory")
            for f in found:
                out.setdefault(shown(f), f)
        elif p.exists():
            out.setdefault(display(p), p)
        else:
            raise UsageError(f"{p}: no such file or directory")
    return [(out[k], k) for k in sorted(out)]


def display(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


class _Displays:
    """display() of many files of a tree, the working directory and each
    directory resolved once (resolve() lstat()s every component of its
    path: twice per file, for a tree's 1300 files and headers, was a
    tenth of a second of the parent's serial time on Xen 4.17)."""

    def __init__(self) -> None:
        self.cwd = Path.cwd().resolve()
        self.dirs: dict[Path, Path] = {}

    def __call__(self, p: Path) -> str:
        if p.is_symlink():
            real = p.resolve()
        else:
            d = self.dirs.get(p.parent)
            if d is None:
                d = self.dirs[p.parent] = p.parent.resolve()
            real = d / p.name
        try:
            return str(real.relative_to(self.cwd))
        except ValueError:
            return str(p)


def read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def real_paths(paths: Iterable[Path]) -> dict[Path, Path]:
    """``p.resolve()`` of each path, each directory resolved once:
    resolve() lstat()s every component of its path, and doing that for
    each of a tree's 600 files, three times, was most of the parent's
    serial time before the workers get their first file."""
    dirs: dict[Path, Path] = {}
    out: dict[Path, Path] = {}
    for p in paths:
        if p.is_symlink():
            out[p] = p.resolve()
            continue
        d = dirs.get(p.parent)
        if d is None:
            d = dirs[p.parent] = p.parent.resolve()
        out[p] = d / p.name
    return out


def tree_cache(real: Iterable[Path], rules: Path | None) -> TreeCache | None:
    """The cache of the one Xen tree all files (resolved) belong to, if they
    do."""
    by_dir: dict[Path, Path | None] = {}
    for p in real:
        if p.parent not in by_dir:
            by_dir[p.parent] = find_xen_root(p)
    roots = set(by_dir.values())
    if len(roots) != 1 or None in roots:
        return None
    (root,) = roots
    assert root is not None
    from xenpatch.lint import earlywalk

    # A first run's C files hashed while the checker imported (earlywalk.py).
    return TreeCache.open(root, rules or rules_dir(), given=earlywalk.walked(root.resolve()))


def size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


# The texts of a tree the whole-tree facts scan for a name's mentions:
# C files, headers, assembly and included fragments.
SOURCE_SUFFIXES = (".c", ".h", ".S", ".s", ".inc")


def tree_sources(root: Path) -> Iterator[Path]:
    """Every file under ``root`` with one of SOURCE_SUFFIXES."""
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(SOURCE_SUFFIXES):
                yield Path(d, n)
