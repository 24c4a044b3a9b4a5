"""What a C file's functions call, read from its text: each body (to its
closing brace) through the file's other functions, its macros and its
headers' inlines, without parsing.  The later rounds of cross-file
summaries ask it which other files' functions a function's summary can
change through (lazyrounds.py for one file, rounds.py for the tree)."""

from __future__ import annotations

import re
from pathlib import Path

from xenpatch.lint import nameindex

# A name called: followed by "(" (a function, or a function-like macro
# whose body reach.closure() follows).  A function only named (stored in a
# field, passed on) is not called there: the analysis composes no summary
# through it.
_CALLED = re.compile(r"([A-Za-z_]\w*)\s*\(", re.ASCII)


def _called(text: bytes) -> frozenset[str]:
    return frozenset(_CALLED.findall(text.decode("latin-1")))


class BodyReach:
    """What a file's functions reach (through its other functions, its
    macros and its headers' inlines), each body's names found once."""

    def __init__(self, path: Path, raw: bytes) -> None:
        from xenpatch.analysis.headers import header_index
        from xenpatch.lint.excerpt import file_reach, text_ends

        self.raw = raw
        self.defs = nameindex.definitions(raw)
        self.reach = file_reach(header_index(path), raw) if self.defs else None
        d = self.defs
        # Each body to its "}" where the braces show it (the next
        # definition's name is no call of it).
        self.ends = text_ends(raw, d)
        self.by_name: dict[str, list[int]] = {}
        for i, x in enumerate(d):
            self.by_name.setdefault(x.name, []).append(i)
        self._ids: dict[int, frozenset[str]] = {}

    def _body(self, i: int) -> frozenset[str]:
        got = self._ids.get(i)
        if got is None:
            assert self.reach is not None
            d = self.defs[i]
            got = self._ids[i] = self.reach.closure(_called(self.raw[d.brace:self.ends[i]]))
        return got

    def reached(self, name: str) -> frozenset[str]:
        """The names ``name``'s body calls that the file does not define."""
        seen: set[int] = set()
        ids: set[str] = set()
        todo = list(self.by_name.get(name, ()))
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            got = self._body(i)
            ids |= got
            todo.extend(j for n in got for j in self.by_name.get(n, ()) if j not in seen)
        return frozenset(n for n in ids if n not in self.by_name
                         and n not in nameindex.RESERVED)
