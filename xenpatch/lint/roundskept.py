"""What the lazy plan's later round (lazyrounds.py) keeps for a tree, so
that the hook's next run (the linted file edited, the others as they were)
does not parse the other files again: each definer's summaries of the
names asked, with the other files' summaries it was given, keyed by its
content and those summaries.  One JSON file per tree (next to the tree
cache, in rounds/), written whole or not at all, dropped when the tree
cache's context (the configuration, the headers) changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from xenpatch.analysis.locktable import Summary
from xenpatch.lint.treecache import (
    TreeCache,
    content_hash,
    read_record,
    summary_in,
    summary_out,
    write_record,
)

_FORMAT = 1
# Entries kept at most (the oldest go first): a tree's definers are few.
_MOST = 2000


class Kept:
    """The later round's kept summaries of one tree."""

    def __init__(self, cache: TreeCache) -> None:
        self.path = cache.path.parent / "rounds" / cache.path.name
        self.context = cache.context
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        # rel -> (the text, its content hash): hashed once however many
        # names of it are asked (~30 in a cold run of grant_table.c).
        self._digests: dict[str, tuple[bytes, str]] = {}
        data = read_record(self.path, _FORMAT, self.context)
        try:
            if data is not None:
                self.entries = {str(k): dict(v) for k, v in data["entries"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            self.entries = {}

    def summaries(self, rel: str, raw: bytes, names: frozenset[str],
                  external: Mapping[str, Summary],
                  compute: Callable[[], dict[str, Summary]]) -> dict[str, Summary]:
        """The summaries of ``names`` of ``rel`` (its text ``raw``) linted
        with ``external``: kept, or computed (``compute``) and kept."""
        key = _key(rel, self._digest(rel, raw), names, external)
        got = self.entries.get(key)
        if got is not None:
            try:
                return {str(n): summary_in(s) for n, s in got.items()}
            except (KeyError, TypeError, ValueError, AttributeError):
                pass
        out = compute()
        self.entries.pop(key, None)
        self.entries[key] = {n: summary_out(s) for n, s in sorted(out.items())}
        self.dirty = True
        return out

    def reached(self, rel: str, raw: bytes, name: str) -> frozenset[str] | None:
        """What ``name``'s body in ``rel`` (its text ``raw``) calls that the
        file does not define, as kept (None: not kept)."""
        got = self.entries.get(_reached_key(rel, self._digest(rel, raw), name))
        if got is None:
            return None
        try:
            return frozenset(str(n) for n in got["calls"])
        except (KeyError, TypeError):
            return None

    def keep_reached(self, rel: str, raw: bytes, name: str,
                     names: frozenset[str]) -> frozenset[str]:
        self.entries[_reached_key(rel, self._digest(rel, raw), name)] = {"calls": sorted(names)}
        self.dirty = True
        return names

    def _digest(self, rel: str, raw: bytes) -> str:
        got = self._digests.get(rel)
        if got is None or got[0] is not raw:
            got = self._digests[rel] = (raw, content_hash(raw))
        return got[1]

    def save(self) -> None:
        if not self.dirty:
            return
        entries = dict(list(self.entries.items())[-_MOST:])
        if write_record(self.path, _FORMAT, self.context, {"entries": entries}):
            self.dirty = False


def _reached_key(rel: str, digest: str, name: str) -> str:
    return hashlib.sha256(f"calls\0{rel}\0{digest}\0{name}".encode()).hexdigest()


def _key(rel: str, digest: str, names: frozenset[str],
         external: Mapping[str, Summary]) -> str:
    h = hashlib.sha256(f"{rel}\0{digest}\0{','.join(sorted(names))}\0".encode())
    h.update(json.dumps({n: summary_out(s) for n, s in sorted(external.items())},
                        sort_keys=True).encode())
    return h.hexdigest()

