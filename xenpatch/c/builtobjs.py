"""Which C files of a Xen tree its Makefiles build: a file's own
directory's Makefile lists its object (``obj-y += xmalloc_tlsf.o``).

Every era of Xen names a directory's objects the Kbuild way, in its own
``Makefile`` (Rules.mk, later scripts/Makefile.build, turns the lists into
the directory's built_in.o): ``obj-y``, ``obj-$(CONFIG_X)`` (may be built:
a configuration turns it on), ``obj-bin-y`` with ``.init.o`` objects
(``foo.init.o`` is built from ``foo.c``), ``lib-y``.  A file is:

- built (True): some object list of its directory's Makefile names it,
  under any condition (``obj-$(CONFIG_X)`` counts: it may be built);
- not built (False): its directory has a Makefile that lists objects by
  name only (no ``$(wildcard ...)``, no ``$(patsubst %.c,%.o,...)``) and
  mentions the file's name nowhere, and no C file of its directory or of
  the one above #includes it;
- unknown (None): anything else -- no Makefile, objects by pattern or
  from an included Makefile (libfdt's Makefile.libfdt), a
  file the Makefile names otherwise (``guest_walk_2.o`` built from
  guest_walk.c by a rule, ``guest_%.o: multi.c``), or one #included by
  another (compat/*.c into their native twins: its text is built).

This is for a choice between two definitions of one function (the parent
of a rewrite keeps both: common/xmalloc.c and xmalloc_tlsf.c), never a
reason to skip a file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

# An object-list assignment: obj-y, obj-$(CONFIG_X), obj-bin-y, lib-y...
_LIST = re.compile(r"^\s*(?:obj|lib)(?:-bin)?-\S*\s*[:+]?=(.*)$")
_OBJ = re.compile(r"(?<![\w$(%/.-])([A-Za-z0-9_][\w-]*?)(?:\.init)?\.o\b")
# Object lists built by pattern: whatever they name is not read here.
_PATTERN = re.compile(r"\$\((?:wildcard|patsubst|subst)\b|%\.o")
# A Makefile taking lists from another file (libfdt's Makefile.libfdt).
_INCLUDE = re.compile(r"^\s*-?s?include\s")


def _logical_lines(text: str) -> list[str]:
    """The Makefile's lines with backslash continuations joined and
    comments dropped."""
    out: list[str] = []
    cur = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    if cur:
        out.append(cur)
    return out


def objects(text: str) -> frozenset[str] | None:
    """The object stems a Makefile's lists name (``xmalloc_tlsf`` for
    ``obj-y += xmalloc_tlsf.o``), or None when some list is built by a
    pattern or the Makefile includes another."""
    out: set[str] = set()
    for line in _logical_lines(text):
        if _INCLUDE.match(line):
            return None
        m = _LIST.match(line)
        if m is None:
            continue
        rhs = m.group(1)
        if _PATTERN.search(rhs):
            return None
        out.update(o.group(1) for o in _OBJ.finditer(rhs))
    return frozenset(out)


@lru_cache(maxsize=256)
def _makefile(directory: Path) -> str | None:
    try:
        return (directory / "Makefile").read_text(errors="replace")
    except OSError:
        return None


_INCLUDE_C = re.compile(r'^\s*#\s*include\s*"([^"]*\.c)"', re.M)


@lru_cache(maxsize=256)
def _included(directory: Path) -> frozenset[str]:
    """The names of the C files the C files of ``directory`` #include."""
    out: set[str] = set()
    try:
        files = sorted(directory.glob("*.c"))
    except OSError:
        return frozenset()
    for f in files:
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        out.update(m.group(1).rsplit("/", 1)[-1] for m in _INCLUDE_C.finditer(text))
    return frozenset(out)


def is_built(path: Path) -> bool | None:
    """Does the tree build the C file at ``path`` (module doc): True,
    False, or None when its Makefile does not say."""
    if path.suffix != ".c":
        return None
    text = _makefile(path.parent)
    got = objects(text) if text is not None else None
    if text is None or got is None:
        return None
    if path.stem in got:
        return True
    body = "\n".join(_logical_lines(text))  # comments say nothing
    if re.search(rf"(?<![\w-]){re.escape(path.stem)}(?![\w-])|"
                 rf"(?<![\w-]){re.escape(path.stem)}[_-]\d", body) is not None:
        # Named otherwise: a rule builds it under another name (guest_walk.c
        # as guest_walk_2.o; not xmalloc.c for xmalloc_tlsf.o).
        return None
    if any(path.name in _included(d) for d in (path.parent, path.parent.parent)):
        return None
    return False


def built_one(paths: list[Path]) -> int | None:
    """The index of the one path of ``paths`` the tree builds when every
    other is known not to be built; else None."""
    states = [is_built(p) for p in paths]
    if states.count(True) == 1 and states.count(False) == len(states) - 1:
        return states.index(True)
    return None


__all__ = ["built_one", "is_built", "objects"]
