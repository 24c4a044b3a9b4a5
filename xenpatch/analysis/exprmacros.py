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

from xenpatch.analysis.headers import _DEFINE, define_body, define_params, split_args, templated
from xenpatch.analysis.locktable import Wrapper
from xenpatch.c.brackets import closing

# A name and its opening parenthesis; the argument list is found by
# counting brackets.
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_NOT_CALLS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "typeof",
                        "__typeof__", "alignof", "_Alignof", "offsetof", "defined"})
# A statement the call must not be under, or an operator that may skip it.
_UNDER = re.compile(r"^\s*(?:if|else|for|while|switch|do|case|default)\b|\?|&&|\|\|")


def given_calls(raw: bytes) -> dict[str, Wrapper]:
    """The file's ``#define NAME(params) ({ ... })`` macros read as calls
    (macro name -> Wrapper of the one call given a parameter).  Of a name
    defined more than once (``#ifdef CONFIG_X86 ... #else ...``), the first
    definition is the one (one build is assumed, as c/macrofns.py does)."""
    from xenpatch.c.source import directives

    out: dict[str, Wrapper] = {}
    seen: set[bytes] = set()
    for m in directives(_DEFINE, raw):
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
    its statement is the block's own and nothing there may skip it."""
    found: list[tuple[str, list[str], int]] = []
    for m in _CALL.finditer(block):
        if m.group(1) in _NOT_CALLS:
            continue
        end = closing(block, m.end() - 1, "(", ")")
        if end is None:
            return None
        args = split_args(block[m.end():end])
        if any(_is_param(a, params) for a in args):
            found.append((m.group(1), args, m.start()))
    if len(found) != 1:
        return None
    callee, args, at = found[0]
    return (callee, args) if _own_statement(block, at) else None


def _is_param(arg: str, params: list[str]) -> bool:
    """An argument that is a parameter, or reached from one (``(d)``,
    ``&(d)->x``), with no call in it (a value the macro made from one)."""
    a = arg.strip().lstrip("(&* \t")
    head = re.match(r"[A-Za-z_]\w*", a)
    return head is not None and head.group() in params and "(" not in a[head.end():]


def _own_statement(block: str, at: int) -> bool:
    """Is the text at ``at`` in a statement of the block itself (depth 0 of
    its braces), with no test or choice before it in that statement?"""
    depth, parens, start = 0, 0, 0
    for i, c in enumerate(block[:at]):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            start = i + 1
        elif c == "(":
            parens += 1
        elif c == ")":
            parens -= 1
        elif c == ";" and depth == 0 and parens == 0:
            # Not a for's header's: the loop is the statement.
            start = i + 1
    return depth == 0 and _UNDER.search(block[start:at]) is None
