"""The lock table as one file's analysis sees it: a wrapper whose
definition in view does nothing releases nothing, one whose definition in
the file is one call of a lock op is that call, and a guarded helper
called through a macro has its guard where the macro puts the argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from xenpatch.analysis.events import Resolved
from xenpatch.analysis.functions import parameters
from xenpatch.analysis.headers import HeaderIndex, templated
from xenpatch.analysis.locktable import LockTable, Wrapper
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c import fields as fid
from xenpatch.c.cfg import call_args, call_name

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


def one_call_definitions(table: LockTable,
                         fns: Mapping[str, FunctionUnit]) -> dict[str, Wrapper]:
    """The file's definitions of names the table lists as wrappers whose
    body is one call of a lock op (``{ spin_lock(&p2m->lock); }``, or its
    ``return``): what the name does in this tree, where the entry may
    describe another era's form of it (2016's arm p2m_read_lock() took the
    p2m spinlock for a month before the lock became the rwlock the entry
    names, and its p2m_read_unlock() was read as the release of a lock of
    another kind).  As wrappers of the file, the table keeps them over its
    own entries only where they reach an op directly (LockTable.with_wrappers)."""
    out: dict[str, Wrapper] = {}
    for name, f in fns.items():
        if name not in table.wrappers:
            continue
        body = f.node.child_by_field_id(fid.BODY)
        stmts = [c for c in body.named_children if c.type != "comment"] if body else []
        if len(stmts) != 1 or stmts[0].type not in ("expression_statement", "return_statement"):
            continue
        call = stmts[0].named_children[0] if stmts[0].named_children else None
        if call is None or call.type != "call_expression":
            continue
        callee = call_name(f.src, call)
        if callee is None or callee not in table.ops:
            continue
        params, _ = parameters(f.src, f.node)
        templ = templated(params, [f.src.text(a) for a in call_args(call)])
        if templ is not None:
            out[name] = Wrapper(name, callee, templ)
    return out


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
