"""A callee file cut down to what the summaries of some of its functions
need, for the lazy cross-file summaries (lazy.py).

Linting one file asks another file for the summaries of a few names; most
of that file's text is functions those names never reach, and parsing and
masking them was half of a cold single-file run.  The excerpt empties the
bodies of the functions the asked names cannot reach (only their
preprocessor lines kept), leaving empty functions; everything else stays:
the file-scope declarations, macros and types, the reached functions
whole.  Summaries hold no positions (no offset, line or column), so what
moves does not matter; nor is the excerpt used for anything else.

A function's summary depends on the file's other functions only through
the names its body, and what those names expand to (the file's macros,
its headers' inlines and wrappers), mention: the reach is followed from
the asked names' bodies to the bodies of the definitions they name, to a
fixpoint.  An empty function is what the analysis makes of an unreached
one in every way a reached one can see: it is never called from them.

Only a body whose braces the text shows plainly is emptied: a depth-0
``{`` that nameindex.definitions() found after a parameter list, closed
by a ``}`` at the start of a line, with no other definition between
(braces in comments, strings and preprocessor lines do not count, and a
file whose braces do not balance outside them is kept whole).  The
caller checks that each emptied block parses as a function's body, else
it parses the whole file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xenpatch.c import fields as fid
from xenpatch.lint import nameindex

if TYPE_CHECKING:
    from xenpatch.analysis.headers import HeaderIndex
    from xenpatch.analysis.unit import FunctionUnit

# Comments, string and character literals, preprocessor lines (with their
# continuations) and braces: scanned left to right, the first to start
# wins, so a brace inside any of the others is not one.
_TOKENS = re.compile(
    rb"/\*.*?\*/|//(?:\\\r?\n|[^\n])*"
    rb"|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
    rb"|^[ \t]*#(?:\\\r?\n|[^\n])*"
    rb"|[{}]",
    re.S | re.M,
)


@functools.lru_cache(maxsize=64)
def _scan(raw: bytes) -> tuple[dict[int, int], list[tuple[int, int]]] | None:
    """Each depth-0 ``{`` -> its ``}``, and the preprocessor lines (start,
    end); None when a ``}`` has no ``{`` (braces split by #if branches).
    Kept for the last texts asked (the lazy plan's scans, excerpts and
    later round ask it of a callee file again): shared, never changed."""
    blocks: dict[int, int] = {}
    directives: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for m in _TOKENS.finditer(raw):
        s = m.start()
        c = raw[s]
        if m.end() - s == 1 and c in (0x7B, 0x7D):
            if c == 0x7B:
                if depth == 0:
                    start = s
                depth += 1
            else:
                depth -= 1
                if depth < 0:
                    return None
                if depth == 0:
                    blocks[start] = s
        elif c != 0x2F and c != 0x22 and c != 0x27:  # not a comment or a literal
            # A directive; its match may start with the line's blanks.
            directives.append((s, m.end()))
    return blocks, directives


def _bodies(raw: bytes, defs: list[nameindex.Definition],
            blocks: dict[int, int]) -> list[tuple[int, int] | None]:
    """Each definition's body (its ``{`` and ``}`` offsets) when plainly
    delimited, else None."""
    out: list[tuple[int, int] | None] = []
    for i, d in enumerate(defs):
        close = blocks.get(d.brace)
        nxt = defs[i + 1].brace if i + 1 < len(defs) else len(raw)
        if close is None or close > nxt or (close > 0 and raw[close - 1] != 0x0A):
            out.append(None)
        else:
            out.append((d.brace, close))
    return out


# A name followed by "(": in a declaration, the function's name, a macro
# making it, or an attribute.
_CALLED = re.compile(rb"([A-Za-z_]\w*)\s*\(")


def _declared(raw: bytes, d: nameindex.Definition) -> set[str]:
    """The names a definition may define: its name, and every other name
    before a "(" in its declaration (``__attribute__((format(printf, 1,
    0))) vprintk_common(...)`` is named "format" by the name index)."""
    out = {d.name}
    for m in _CALLED.finditer(raw, d.start, d.brace):
        out.add(m.group(1).decode())
    return out


def reached(raw: bytes, names: Iterable[str], reach: nameindex.Reach,
            defs: list[nameindex.Definition], bodies: list[tuple[int, int] | None],
            roots: frozenset[str] = frozenset()) -> tuple[set[int], set[str]]:
    """The indexes of the definitions whose bodies the summaries of
    ``names`` may depend on: those of the names, and of every name their
    bodies (and ``roots``, names always reached) mention (through macros
    and inlines), to a fixpoint; and the names seen on the way.  A
    definition without a plain body counts with its text to the next
    definition."""
    by_name: dict[str, list[int]] = {}
    for i, d in enumerate(defs):
        for n in _declared(raw, d):
            by_name.setdefault(n, []).append(i)
    keep: set[int] = set()
    seen: set[str] = set(names)
    for n in reach.closure(roots):
        seen.add(n)
    todo = [i for n in seen for i in by_name.get(n, ())]
    while todo:
        i = todo.pop()
        if i in keep:
            continue
        keep.add(i)
        body = bodies[i]
        end = body[1] if body is not None else (
            defs[i + 1].brace if i + 1 < len(defs) else len(raw))
        for n in reach.closure(nameindex.identifiers(raw[defs[i].brace:end])):
            if n not in seen:
                seen.add(n)
                todo.extend(by_name.get(n, ()))
    return keep, seen


# What a top-level block that is not a function's body follows: "=" (an
# initializer) or a struct, union or enum's name.
_NOT_CODE = re.compile(rb"(?:=|\b(?:struct|union|enum)(?:\s+[A-Za-z_]\w*)?)\s*$")


def _unnamed(raw: bytes, blocks: dict[int, int],
             bodies: list[tuple[int, int] | None]) -> frozenset[str]:
    """The identifiers of the top-level blocks that may be code of a
    function the scan did not find (a K&R or attributed definition):
    kept whole, what they call is kept too, whoever calls them."""
    known = {b[0] for b in bodies if b is not None}
    out: set[str] = set()
    for open_, close in blocks.items():
        if open_ not in known and not _NOT_CODE.search(raw, max(0, open_ - 80), open_):
            out |= nameindex.identifiers(raw[open_:close])
    return frozenset(out)


def text_ends(raw: bytes, defs: list[nameindex.Definition]) -> list[int]:
    """Where the text the scans take for each definition's body ends: its
    ``}`` where _bodies() finds it plainly delimited and no top-level
    block that may be a function the scan did not find (_unnamed()) sits
    before the next definition, else the next definition's ``{`` (then the
    text holds the next declaration too, a superset)."""
    ends = [defs[i + 1].brace if i + 1 < len(defs) else len(raw) for i in range(len(defs))]
    scanned = _scan(raw) if defs else None
    if scanned is None:
        return ends
    blocks = scanned[0]
    bodies = _bodies(raw, defs, blocks)
    known = {b[0] for b in bodies if b is not None}
    # The blocks between definitions that may be code: their text stays
    # with the definition before them, as the next-definition rule has it.
    code = sorted(o for o in blocks if o not in known
                  and not _NOT_CODE.search(raw, max(0, o - 80), o))
    k = 0
    for i, b in enumerate(bodies):
        if b is None:
            continue
        while k < len(code) and code[k] < b[1]:
            k += 1
        if k < len(code) and code[k] < ends[i]:
            continue
        ends[i] = b[1] + 1
    return ends


@dataclass(frozen=True)
class Excerpt:
    text: bytes
    emptied: list[int]  # offsets in text of the emptied bodies' "{"
    reached: set[str]  # the names the kept bodies may call
    # The emptied bodies in the original text ("{" and "}" offsets): what
    # they may call is what the cut-away functions may (partial.py).
    cut: tuple[tuple[int, int], ...] = ()

    def parsed_as_cut(self, functions: Iterable[FunctionUnit]) -> bool:
        """Is each emptied block, in the excerpt's parse (``functions``), a
        function's body, of a function the text scan did not take for a
        reached one?  Else the cut is not the one the scan meant."""
        emptied = set(self.emptied)
        for f in functions:
            body = f.node.child_by_field_id(fid.BODY)
            if body is not None and body.start_byte in emptied:
                emptied.discard(body.start_byte)
                if f.name in self.reached:
                    return False
        return not emptied


def excerpt(raw: bytes, names: Iterable[str], reach: nameindex.Reach) -> Excerpt | None:
    """``raw`` with the bodies no summary of ``names`` depends on emptied;
    None if no body would be."""
    defs = nameindex.definitions(raw)
    scanned = _scan(raw) if defs else None
    if scanned is None:
        return None
    blocks, directives = scanned
    bodies = _bodies(raw, defs, blocks)
    keep, seen = reached(raw, names, reach, defs, bodies, _unnamed(raw, blocks, bodies))
    cut = [b for i, b in enumerate(bodies) if b is not None and i not in keep]
    if not cut:
        return None
    out: list[bytes] = []
    braces: list[int] = []
    size = 0
    pos = 0
    di = 0
    for open_, close in cut:
        braces.append(size + open_ - pos)
        out.append(raw[pos : open_ + 1])
        size += open_ + 1 - pos
        # What an emptied body keeps: its preprocessor lines (a #define
        # there is the rest of the file's too, and #if/#endif pairs stay
        # paired), each on a line of its own, and its "}" at the start of
        # a line.
        out.append(b"\n")
        size += 1
        while di < len(directives) and directives[di][1] <= open_:
            di += 1
        while di < len(directives) and directives[di][0] < close:
            s, e = directives[di]
            out.append(raw[s:e] + b"\n")
            size += e - s + 1
            di += 1
        pos = close
    out.append(raw[pos:])
    return Excerpt(b"".join(out), braces, seen, tuple(cut))


_REACH: dict[int, tuple[HeaderIndex, nameindex.Reach]] = {}


def header_reach(headers: HeaderIndex) -> nameindex.Reach:
    """What naming a name may call through a tree's header inlines and
    wrappers; once per index."""
    # header_index() keeps one index per directory for the process: the
    # index itself is held here, so its id() cannot be reused.
    got = _REACH.get(id(headers))
    if got is None or got[0] is not headers:
        reach = nameindex.Reach.of(headers.inlines,
                                   {n: w.target for n, w in headers.wrappers.items()
                                    if w.stated is None})
        got = _REACH[id(headers)] = (headers, reach)
    return got[1]


def file_reach(headers: HeaderIndex, raw: bytes,
               made: Iterable[tuple[str, bytes]] = ()) -> nameindex.Reach:
    """``header_reach`` plus the file's own macros and the functions its
    macros write out (``made``: macro_functions(), as the file analysis
    adds them to the inlines)."""
    extra = dict(nameindex.local_macros(raw))
    for n, text in made:
        extra[n] = extra.get(n, frozenset()) | nameindex.identifiers(text)
    return header_reach(headers).plus(extra)
