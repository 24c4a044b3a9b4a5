"""Functions a declaration says never return (``void noreturn panic(...)``,
``_Noreturn void f(void)``, ``__attribute__((noreturn)) void f(void)``, or
the attribute after the parameters, the older trees' spelling:
``void panic(const char *fmt, ...) __attribute__((noreturn));``), read
from the text of a header or C file (analysis/noreturn.py uses them)."""

from __future__ import annotations

import re

_ATTR = re.compile(rb"\b(?:_Noreturn|__noreturn__|__noreturn|noreturn)\b")
_COMMENT = re.compile(rb"/\*.*?\*/|//[^\n]*", re.S)
_DIRECTIVE = re.compile(rb"(?m)^[ \t]*#(?:\\\r?\n|[^\n])*")
_CALLEE = re.compile(rb"\b([A-Za-z_]\w*)\s*\(")
# Names before a "(" that are not the declared function: attributes and a
# function pointer's type ("void (*fn)(void) noreturn").
_NOT_NAME = frozenset({b"__attribute__", b"__attribute", b"__declspec", b"__printf",
                       b"__format__", b"format", b"__section", b"__aligned"})
_TYPE_WORDS = frozenset({b"void", b"int", b"char", b"long", b"short", b"unsigned",
                         b"signed", b"bool", b"bool_t", b"_Bool", b"return", b"sizeof",
                         b"typeof", b"__typeof__", b"if", b"while", b"for", b"switch"})


def declared(raw: bytes) -> frozenset[str]:
    """The functions ``raw`` declares or defines with a noreturn attribute."""
    if b"oreturn" not in raw:
        return frozenset()
    # Comments and directives (their continuation lines too) blanked:
    # "#define noreturn __attribute__((__noreturn__))" declares nothing.
    text = _DIRECTIVE.sub(_blank, _COMMENT.sub(_blank, raw))
    out: set[str] = set()
    for m in _ATTR.finditer(text):
        start = max(text.rfind(c, 0, m.start()) for c in (b";", b"}", b"{")) + 1
        ends = [i for i in (text.find(b";", m.end()), text.find(b"{", m.end())) if i >= 0]
        end = min(ends) if ends else len(text)
        name = _declared_name(text[start:end])
        if name is not None:
            out.add(name)
    return frozenset(out)


def _blank(m: re.Match[bytes]) -> bytes:
    return b" " * (m.end() - m.start())


def _declared_name(stmt: bytes) -> str | None:
    """The function one declaration names: the first word before a "(" that
    is neither an attribute nor a type (then it is a function pointer)."""
    for c in _CALLEE.finditer(stmt):
        word = c.group(1)
        if word in _NOT_NAME or word.startswith(b"__attribute") or _ATTR.fullmatch(word):
            if stmt[c.end():].lstrip().startswith(b"*"):
                return None  # "void noreturn (*tail)(void);": a pointer member
            continue
        if word in _TYPE_WORDS:
            return None
        close = stmt.find(b")", c.end())
        if close >= 0 and re.fullmatch(rb"[\d\s,]*", stmt[c.end():close]):
            continue  # __printf(1, 2)-style attribute macro
        return word.decode()
    return None
