"""What to mask, derived from the ``#define``s of the code itself.

The macro table names what Xen spelled when it was written; a release that
adds ``#define asmlinkage`` or ``#define attr_const
__attribute__((__const__))`` needs no new entry, because what such a macro
expands to says how to mask it:

- an object-like macro that expands to nothing, or only to attributes
  (``__attribute__((...))``, ``inline``, names that are attributes
  themselves, by the table or by this derivation): ``blank``, the name is
  blanked (not what follows it: ``NAME (x)`` keeps ``(x)``, as cpp does);
- a function-like macro that expands only to attributes (``#define
  __section(s) __attribute__((__section__(s)))``): ``attribute``, the name
  and its arguments are blanked;
- an object-like macro that expands to ``asm`` and asm qualifiers
  (``#define asm_inline asm __inline``): ``asm_keyword``, written ``asm``;
- a function-like macro that expands to a loop head and nothing more
  (``for (...)``, ``while (...)``, or a loop macro's call): ``loop``;
- a function-like macro of one parameter that expands to that parameter,
  in every definition that is not empty (``#define STAT(x...) x`` under
  ``#if UNW_STATS``, ``#define STAT(x...)`` under its ``#else``):
  ``transparent``, the name and the call's parentheses blanked, its
  arguments kept (``STAT(unsigned long start;)`` is a declaration in one
  configuration and nothing in the other; what is kept is what the first
  compiles, as the masking keeps every branch of an ``#if``).

A name takes a kind only if every definition of it agrees (the branches of
``#ifdef CONFIG_X`` / ``#else`` may define it twice), and never when the
table already says what it is.  Function-like macros that expand to
nothing in every definition are left alone: blanking them would hide
calls that another configuration makes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

from xenpatch.c.brackets import closing
from xenpatch.c.masking.lexical import KEYWORDS

BLANK_KIND = "blank"
ATTRIBUTE_KIND = "attribute"
ASM_KIND = "asm_keyword"
LOOP_KIND = "loop"
# The table's kind of the same name (table.py): the handler is one.
TRANSPARENT_KIND = "transparent"
DERIVED_KINDS = frozenset((BLANK_KIND, ATTRIBUTE_KIND, ASM_KIND, LOOP_KIND, TRANSPARENT_KIND))

# '#define NAME' or '#define NAME(params)' then the body, continuation
# lines included; a directive starts a line.
DEFINE = re.compile(
    rb"^[ \t]*\#[ \t]*(define|undef)[ \t]+([A-Za-z_]\w*)(\([^)\n]*\))?"
    rb"((?:[^\n\\]++|\\(?:\r?\n|.))*)",
    re.M,
)
IF_ZERO = re.compile(rb"^[ \t]*\#[ \t]*if[ \t]+0+\b", re.M)
# Where those may start: the regex engine tries a pattern anchored by "^"
# at every byte of a text (the headers of a tree are 5 MB), one that starts
# with a literal it finds quickly.
_DEFINE_HASH = re.compile(rb"\#[ \t]*(?:define|undef)[ \t]")
_IF_ZERO_HASH = re.compile(rb"\#[ \t]*if[ \t]+0")
CONDITIONAL_LINE = re.compile(
    rb"^[ \t]*\#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b([^\n]*)", re.M
)
_ZERO = re.compile(rb"\s*0+(?![\w.])")
_CPLUSPLUS_IF = re.compile(
    rb"\s*(?:defined\s*\(\s*__cplusplus\s*\)|defined\s+__cplusplus|__cplusplus)\s*(?:$|/[*/])")
_COMMENT = re.compile(rb"/\*.*?(?:\*/|\Z)|//[^\n]*", re.S)
_TOKEN = re.compile(rb'[A-Za-z_]\w*|"(?:\\.|[^"\\])*"?|\S')
_ATTRIBUTE_WORDS = frozenset((b"__attribute__", b"__attribute"))
# Words an attribute macro may also spell: the function specifier, which
# is no more than a hint to the parser.
_SPECIFIER_WORDS = frozenset((b"inline", b"__inline", b"__inline__"))
_ASM_WORDS = frozenset((b"asm", b"__asm__", b"__asm"))
# A storage class alone: a kind of its own, blank only where another
# definition of the name is empty (Deriver.kind).
_STORAGE_WORDS = frozenset((b"static", b"extern"))
_STORAGE = "storage"
_ASM_QUALIFIERS = frozenset(
    (b"volatile", b"__volatile__", b"__volatile", b"inline", b"__inline", b"__inline__", b"goto")
)
_LOOP_WORDS = frozenset((b"for", b"while"))
# The body of a function-like macro that is its one parameter: no token
# _TOKEN finds is this ('#' is one token alone).
_ARGUMENTS = (b"#arguments",)
# A function-like macro's empty body: its own kind, which alone is none
# (Deriver.kind) and beside _ARGUMENTS' is transparent.
_EMPTY_CALL = "empty call"
_PARAMETER = re.compile(rb"\(\s*(?:([A-Za-z_]\w*)\s*(?:\.\.\.)?|(\.\.\.))\s*\)")

# The first bytes of bodies no kind here starts with; such a body is kept
# as one token that is none of them.
_NOT_FIRST = frozenset(b"0123456789(\"'-~!{[&*+<>=.;,")
_NONE = (b"(",)

# (function-like?, body tokens) of one definition.
Definition = tuple[bool, tuple[bytes, ...]]


def definitions(text: bytes) -> dict[bytes, list[Definition]]:
    """Every ``#define`` of a C text: name -> its definitions.

    A definition the text ``#undef``s later is scoped to the text, not one
    of what the name means: Xen's ``#define mfn_t /* grep fodder */``
    then ``#undef mfn_t`` says nothing of ``mfn_t`` (a typedef).  A name
    left with none has an empty list.  A definition under ``#if 0`` or
    for C++ only (_dead_spans()) is none."""
    found: dict[bytes, list[Definition]] = {}
    if b"define" not in text:
        return found
    dead = dead_spans(text)
    di = 0
    for m in _at_line_start(DEFINE, _DEFINE_HASH, text):
        if dead:
            while di < len(dead) and dead[di][1] <= m.start():
                di += 1
            if di < len(dead) and dead[di][0] <= m.start():
                continue
        if m.group(1) == b"undef":
            found[m.group(2)] = []
            continue
        body = m.group(4)
        if b"\\" in body:
            body = body.replace(b"\\\r\n", b" ").replace(b"\\\n", b" ")
        if b"/" in body:
            body = _COMMENT.sub(b" ", body)
        body = body.strip()
        # Most bodies are numbers or expressions, which no kind here is.
        toks = () if not body else _NONE if body[0] in _NOT_FIRST else tuple(_TOKEN.findall(body))
        if len(toks) == 1 and m.group(3) is not None and toks[0] == _parameter(m.group(3)):
            toks = _ARGUMENTS
        found.setdefault(m.group(2), []).append((m.group(3) is not None, toks))
    return found


def _parameter(params: bytes) -> bytes | None:
    """The name a one-parameter list's body spells it by (``x`` for
    ``(x)`` and ``(x...)``, ``__VA_ARGS__`` for ``(...)``)."""
    m = _PARAMETER.fullmatch(params)
    if m is None:
        return None
    return m.group(1) or b"__VA_ARGS__"


def _at_line_start(pattern: re.Pattern[bytes], hashes: re.Pattern[bytes],
                   text: bytes) -> Iterator[re.Match[bytes]]:
    """What ``pattern.finditer(text)`` yields, for a ``pattern`` anchored by
    ``^`` (multi-line) and then blanks and ``#``: matched only at the lines
    whose ``#`` ``hashes`` (unanchored, no narrower than ``pattern``)
    finds.  A match swallows the continuation lines of its directive, as
    finditer's does."""
    end = 0
    for h in hashes.finditer(text):
        start = h.start()
        while start > 0 and text[start - 1] in b" \t":
            start -= 1
        if start < end or (start > 0 and text[start - 1] != 0x0A):
            continue  # inside the last match, or not the first word of its line
        m = pattern.match(text, start)
        if m is not None:
            end = m.end()
            yield m


def dead_spans(text: bytes) -> list[tuple[int, int]]:
    """_dead_spans() of a text that has such a branch; [] at once for the
    many that have none."""
    if b"__cplusplus" in text or next(_at_line_start(IF_ZERO, _IF_ZERO_HASH, text), None):
        return _dead_spans(text)
    return []


def in_spans(pos: int, spans: list[tuple[int, int]]) -> bool:
    """Whether offset ``pos`` falls in one of ``spans`` (half-open)."""
    return any(s <= pos < e for s, e in spans)


def _dead_spans(text: bytes) -> list[tuple[int, int]]:
    """Spans of the branches no C compiler sees: ``#if 0`` and ``#ifdef
    __cplusplus`` up to their ``#else``, ``#elif`` or ``#endif``, and
    ``#ifndef __cplusplus``'s ``#else`` branch.  A header shared with C++
    (``#define CPP_ASMLINKAGE extern "C"`` in one branch, nothing in the
    other) means for C what its C branch says."""
    spans = []
    # Per open group: is its current branch dead, is its #else branch.
    stack: list[tuple[bool, bool]] = []
    start = 0
    for m in CONDITIONAL_LINE.finditer(text):
        word = m.group(1)
        if word.startswith(b"if"):
            dead, else_dead = _branch_dead(word, m.group(2))
            if dead and not any(d for d, _ in stack):
                start = m.start()
            stack.append((dead, else_dead))
        elif stack:
            dead, else_dead = stack[-1]
            outer = any(d for d, _ in stack[:-1])
            if dead and not outer:
                spans.append((start, m.start()))
            if word == b"endif":
                stack.pop()
                continue
            now = word == b"else" and else_dead
            if now and not outer:
                start = m.start()
            stack[-1] = (now, False)
    if stack and stack[0][0]:
        spans.append((start, len(text)))
    return spans


def _branch_dead(word: bytes, rest: bytes) -> tuple[bool, bool]:
    """(is the first branch dead, is the #else branch) of a group opened by
    ``#<word> <rest>``."""
    if word == b"if":
        if _ZERO.match(rest) is not None:
            return True, False
        return _CPLUSPLUS_IF.match(rest) is not None, False
    name = rest.split(b"/", 1)[0].strip()
    if name != b"__cplusplus":
        return False, False
    return (True, False) if word == b"ifdef" else (False, True)


def merge(into: dict[bytes, list[Definition]], more: Mapping[bytes, list[Definition]]) -> None:
    for name, defs in more.items():
        into.setdefault(name, []).extend(defs)


def _close(toks: tuple[bytes, ...], i: int) -> int:
    """Index of the ')' matching the '(' at ``i`` (-1: none)."""
    end = closing(toks, i, b"(", b")")
    return -1 if end is None else end


class Definitions(Protocol):
    """What Deriver reads of its definitions: a mapping's ``get``."""

    def get(self, name: bytes, /) -> list[Definition] | None: ...


class Deriver:
    """Kinds of the names of some definitions, given what the table (or an
    outer derivation) already knows of a name (``known``).  ``derive()``
    with no names needs ``defs`` to be a mapping."""

    def __init__(
        self,
        defs: Mapping[bytes, list[Definition]] | Definitions,
        known: Callable[[bytes], str | None],
    ) -> None:
        self.defs = defs
        self.known = known
        self.memo: dict[bytes, str | None] = {}

    def derive(self, names: Iterable[bytes] | None = None) -> dict[bytes, str]:
        out = {}
        for name in self.defs if names is None else names:  # type: ignore[union-attr]
            k = self.kind(name)
            if k is not None and self.known(name) is None:
                out[name] = k
        return out

    def kind(self, name: bytes) -> str | None:
        k = self.known(name)
        if k is not None:
            return k
        if name in self.memo:
            return self.memo[name]
        defs = self.defs.get(name)
        if not defs or name in KEYWORDS:
            return None
        self.memo[name] = None  # a macro that names itself is nothing we know
        kinds = {self.classify(fn, toks) for fn, toks in defs}
        if kinds == {BLANK_KIND, _STORAGE}:
            # "#define STATIC" in one configuration, "static" in the other
            # (common/decompress.h before 4.16): either way a declaration
            # parses the same without it.
            kinds = {BLANK_KIND}
        elif kinds == {TRANSPARENT_KIND, _EMPTY_CALL}:
            # Its arguments in one configuration, nothing in the other.
            kinds = {TRANSPARENT_KIND}
        k = kinds.pop() if len(kinds) == 1 else None
        if k in (_STORAGE, _EMPTY_CALL):
            # Always "static": masking it would lose what it says; or
            # nothing in every configuration seen, maybe a call in another.
            k = None
        self.memo[name] = k
        return k

    def classify(self, function_like: bool, toks: tuple[bytes, ...]) -> str | None:
        if not toks:
            return _EMPTY_CALL if function_like else BLANK_KIND
        if toks == _ARGUMENTS:
            return TRANSPARENT_KIND
        if not function_like and len(toks) == 1 and toks[0] in _STORAGE_WORDS:
            return _STORAGE
        if not function_like and toks[0] in _ASM_WORDS:
            return ASM_KIND if all(t in _ASM_QUALIFIERS for t in toks[1:]) else None
        if self.attributes_only(toks):
            return ATTRIBUTE_KIND if function_like else BLANK_KIND
        if function_like and self.loop_head(toks):
            return LOOP_KIND
        return None

    def attributes_only(self, toks: tuple[bytes, ...]) -> bool:
        i = 0
        n = len(toks)
        while i < n:
            t = toks[i]
            if t in _SPECIFIER_WORDS:
                i += 1
                continue
            if t in _ATTRIBUTE_WORDS:
                end = _close(toks, i + 1) if i + 1 < n and toks[i + 1] == b"(" else -1
                if end < 0:
                    return False
                i = end + 1
                continue
            k = self.kind(t) if t[:1].isalpha() or t[:1] == b"_" else None
            if k == BLANK_KIND:
                i += 1
            elif k == ATTRIBUTE_KIND:
                i += 1
                if i < n and toks[i] == b"(":
                    end = _close(toks, i)
                    if end < 0:
                        return False
                    i = end + 1
            else:
                return False
        return True

    def loop_head(self, toks: tuple[bytes, ...]) -> bool:
        if len(toks) < 3 or toks[1] != b"(" or _close(toks, 1) != len(toks) - 1:
            return False
        head = toks[0]
        return head in _LOOP_WORDS or self.kind(head) == LOOP_KIND
