"""Which architecture's build alone compiles a file of a tree, read from the
tree itself: its layout and its Makefiles.

treeexports.architecture() reads a path only: ``arch/<a>/`` is a's.
Before Xen 4.16 moved each architecture's headers under its arch/, two
more kinds of file were one build's:

- ``include/asm-<a>/``, the headers ``<asm/...>`` names in a's build
  (``<a>`` a directory of arch/);
- a directory or object a Makefile lists only under a variable that a's
  build alone sets: ``subdir-$(x86) += amd`` (before Kconfig: arch/x86/
  Rules.mk sets ``x86 := y``, no other Rules.mk or Makefile does) or
  ``subdir-$(CONFIG_X86) += vtd`` (Kconfig: only arch/x86/Kconfig has
  ``config X86``).  A directory so listed holds a's files only, to any
  depth.

A variable another file of the tree also sets or defines (``HAS_PCI`` in
a common Kconfig) is no architecture's, and a target listed under ``-y``
or under two architectures' variables is common: a file is one
build's only where the tree says so (else common, as before).  Nothing
here names an architecture or a variable: all is read from the tree.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

from xenpatch.lint.treeexports import architecture


def build_of(root: Path | None, path: Path | str) -> str | None:
    """The architecture whose build alone compiles ``path`` (a file of the
    tree at ``root``, absolute or under it), None: common (or no tree)."""
    got = architecture(str(path))
    if got is not None or root is None:
        return got
    rel = _relative(root, path)
    if rel is None:
        return None
    return _Layout.of(root).owner(rel)


def arches(root: Path | None) -> tuple[str, ...]:
    """The tree's architectures: the directories of its arch/."""
    return _Layout.of(root).arches if root is not None else ()


def _relative(root: Path, path: Path | str) -> tuple[str, ...] | None:
    p = Path(os.path.abspath(path))
    r = Path(os.path.abspath(root))
    return p.relative_to(r).parts if p.is_relative_to(r) else None


_ASSIGN = re.compile(r"^\s*(?:export\s+|override\s+)?([A-Za-z_]\w*)\s*[:?]?=\s*y\s*$")
_CONFIG = re.compile(r"^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$")
_LIST = re.compile(r"^\s*(subdir|obj|obj-bin)-(y|\$\(([A-Za-z_]\w*)\))\s*[:+]?=(.*)$")


class _Layout:
    """The tree's one-build directories and objects (module doc)."""

    @staticmethod
    @cache
    def of(root: Path) -> _Layout:
        return _Layout(Path(os.path.abspath(root)))

    def __init__(self, root: Path) -> None:
        arch = root / "arch"
        self.arches = tuple(sorted(d.name for d in arch.iterdir() if d.is_dir())) \
            if arch.is_dir() else ()
        makefiles: list[Path] = []
        # Per variable, the architectures whose files set it (None: a file
        # outside every arch/<a>/).
        setters: dict[str, set[str | None]] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            here = Path(dirpath)
            for f in sorted(filenames):
                p = here / f
                if f == "Makefile" or f.endswith(".mk"):
                    if f == "Makefile":
                        makefiles.append(p)
                    names = [m.group(1) for line in _lines(p) if (m := _ASSIGN.match(line))]
                elif f.startswith("Kconfig"):
                    names = ["CONFIG_" + m.group(1) for line in _lines(p)
                             if (m := _CONFIG.match(line))]
                else:
                    continue
                owner = self._arch_dir(p.relative_to(root).parts)
                for n in names:
                    setters.setdefault(n, set()).add(owner)
        own = {n: next(iter(s)) for n, s in setters.items() if len(s) == 1 and None not in s}
        # Per target (path parts under the root), the architectures of the
        # lines listing it (None: -y or a variable of no architecture).
        listed: dict[tuple[str, ...], set[str | None]] = {}
        for mk in makefiles:
            base = mk.parent.relative_to(root).parts
            for line in _lines(mk):
                m = _LIST.match(line)
                if m is None:
                    continue
                who = own.get(m.group(3)) if m.group(3) else None
                for item in m.group(4).split():
                    if item.startswith("$") or "/" in item.rstrip("/"):
                        continue
                    if m.group(1) == "subdir" or item.endswith("/"):
                        target = (*base, item.rstrip("/"))
                    elif item.endswith(".o"):
                        target = (*base, item[:-2] + ".c")
                    else:
                        continue
                    listed.setdefault(target, set()).add(who)
        self.owned = {t: next(iter(s)) for t, s in listed.items()
                      if len(s) == 1 and None not in s}

    def _arch_dir(self, parts: tuple[str, ...]) -> str | None:
        return parts[1] if len(parts) > 2 and parts[0] == "arch" else None

    def owner(self, rel: tuple[str, ...]) -> str | None:
        """The architecture of the file at ``rel`` (path parts under the
        root): its arch/ or include/asm-<a>/ directory, or the outermost
        directory (or the object) a Makefile lists for one build only."""
        arch = self._arch_dir(rel)
        if arch is not None:
            return arch
        if len(rel) > 2 and rel[0] == "include" and rel[1].startswith("asm-") and \
                rel[1][len("asm-"):] in self.arches:
            return rel[1][len("asm-"):]
        for i in range(1, len(rel) + 1):
            got = self.owned.get(rel[:i])
            if got is not None:
                return got
        return None


def _lines(p: Path) -> list[str]:
    """The file's lines, a backslash-continued line joined into one."""
    try:
        text = p.read_text(errors="replace")
    except OSError:
        return []
    return text.replace("\\\n", " ").splitlines()


__all__ = ["arches", "build_of"]
