"""The macro table of a Xen tree: the rules' table plus what the tree's own
headers' ``#define``s say (``derive.py``), computed once per tree content.

The headers are every ``.h`` under the hypervisor directory (the one
holding ``include/xen/``).  Reading them all is the cost of a first call in
a process; their kinds are then kept on disk under ``$XENPATCH_CACHE``
(default ``~/.cache/xenpatch``), ``masking/``, keyed by a digest of the
headers' paths and contents, so that a later process pays only for
reading them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from xenpatch import cachefiles
from xenpatch.c.masking.derive import DERIVED_KINDS, Definition, Deriver, definitions, merge
from xenpatch.c.masking.table import MacroTable
from xenpatch.c.texts import read_bytes

FORMAT = 4



def find_xen_dir(path: Path) -> Path | None:
    """The hypervisor directory (holding include/xen/) at or above ``path``."""
    for p in [path, *path.parents]:
        if (p / "include" / "xen").is_dir():
            return p
    return None


def tree_table(base: MacroTable, xen_dir: Path, lazy: bool = False) -> MacroTable:
    """``base`` with the kinds derived from the headers of ``xen_dir`` (a
    folder holding ``xen/`` is taken as its ``xen/``); ``base`` itself
    when neither holds ``include/xen/``.

    ``lazy``: unless the cache has the tree's kinds, derive each name's
    when masking first asks for it (see LazyKinds): a run that masks a few
    files needs a few hundred of the thousands of names the headers
    define.  A later eager call in the process derives them all."""
    tree = _tree_dir(xen_dir)
    if tree is None:
        return base  # no tree: nothing to derive from
    xen_dir = tree
    table = base._trees.get(xen_dir)
    if table is None or (not lazy and isinstance(table.derived, LazyKinds)):
        table = base._trees[xen_dir] = base.with_derived(_tree_kinds(base, xen_dir, lazy))
    return table


@cache
def _tree_dir(xen_dir: Path) -> Path | None:
    """The tree's xen/ that ``xen_dir`` names, resolved; None if neither
    it nor its xen/ holds include/xen/.  Once per folder named (a run
    asks for each file and each header inline it parses)."""
    xen_dir = xen_dir.resolve()
    if not (xen_dir / "include" / "xen").is_dir():
        if not (xen_dir / "xen" / "include" / "xen").is_dir():
            return None
        xen_dir = xen_dir / "xen"
    return xen_dir


def table_for(base: MacroTable, path: Path) -> MacroTable:
    """The table for a C file: its tree's (lazily derived, see tree_table),
    or ``base`` outside a tree."""
    xen_dir = _xen_dir_of(path.parent)
    return base if xen_dir is None else tree_table(base, xen_dir, lazy=True)


@cache
def _xen_dir_of(parent: Path) -> Path | None:
    # Once per directory: a run asks for every file of it.
    return find_xen_dir(parent.resolve())


def _headers(xen_dir: Path) -> list[tuple[str, bytes]]:
    found = []
    for dirpath, dirnames, filenames in os.walk(xen_dir):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".h"):
                path = os.path.join(dirpath, name)
                try:
                    found.append((os.path.relpath(path, xen_dir), read_bytes(path)))
                except OSError:
                    continue
    return found


def _tree_kinds(base: MacroTable, xen_dir: Path, lazy: bool = False) -> Mapping[bytes, str]:
    headers = _headers(xen_dir)
    digest = hashlib.sha256(f"{FORMAT}\0{base.path}\0".encode())
    for rel, text in headers:
        digest.update(rel.encode() + b"\0" + str(len(text)).encode() + b"\0" + text)
    cached = _read_cache(digest.hexdigest())
    if cached is not None:
        return cached
    if lazy:
        return LazyKinds([text for _, text in headers], base.explicit_kind)
    defs: dict[bytes, list[Definition]] = {}
    for _, text in headers:
        merge(defs, definitions(text))
    kinds = Deriver(defs, base.explicit_kind).derive()
    _write_cache(digest.hexdigest(), kinds)
    return kinds


def _cache_file(key: str) -> Path:
    base = os.environ.get("XENPATCH_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "xenpatch"
    return root / "masking" / f"{key}.json"


def _read_cache(key: str) -> dict[bytes, str] | None:
    data = cachefiles.read_json(_cache_file(key))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and v in DERIVED_KINDS for k, v in data.items()
    ):
        return None
    return {k.encode(): v for k, v in data.items()}


def _write_cache(key: str, kinds: dict[bytes, str]) -> None:
    """Written whole or not at all; a cache that cannot be written is no error."""
    cachefiles.write_whole(_cache_file(key),
                           json.dumps({k.decode(): v for k, v in sorted(kinds.items())}))


# '#define NAME' or '#undef NAME' somewhere in a line (a superset of the
# directives derive.definitions() reads: a header it does not list for a
# name says nothing of that name).
_NAMED = re.compile(rb"\#[ \t]*(?:define|undef)[ \t]+([A-Za-z_]\w*)")


class LazyKinds(Mapping[bytes, str]):
    """The kinds derive.Deriver().derive() finds in a tree's headers,
    each worked out when first asked for, from the definitions of the
    headers that name it.

    The same as the eager derivation, name for name: a header's
    definitions are read whole (its #undefs and #if 0 scope them), a
    name's are those of every header naming it, in the headers' order, as
    merge() puts them; and a name's kind depends only on the definitions
    of the names it reaches, whatever the order they are asked in (a name
    met again while its own kind is being worked out counts as none, in
    either order; tests/c/test_masking_derive.py checks both on trees)."""

    def __init__(self, headers: list[bytes], known: Callable[[bytes], str | None]) -> None:
        self._headers = headers
        self._known = known
        self._where: dict[bytes, list[int]] | None = None
        self._read: dict[int, dict[bytes, list[Definition]]] = {}
        self._defs: dict[bytes, list[Definition] | None] = {}
        self._deriver = Deriver(_Lookup(self._definitions), known)

    def _definitions(self, name: bytes) -> list[Definition] | None:
        try:
            return self._defs[name]
        except KeyError:
            pass
        if self._where is None:
            where: dict[bytes, list[int]] = {}
            for i, text in enumerate(self._headers):
                for n in dict.fromkeys(_NAMED.findall(text)):
                    where.setdefault(n, []).append(i)
            self._where = where
        got: list[Definition] | None = None
        for i in self._where.get(name, ()):
            defs = self._read.get(i)
            if defs is None:
                defs = self._read[i] = definitions(self._headers[i])
            if name in defs:
                got = (got or []) + defs[name]
        self._defs[name] = got
        return got

    def get(self, name: bytes, default: Any = None) -> Any:
        if self._known(name) is not None or not self._definitions(name):
            return default
        k = self._deriver.kind(name)
        return default if k is None else k

    def __getitem__(self, name: bytes) -> str:
        k = self.get(name)
        if k is None:
            raise KeyError(name)
        return k  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[bytes]:
        """Every name with a kind (this derives them all)."""
        self._definitions(b"")
        assert self._where is not None
        return iter([n for n in self._where if self.get(n) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Lookup:
    """``.get(name)`` for a Deriver, from a function."""

    def __init__(self, fn: Callable[[bytes], list[Definition] | None]) -> None:
        self.get = fn
