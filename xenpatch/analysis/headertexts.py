"""The texts of the headers a tree's build of an architecture sees (the
directories headers.py indexes), read once per process: what the analyses
that read a tree's #defines (typesafe wrappers, flag words, element
accessors, loop macros) scan."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from xenpatch.c.texts import read_bytes


def tree_header_dirs(root: Path, arch: str | None) -> list[Path]:
    """The directories of the tree's headers every file of ``arch`` sees
    (searched to any depth)."""
    dirs = [root / "include" / "xen"]
    if arch is not None:
        dirs.append(root / "arch" / arch / "include" / "asm")
        # Trees before 4.17 (2022) keep them in include/asm-<arch>/.
        dirs.append(root / "include" / f"asm-{arch}")
    return dirs


@cache
def tree_texts(root: Path, arch: str | None) -> tuple[bytes, ...]:
    out = []
    for d in tree_header_dirs(root, arch):
        for h in sorted(d.rglob("*.h")) if d.is_dir() else ():
            try:
                out.append(read_bytes(h))
            except OSError:
                continue
    return tuple(out)


__all__ = ["tree_header_dirs", "tree_texts"]
