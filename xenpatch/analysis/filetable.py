"""The lock table as one file's analysis sees it: a wrapper whose
definition in view does nothing releases nothing, and a guarded helper
called through a macro has its guard where the macro puts the argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from xenpatch.analysis.events import Resolved
from xenpatch.analysis.headers import HeaderIndex
from xenpatch.analysis.locktable import LockTable, Wrapper
from xenpatch.analysis.unit import FunctionUnit

_COMMENT = re.compile(rb"/\*.*?\*/|//[^\n]*", re.S)


def _empty_body(text: bytes | None) -> bool:
    """Is this function definition's body empty (comments aside, or a bare
    ``return;``)?"""
    if text is None or (start := text.find(b"{")) < 0:
        return False
    body = _COMMENT.sub(b"", text[start + 1 : text.rfind(b"}")])
    return body.split() in ([], [b"return;"])


def without_stubs(table: LockTable, headers: HeaderIndex,
                   fns: Mapping[str, FunctionUnit]) -> LockTable:
    """The table's wrappers describe helpers whose bodies are in other
    files; a definition in view (the file's, or its headers' inline) with an
    empty body does nothing whatever the table says: an older tree's
    placeholder (__put_gfn() was "a noop for now" before the p2m lock
    moved into the lookups), so its callers release no lock there."""
    stubs = {
        n for n in table.wrappers
        if _empty_body(fns[n].src.raw[fns[n].node.start_byte:fns[n].node.end_byte]
                       if n in fns else headers.inlines.get(n))
    }
    if not stubs:
        return table
    return LockTable(table.ops, {n: w for n, w in table.wrappers.items() if n not in stubs})


def through_macro(r: Resolved | None, w: Wrapper) -> Resolved | None:
    """A guarded helper called through a macro: the guard names the helper's
    argument, which the macro fills in (``#define get_gfn_type_access(p, g,
    t, a, q, o) __get_gfn_type_access(p, g, t, a, q, o, 1)``)."""
    if r is None or r.guard is None:
        return r
    arg = w.args[r.guard].strip() if r.guard < len(w.args) else ""
    while arg.startswith("(") and arg.endswith(")"):
        arg = arg[1:-1].strip()
    m = re.fullmatch(r"\$(\d+)", arg)
    if m is not None:
        return replace(r, guard=int(m.group(1)))
    if re.fullmatch(r"[1-9]\d*[uUlL]*|true", arg):
        return replace(r, guard=None)
    return None  # 0/false: the helper takes nothing; anything else is unknown


__all__ = ["through_macro", "without_stubs"]
