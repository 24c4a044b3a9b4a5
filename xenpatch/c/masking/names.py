"""Steps 3 and 4 of masking: the identifiers the macro table names, each
masked by the handler of its kind, then the names glued to string literals.
"""

from __future__ import annotations

from collections.abc import Callable

from xenpatch.c.masking.derive import (
    ASM_KIND,
    ATTRIBUTE_KIND,
    BLANK_KIND,
    Deriver,
    definitions,
    in_spans,
)
from xenpatch.c.masking.lexical import ASM_OPERAND_NAME, IDENT, WORD_BYTE, is_word
from xenpatch.c.masking.view import CodeView


def identifiers(v: CodeView) -> None:
    table = v.table
    names = set(IDENT.findall(v.code))
    kinds = table._kinds
    for name in names.difference(kinds):
        table.kind(name)  # classified once per table
    found: dict[bytes, str] = {name: k for name in names & table._named if (k := kinds[name])}
    # The file's own #defines: they say what their names are here (the
    # table's own entries still win).
    local = _local_kinds(v, names)
    for name, k in local.items():
        if table.explicit_kind(name) is None:
            if k is None:
                found.pop(name, None)
            else:
                found[name] = k
    if not found:
        return
    hits = []
    code = v.code
    word = WORD_BYTE
    for name, k in found.items():
        n = len(name)
        pos = code.find(name)
        while pos != -1:
            end = pos + n
            if (not pos or not word[code[pos - 1]]) and (
                end == len(code) or not word[code[end]]
            ):
                hits.append((pos, end, k))
            pos = code.find(name, end)
    hits.sort()
    done = 0
    for s, e, k in hits:
        if s < done or v.code[s] != v.raw[s]:
            continue  # inside something masked already
        done = HANDLERS[k](v, s, e) or e


def _rename(v: CodeView, s: int, e: int) -> int:
    new = v.table.renames[v.raw[s:e]]
    v.put(s, new + b" " * (e - s - len(new)))
    return e


def _attribute(v: CodeView, s: int, e: int) -> int:
    span = v.call_span(e)
    end = span[1] + 1 if span else e
    v.blank(s, end)
    return end


def _type(v: CodeView, s: int, e: int) -> int:
    span = v.call_span(e)
    if span is None:
        return e
    end = span[1] + 1
    v.fuse(s, end)
    return end


def _declarator(v: CodeView, s: int, e: int) -> int:
    """DEFINE_PER_CPU(type, name) -> 'int' then only the name, in place."""
    span = v.call_span(e)
    if span is None:
        return e
    index = v.table.declarators[v.raw[s:e]]
    args = v.top_level_args(*span)
    end = span[1] + 1
    if index >= len(args):
        return end
    keep_s, keep_e = args[index]
    v.blank(s, end)
    v.put(keep_s, v.raw[keep_s:keep_e])
    if end - s >= 3:
        v.put(s, b"int")
    return end


def _loop(v: CodeView, s: int, e: int) -> int:
    span = v.call_span(e)
    if span is None:
        return e
    nxt = v.next_tok(span[1] + 1)
    if nxt is not None and nxt[1] == b";":
        return e
    v.loop_head(s, e, span[1])
    return e


def _string(v: CodeView, s: int, e: int) -> int:
    """A macro that expands to a string: reduced to its first string argument,
    or, having none, written as string literals of its own length."""
    span = v.call_span(e)
    if span is None:
        v.stringify(s, e)
        return e
    end = span[1] + 1
    first = None
    for pos in range(span[0], end):
        if v.code[pos] == 0x22:
            first = v.in_string(pos)
            break
    if first is not None:
        v.blank(s, first[0])
        v.blank(first[1], end)
        return end
    v.stringify(s, end)
    return end


def _asm(v: CodeView, s: int, e: int) -> int:
    """alternative_io(...): asm operands as macro arguments."""
    span = v.call_span(e)
    if span is None:
        return e
    open_, close = span
    for m in ASM_OPERAND_NAME.finditer(v.code, open_, close):
        v.blank(m.start(), m.end())
    depth = 0
    for pos in range(open_ + 1, close):
        c = v.code[pos]
        if c in b"([{":
            depth += 1
        elif c in b")]}":
            depth -= 1
        elif c == 0x3A and depth == 0:  # ':' between operand lists
            v.put(pos, b",")
    return e  # the arguments may hold more macros


def _transparent(v: CodeView, s: int, e: int) -> int:
    """GUARD(x...) that expands to its arguments: name and parentheses go."""
    span = v.call_span(e)
    if span is None:
        return e
    v.blank(s, e)
    v.blank(span[0], span[0] + 1)
    v.blank(span[1], span[1] + 1)
    return e


def _operand(v: CodeView, s: int, e: int) -> int:
    """An asm operand made by a macro: NAME(x, y) reads as '"...." (x| y)'."""
    if e - s >= 2:
        v.put(s, b'"' + b" " * (e - s - 2) + b'"')
    span = v.call_span(e)
    if span is not None:
        for _, b in v.top_level_args(*span)[:-1]:
            comma = v.code.find(b",", b, span[1])
            if comma != -1:
                v.put(comma, b"|")
    return e


def _block(v: CodeView, s: int, e: int) -> int:
    """A macro whose arguments are statements: NAME(a, b, c); -> {a; b; c;}"""
    span = v.call_span(e)
    if span is None:
        return e
    open_, close = span
    nxt = v.next_tok(close + 1)
    if nxt is None or nxt[1] != b";":
        return e
    for _, b in v.top_level_args(open_, close)[:-1]:
        comma = v.code.find(b",", b, close)
        if comma != -1:
            v.put(comma, b";")
    v.blank(s, e)
    v.put(open_, b"{")
    v.put(close, b";")
    v.put(nxt[0], b"}")
    return e


def _init_open(v: CodeView, s: int, e: int) -> int:
    """DT_DEVICE_START(name, "x", cls) -> 'int DT_DEVI={name, "x", cls,'"""
    span = v.call_span(e)
    if span is None or span[0] - s < 7:
        return e
    n = span[0] + 1 - s
    v.put(s, b"int " + v.raw[s : s + n - 6] + b"={")
    v.put(span[1], b",")
    return e


def _init_close(v: CodeView, s: int, e: int) -> int:
    """DT_DEVICE_END -> '};'"""
    if e - s >= 2:
        v.put(s, b"};" + b" " * (e - s - 2))
    return e


# The directives that say what a name is where: definitions, and the
# conditionals around them (for '#if 0').
_DEFINITION_WORDS = frozenset(
    (b"define", b"undef", b"if", b"ifdef", b"ifndef", b"elif", b"else", b"endif")
)


def _local_kinds(v: CodeView, names: set[bytes]) -> dict[bytes, str | None]:
    """Kinds of the names the file's code uses and its own #defines define
    (None: a definition that is none of the derived kinds).  A definition
    on a side of an #if no build sees is none; a function-like macro that
    every build of the file defines empty, and that such a side defines
    otherwise, is blanked with its arguments (ia64's unwind.c: ``#define
    UNW_STATS 0`` then ``STAT(x...)`` as ``x`` under ``#if UNW_STATS``,
    empty under its ``#else``; ``STAT(unsigned long start;)`` is no call)."""
    raw = v.raw
    own = [d for d in v.directives if d.word in _DEFINITION_WORDS]
    if not own:
        return {}
    dead = {d.start for d in own if in_spans(d.start, v.dead)}
    defs = definitions(b"\n".join(raw[d.start : d.end] for d in own if d.start not in dead))
    used = names.intersection(defs)
    unseen = definitions(
        b"\n".join(raw[d.start : d.end] for d in own if d.start in dead)) if dead else {}
    if not used:
        return {}
    table = v.table

    def known(name: bytes) -> str | None:
        # The table's own entries, then what the tree's #defines say of a
        # name the file does not define itself.
        k = table.explicit_kind(name)
        if k is None and name not in defs:
            k = table.derived.get(name)
        return k

    deriver = Deriver(defs, known)
    kinds = {name: deriver.kind(name) for name in used}
    for name in used.intersection(unseen):
        if kinds[name] is None and all(fn and not toks for fn, toks in defs[name]):
            kinds[name] = ATTRIBUTE_KIND
    return kinds


def _blank(v: CodeView, s: int, e: int) -> int:
    """An object-like macro that expands to attributes or nothing: the name."""
    v.blank(s, e)
    return e


def _asm_keyword(v: CodeView, s: int, e: int) -> int:
    """A macro that expands to ``asm`` and qualifiers: written ``asm``."""
    if e - s >= 3:
        v.put(s, b"asm" + b" " * (e - s - 3))
    return e


# How each kind of the macro table masks a name: from the name's offsets,
# the offset where the scan for the next name may go on.
Handler = Callable[[CodeView, int, int], int]
HANDLERS: dict[str, Handler] = {
    "rename": _rename,
    "attribute": _attribute,
    "type": _type,
    "declarator": _declarator,
    "loop": _loop,
    "string": _string,
    "asm": _asm,
    "transparent": _transparent,
    "operand": _operand,
    "block": _block,
    "init_open": _init_open,
    "init_close": _init_close,
    BLANK_KIND: _blank,
    ASM_KIND: _asm_keyword,
}


def string_prefixes(v: CodeView) -> None:
    """Blank ``XENLOG_WARNING VTDPREFIX "..."`` and ``"%" PRIx64 "\\n"`` runs."""
    table = v.table
    code = v.code
    raw = v.raw
    for s, e in v.strings:
        if raw[s] != 0x22 or code[s] != 0x22:
            continue  # a character literal, or blanked
        tok = v.prev_tok(s)
        while tok is not None and is_word(tok[1]) and table.is_string_prefix(tok[1]):
            v.blank(tok[0], tok[0] + len(tok[1]))
            tok = v.prev_tok(tok[0])
        tok = v.next_tok(e)
        while tok is not None and is_word(tok[1]) and table.is_string_prefix(tok[1]):
            v.blank(tok[0], tok[0] + len(tok[1]))
            tok = v.next_tok(tok[0] + len(tok[1]))
