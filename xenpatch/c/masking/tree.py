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
import tempfile
from functools import cache
from pathlib import Path

from xenpatch.c.masking.derive import DERIVED_KINDS, Definition, Deriver, definitions, merge
from xenpatch.c.masking.table import MacroTable

FORMAT = 2



def find_xen_dir(path: Path) -> Path | None:
    """The hypervisor directory (holding include/xen/) at or above ``path``."""
    for p in [path, *path.parents]:
        if (p / "include" / "xen").is_dir():
            return p
    return None


def tree_table(base: MacroTable, xen_dir: Path) -> MacroTable:
    """``base`` with the kinds derived from the headers of ``xen_dir`` (a
    folder holding ``xen/`` is taken as its ``xen/``); ``base`` itself
    when neither holds ``include/xen/``."""
    xen_dir = xen_dir.resolve()
    if not (xen_dir / "include" / "xen").is_dir():
        if not (xen_dir / "xen" / "include" / "xen").is_dir():
            return base  # no tree: nothing to derive from
        xen_dir = xen_dir / "xen"
    table = base._trees.get(xen_dir)
    if table is None:
        table = base._trees[xen_dir] = base.with_derived(_tree_kinds(base, xen_dir))
    return table


def table_for(base: MacroTable, path: Path) -> MacroTable:
    """The table for a C file: its tree's, or ``base`` outside a tree."""
    xen_dir = _xen_dir_of(path.parent)
    return base if xen_dir is None else tree_table(base, xen_dir)


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
                    with open(path, "rb") as f:
                        found.append((os.path.relpath(path, xen_dir), f.read()))
                except OSError:
                    continue
    return found


def _tree_kinds(base: MacroTable, xen_dir: Path) -> dict[bytes, str]:
    headers = _headers(xen_dir)
    digest = hashlib.sha256(f"{FORMAT}\0{base.path}\0".encode())
    for rel, text in headers:
        digest.update(rel.encode() + b"\0" + str(len(text)).encode() + b"\0" + text)
    cached = _read_cache(digest.hexdigest())
    if cached is not None:
        return cached
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
    try:
        data = json.loads(_cache_file(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and v in DERIVED_KINDS for k, v in data.items()
    ):
        return None
    return {k.encode(): v for k, v in data.items()}


def _write_cache(key: str, kinds: dict[bytes, str]) -> None:
    """Written whole or not at all; a cache that cannot be written is no error."""
    path = _cache_file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({k.decode(): v for k, v in sorted(kinds.items())}, f)
        os.replace(tmp, path)
    except OSError:
        return
