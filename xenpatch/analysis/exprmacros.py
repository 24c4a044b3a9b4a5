"""A file's statement-expression macros read as the one call they hand
their parameters to.

Grant-table code of 2011-2012 looked frames up through

    #define gfn_to_mfn_private(_d, _gfn) ({                  \\
        p2m_type_t __p2mt;                                   \\
        unsigned long __x;                                   \\
        __x = mfn_x(get_gfn_unshare((_d), (_gfn), &__p2mt)); \\
        if ( p2m_is_shared(__p2mt) || !p2m_is_valid(__p2mt) ) \\
            __x = INVALID_MFN;                               \\
        __x; })

which calls get_gfn_unshare(_d, _gfn, ...) on every use, and the lock it
takes is held by the macro's user.  Read as nothing, each loop over the
macro released, in its second round, a lock it seemed not to hold.  Such a
macro is read as that call when exactly one call of its body is given one
of its parameters as an argument (the others are handed values the macro
made: a result, a local), and that call's statement is one of the block's
own, not under a test.  Only the file's own macros: a header's are a
tree's helpers (container_of(), xchg()), which no lock needs read so.
"""

from __future__ import annotations

import re

from xenpatch.analysis.headers import define_body, define_params, split_args, templated
from xenpatch.analysis.locktable import Wrapper
from xenpatch.analysis.stmtmacros import close_after, statements
from xenpatch.c.patterns import FN_DEFINE

# A name and its opening parenthesis; the argument list is found by
# counting brackets.
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_NOT_CALLS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "typeof",
                        "__typeof__", "alignof", "_Alignof", "offsetof", "defined"})
# An operator that may skip what follows it in a statement.
_CHOICE = re.compile(r"\?|&&|\|\|")


def given_calls(raw: bytes) -> dict[str, Wrapper]:
    """The file's ``#define NAME(params) ({ ... })`` macros read as calls
    (macro name -> Wrapper of the one call given a parameter).  Of a name
    defined more than once (``#ifdef CONFIG_X86 ... #else ...``), the first
    definition is the one (one build is assumed, as c/macrofns.py does)."""
    from xenpatch.c.source import directives

    out: dict[str, Wrapper] = {}
    seen: set[bytes] = set()
    for m in directives(FN_DEFINE, raw):
        if m.group(1) in seen:
            continue
        seen.add(m.group(1))
        body = define_body(m)
        if body is None or not (body.startswith("({") and body.endswith("})")):
            continue
        params = define_params(m)
        got = _given(body[2:-2], params)
        if got is None:
            continue
        callee, args = got
        templ = templated(params, args)
        name = m.group(1).decode()
        if templ is not None and callee != name:
            out[name] = Wrapper(name, callee, templ)
    return out


def _given(block: str, params: list[str]) -> tuple[str, list[str]] | None:
    """The one call of ``block`` given a parameter, and its arguments, if
    it is in an expression statement of the block itself (not an if's
    condition or body), with no ``?:``, ``&&`` or ``||`` before it there
    that may skip it."""
    items = statements(block)  # None: a loop, a nested block, an else...
    if items is None:
        return None
    found: list[tuple[str, list[str], bool]] = []
    for kind, text, body in items:
        for part, own in ((text, kind == "expr"), (body, False)):
            for m in _CALL.finditer(part):
                if m.group(1) in _NOT_CALLS:
                    continue
                end = close_after(part, m.end() - 1)
                if end is None:
                    return None
                args = split_args(part[m.end():end - 1])
                if any(_is_param(a, params) for a in args):
                    found.append((m.group(1), args,
                                  own and _CHOICE.search(part, 0, m.start()) is None))
    if len(found) != 1 or not found[0][2]:
        return None
    return found[0][0], found[0][1]


def _is_param(arg: str, params: list[str]) -> bool:
    """An argument that is a parameter, or reached from one (``(d)``,
    ``&(d)->x``), with no call in it (a value the macro made from one)."""
    a = arg.strip().lstrip("(&* \t")
    head = re.match(r"[A-Za-z_]\w*", a)
    return head is not None and head.group() in params and "(" not in a[head.end():]
