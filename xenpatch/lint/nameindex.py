"""Cheap text scans of C files for the lazy cross-file summaries.

Linting a few files of a tree needs the summaries of the other files'
helpers they call, not of the whole tree.  These scans, which parse
nothing, say which files to parse:

- ``definitions()``: the functions a file defines (Xen's style, and
  Linux's, put a definition's ``{`` on a line of its own or at the end of
  the line that closes its parameters), which the tree cache keeps by
  content hash as the tree's name index;
- ``needed()``: the names a file may call, directly or through its
  headers' inlines and macros;
- ``may_export()``: the external functions of a file that may reach a lock
  (the file analysis's relevance, over text): only those can have a
  summary for their callers.

Each errs on the side of too much (a parsed file too many costs time; one
too few would change findings): a function's text runs to the "}" that
plainly closes its body, else to the next definition (excerpt.text_ends()),
and anything a macro or inline mentions counts as called.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from xenpatch.c.patterns import LINE_REST
from xenpatch.graphs import reachable

_IDENT = re.compile(rb"[A-Za-z_]\w*")
# The end of a definition's parameter list: ")" then "{" at the start of a
# later line (comments between allowed, even over lines: mtrr_set()'s doc
# comment sits there), or ")" and "{" ending a line.  The runs of blanks
# and comments possessive: a comment ends at its first "*/", and what
# follows a run (a line's end, "{") is neither a blank nor a comment's
# start, so no bytes given back could match (the same matches as without,
# tests/lint/test_directive_patterns.py; the name index's scan of a tree
# ~40 % quicker).
_BLANKS = rb"(?:[ \t]++|/\*(?:[^*]++|\*(?!/))*+\*/)*+"
_DEF_END = re.compile(
    rb"\)" + _BLANKS + rb"(?:\r?\n" + _BLANKS + rb")*\r?\n\{|\)[ \t]*+\{[ \t]*+\r?\n"
)
_CALL = re.compile(rb"([A-Za-z_]\w*)\s*\(")
_COL0 = re.compile(rb"[A-Za-z_]")
_WINDOW = 1000
_STATIC = re.compile(rb"\bstatic\b")
_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "do", "else"})
# C's reserved words: no function is named so, though definitions() may
# take one for a name ("void (*handler(int))(void)"), and every file names
# them: a file "defining" one is never worth parsing for its summaries.
RESERVED = frozenset((
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_Bool",
    "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
))
# At the start of a line, after blanks: searched for with source.directives().
_DEFINE = re.compile(rb"#[ \t]*+define[ \t]++([A-Za-z_]\w*+)(" + LINE_REST + rb")")


class Definition(NamedTuple):
    name: str
    static: bool
    brace: int  # offset of the body's "{"
    start: int = 0  # where the declaration is taken to start


# The last boundary a declaration starts after: a statement's ";", a
# block's "}", a blank line, a comment's end, a directive.
_LAST = re.compile(rb"(?s).*(;|\}|\n\n|\*/|\n#)")
_NEAR = 200
_KEYBYTES = frozenset(k.encode() for k in _KEYWORDS)


def definitions(raw: bytes) -> list[Definition]:
    """The functions ``raw`` defines, in order (a superset: a function-like
    macro call followed by a block counts too).  A definition named only by
    ``__`` names counts too, named by the last of them that is not
    ``__attribute__``.  Kept for the last texts asked: a cold single-file
    run asks it of each callee file several times (its exports, excerpt,
    later round), and the list is shared, never to be changed."""
    return _kept_definitions(raw)


def scan_definitions(raw: bytes) -> list[Definition]:
    """definitions(), not kept: the name index runs this over every file of
    a tree on a cold run (its loop is kept lean), which would only push out
    the texts asked again."""
    out: list[Definition] = []
    append = out.append
    rfind = raw.rfind
    col0 = _COL0.match
    calls = _CALL.finditer
    static = _STATIC.search
    last = _LAST.match
    keywords = _KEYBYTES
    for m in _DEF_END.finditer(raw):
        close = m.start()
        end = m.end()
        if raw[end - 1] == 0x0A:
            # ") {" at the end of a line: a definition only if that line
            # starts at column 0 with an identifier (not an indented if).
            if not col0(raw, rfind(b"\n", 0, close) + 1):
                continue
            brace = raw.index(b"{", close)
        else:
            brace = end - 1
        # The declaration starts after the previous statement, block,
        # comment, directive or blank line: the last one within _WINDOW
        # bytes (a file's first definition would otherwise scan back to
        # its start each time), looked for in the nearest bytes first.
        b = last(raw, close - _NEAR if close > _NEAR else 0, close)
        if b is None and close > _NEAR:
            b = last(raw, close - _WINDOW if close > _WINDOW else 0, close)
        begin = b.start(1) if b is not None else max(0, close - _WINDOW) - 1
        reserved = None  # a "__" name, if no other: __mem_sharing_unshare_page()
        for call in calls(raw, begin + 1, close):
            name = call.group(1)
            if name not in keywords:
                if not name.startswith(b"__"):
                    break
                if name != b"__attribute__":
                    reserved = call
        else:
            if reserved is None:
                continue
            call = reserved
            name = call.group(1)
        append(Definition(name.decode(), static(raw, begin + 1, call.start()) is not None,
                          brace, begin + 1))
    return out


_kept_definitions = functools.lru_cache(maxsize=64)(scan_definitions)


def external_names(raw: bytes) -> list[str]:
    """The name index's entry of a file: the functions it defines that are
    not static, sorted."""
    return sorted({d.name for d in scan_definitions(raw) if not d.static})


# The same identifiers over text decoded byte for byte (Latin-1 maps each
# byte to one character): found and made str in one C call each, which
# the cold single-file run does for every body it follows.
_IDENT_STR = re.compile(r"[A-Za-z_]\w*", re.ASCII)


def identifiers(raw: bytes) -> frozenset[str]:
    return frozenset(_IDENT_STR.findall(raw.decode("latin-1")))


class Reach:
    """The forward closure of names through macro bodies and header inlines:
    what mentioning a name may end up calling."""

    def __init__(self, bodies: Mapping[str, frozenset[str]],
                 base: Reach | None = None) -> None:
        """``base``: the closure this one adds ``bodies`` to (a file's own
        macros over its headers'): its memo is shared for the names whose
        closure there meets none of ``bodies``."""
        self.bodies = bodies
        self._base = base
        self._memo: dict[str, frozenset[str]] = {}

    @staticmethod
    def of(inlines: Mapping[str, bytes], wrappers: Mapping[str, str],
           macros: Mapping[str, frozenset[str]] | None = None) -> Reach:
        """``inlines``: header inline -> its text; ``wrappers``: macro ->
        the function it calls; ``macros``: a file's own macros' bodies."""
        bodies: dict[str, frozenset[str]] = {}
        for n, text in inlines.items():
            bodies[n] = identifiers(text[text.find(b"{"):]) - {n}
        for n, target in wrappers.items():
            bodies[n] = frozenset({target})
        for n, ids in (macros or {}).items():
            bodies[n] = bodies.get(n, frozenset()) | (ids - {n})
        return Reach(bodies)

    def plus(self, macros: Mapping[str, frozenset[str]]) -> Reach:
        """This closure with a file's own macros too."""
        if not macros:
            return self
        return Reach({n: self.body(n) | (ids - {n}) for n, ids in macros.items()}, self)

    def body(self, name: str) -> frozenset[str]:
        got = self.bodies.get(name)
        if got is not None:
            return got
        return self._base.body(name) if self._base is not None else frozenset()

    def has(self, name: str) -> bool:
        return name in self.bodies or (self._base is not None and self._base.has(name))

    def _having(self, names: set[str]) -> set[str]:
        """The names with a body here or below (one set operation per
        level, not a has() per name: closure() meets a body's worth of
        names)."""
        got = names & self.bodies.keys()
        return got if self._base is None else got | self._base._having(names)

    def closure(self, names: Iterable[str]) -> frozenset[str]:
        out = set(names)
        for n in self._having(out):
            out |= self._one(n)
        return frozenset(out)

    def _one(self, name: str) -> frozenset[str]:
        got = self._memo.get(name)
        if got is None:
            base = self._base
            if base is not None and name not in self.bodies:
                got = base._one(name)
                if got.isdisjoint(self.bodies):
                    self._memo[name] = got
                    return got
            got = self._memo[name] = frozenset(reachable([name], self.body))
        return got


def local_macros(raw: bytes) -> dict[str, frozenset[str]]:
    """Each ``#define`` of the file and the identifiers of its body."""
    from xenpatch.c.source import directives  # the C front end: not for a warm run

    out: dict[str, frozenset[str]] = {}
    for m in directives(_DEFINE, raw):
        name = m.group(1).decode()
        out[name] = out.get(name, frozenset()) | identifiers(m.group(2))
    return out


def macros_naming(raw: bytes, pat: re.Pattern[bytes]) -> set[str]:
    """The ``#define``s of ``raw`` whose bodies match ``pat``: a file may
    reach what ``pat`` names through them (xmalloc() expands to _xmalloc())."""
    from xenpatch.c.source import directives  # the C front end: not for a warm run

    return {m.group(1).decode() for m in directives(_DEFINE, raw) if pat.search(m.group(2))}


def needed(raw: bytes, reach: Reach) -> frozenset[str]:
    """Every name the file may call, through its headers' inlines and macros
    and its own macros too."""
    return reach.closure(identifiers(raw))


def may_export(raw: bytes, defs: list[Definition], seeds: frozenset[str],
               reach: Reach, only: frozenset[str] | None = None,
               ends: list[int] | None = None) -> frozenset[str]:
    """The file's external functions that may reach a lock: those whose
    text, or what it reaches through macros and inlines, names a seed (a
    lock operation, a lock helper of the headers) or a function of the file
    that does (the analysis's relevance fixpoint, over text).  ``only``:
    the answer is wanted for these names only; the fixpoint then runs over
    the definitions they reach (whose answers are all theirs depend on).
    ``ends``: where each definition's text ends (excerpt.text_ends());
    by default at the next definition's ``{``."""
    if not defs:
        return frozenset()
    if ends is None:
        ends = [defs[i + 1].brace if i + 1 < len(defs) else len(raw) for i in range(len(defs))]
    if only is None:
        chosen = list(range(len(defs)))
        ids = {i: reach.closure(identifiers(raw[defs[i].brace:ends[i]])) for i in chosen}
    else:
        by_name: dict[str, list[int]] = {}
        for i, d in enumerate(defs):
            by_name.setdefault(d.name, []).append(i)
        ids = {}
        todo = [i for n in only for i in by_name.get(n, ())]
        while todo:
            i = todo.pop()
            if i in ids:
                continue
            ids[i] = reach.closure(identifiers(raw[defs[i].brace:ends[i]]))
            todo.extend(j for n in ids[i] for j in by_name.get(n, ()) if j not in ids)
        chosen = sorted(ids)
    names = set(seeds)
    rel: set[int] = set()
    changed = True
    while changed:
        changed = False
        for i in chosen:
            if i not in rel and not ids[i].isdisjoint(names):
                rel.add(i)
                if defs[i].name not in names:
                    names.add(defs[i].name)
                changed = True
    out = frozenset(defs[i].name for i in rel if not defs[i].static)
    return out if only is None else out & only
