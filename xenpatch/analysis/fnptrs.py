"""Every reference a C file makes to the functions it defines: direct
calls, stores into a struct field (``.resume = f`` in an initialiser,
``ops->resume = f``), calls through a field (``p->resume(...)``), the
function handed to an API that calls it back in a known context
(rules/locks.toml's [irqcallback]), and every other use, which lets the
function's address escape where nothing follows it.

A function's callers are then its direct call sites plus, when it is stored
only in fields, the calls through those fields -- by field name, as the
file spells it: a field that is read any other way (copied into a local,
passed on) makes the functions stored in it escape too.

A macro of the file that calls through the field its argument names
(``#define SCHED_OP(ops, fn, ...) (ops)->fn(ops, ...)``) is a call through
that field at each of its uses.

The index is text-checked: a name that occurs more often in the file's code
(comments and strings left out) than the parse accounts for -- in a macro
body, in masked or unparsed text -- escapes as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from tree_sitter import Node

from xenpatch.c import fields as fid
from xenpatch.c.cfg import call_args, call_name
from xenpatch.c.patterns import FN_DEFINE, whole_word
from xenpatch.c.source import SourceFile, directives

# A call site: (the calling function's definition node, the call).
Site = tuple[Node, Node]


@dataclass
class FnRefs:
    direct: dict[str, list[Site]] = field(default_factory=dict)
    # field name -> the file's functions stored into it
    stored: dict[str, set[str]] = field(default_factory=dict)
    # field name -> calls through it
    field_calls: dict[str, list[Site]] = field(default_factory=dict)
    # function -> the states of the APIs it is handed to ("on"/"off")
    callbacks: dict[str, list[str]] = field(default_factory=dict)
    # functions whose address goes where the index does not follow
    escapes: set[str] = field(default_factory=set)
    # fields read other than to call through them or test them
    read_fields: set[str] = field(default_factory=set)

    def fields_of(self, name: str) -> list[str]:
        return sorted(f for f, names in self.stored.items() if name in names)

    def callers(self, name: str) -> tuple[list[Site], list[str]] | None:
        """The call sites of ``name`` and the callback states it gets, or
        None when some caller cannot be seen."""
        if name in self.escapes:
            return None
        fields = self.fields_of(name)
        if any(f in self.read_fields for f in fields):
            return None
        sites = list(self.direct.get(name, []))
        for f in fields:
            sites.extend(self.field_calls.get(f, []))
        return sites, list(self.callbacks.get(name, []))


def strip(n: Node) -> Node:
    """Past parentheses and a ``*``/``&``: ``(*p->fn)`` is ``p->fn``."""
    while n.type in ("parenthesized_expression", "pointer_expression") and \
            n.named_child_count == 1:
        n = n.named_children[0]
    return n


def up(n: Node) -> Node | None:
    """The parent, past parentheses and a leading ``&``/``*``."""
    p = n.parent
    while p is not None and (p.type == "parenthesized_expression" or (
            p.type == "pointer_expression" and p.children and p.children[0].type in ("&", "*"))):
        n, p = p, p.parent
    return p


def _enclosing_function(n: Node) -> Node | None:
    p = n.parent
    while p is not None and p.type != "function_definition":
        p = p.parent
    return p


_COMMENT_OR_STRING = re.compile(
    rb'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


@lru_cache(maxsize=8)
def field_macros(raw: bytes) -> dict[str, int]:
    """The file's function-like macros that call through the field one of
    their parameters names: macro -> that parameter's index.  Kept for the
    last few texts (index() asks at each use of one, and the IRQ checks
    ask for the same file again; a bytes object hashes once): not to be
    changed by the caller."""
    out: dict[str, int] = {}
    for m in directives(FN_DEFINE, raw):
        params = [p.strip() for p in m.group(2).decode(errors="replace").split(",")]
        body = m.group(3)
        called: set[bytes] | None = None
        for i, p in enumerate(params):
            # The substring test rules out most parameters; the others are
            # looked up among the words the body calls through a field (a
            # pattern per name overflowed re's cache and compiled again).
            if not _IDENT.fullmatch(p) or (b := p.encode()) not in body:
                continue
            if b.isascii():
                if called is None:
                    called = set(_FIELD_CALLED.findall(body))
                hit = b in called
            else:
                hit = _field_call_of(b).search(body) is not None
            if hit:
                out[m.group(1).decode()] = i
                break
    return out


# ``->name (`` / ``.name(``: what one parameter's _field_call_of() finds,
# for every ASCII name at once (the name is the whole word either way).
_FIELD_CALLED = re.compile(rb"(?:->|\.)\s*(\w+)\s*\(")


_IDENT = re.compile(r"[A-Za-z_]\w*")


@lru_cache(maxsize=4096)
def _field_call_of(param: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"(?:->|\.)\s*" + param + rb"\s*\(")


def macro_field(src: SourceFile, call: Node, macros: Mapping[str, int]) -> str | None:
    """The field a use of a field-calling macro calls through."""
    i = macros.get(call_name(src, call) or "")
    if i is None:
        return None
    args = call_args(call)
    if i < len(args) and args[i].type == "identifier":
        return src.text(args[i])
    return None


def _blank(m: re.Match[bytes]) -> bytes:
    return b" " * (m.end() - m.start())


@lru_cache(maxsize=8)
def code_only(raw: bytes) -> bytes:
    """``raw`` with comments and literals blanked, every offset kept.  Kept
    for the last few texts: a parsed file's is asked for three times (its
    function references, its calls through fields, its IRQ call states)."""
    return _COMMENT_OR_STRING.sub(_blank, raw)


def _words(names: Iterable[str]) -> re.Pattern[bytes]:
    alts = sorted({re.escape(n.encode()) for n in names}, key=len, reverse=True)
    return re.compile(rb"\b(?:" + b"|".join(alts) + rb")\b")


_WORD = re.compile(rb"\w+")
_FIELD_WORD = re.compile(rb"(?:->|\.)\s*(\w+)")
_C_IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def _word_matches(names: set[str], code: bytes, after_field: bool = False,
                  ) -> Iterator[re.Match[bytes]]:
    """The matches of ``_words(names)`` in ``code`` (after ``->`` or ``.``
    and spaces, group 1: ``after_field``).  Names that are C identifiers
    match exactly the whole words that are one of them, so every word is
    looked up in a set: compiling the alternation of a file's thousand
    names cost more than the rest of the index."""
    encoded = {n.encode() for n in names}
    if not all(_C_IDENT.fullmatch(n) for n in encoded):
        words = _words(names)
        if after_field:
            yield from re.finditer(rb"(?:->|\.)\s*(" + words.pattern + rb")", code)
        else:
            yield from words.finditer(code)
        return
    group = 1 if after_field else 0
    for m in (_FIELD_WORD if after_field else _WORD).finditer(code):
        if m.group(group) in encoded:
            yield m


_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _word_spans(names: set[str], code: bytes) -> list[tuple[int, int]]:
    """The spans of _word_matches(names, code), in order.  C identifiers
    are found by a search for each (a file defines a hundred functions,
    named a few times each) rather than by a look at each of the file's
    ten thousand words: a whole word is an occurrence with no word byte
    on either side."""
    encoded = {n.encode() for n in names}
    if not all(_C_IDENT.fullmatch(n) for n in encoded):
        return [m.span() for m in _word_matches(names, code)]
    spans: list[tuple[int, int]] = []
    size = len(code)
    for b in encoded:
        i = code.find(b)
        while i >= 0:
            j = i + len(b)
            if (i == 0 or code[i - 1] not in _WORD_BYTES) and (
                    j == size or code[j] not in _WORD_BYTES):
                spans.append((i, j))
            i = code.find(b, i + 1)
    # Whole words never overlap: by start is the text's order.
    spans.sort()
    return spans


def _node_at(src: SourceFile, start: int, end: int, kind: str) -> Node | None:
    n = src.root.descendant_for_byte_range(start, end)
    if n is None or n.type != kind or n.start_byte != start or n.end_byte != end:
        return None
    return n


def index(src: SourceFile, defined: Iterable[str],
          callbacks: Mapping[str, tuple[int, str]] | None = None) -> FnRefs:
    """The references to ``defined`` (function names of ``src``).  Each
    occurrence of a name in the code is looked up in the parse (found by
    text, not by walking the tree: a file's nodes are many); one the parse
    does not hold as an identifier is an escape."""
    names = set(defined)
    cbs = callbacks or {}
    refs = FnRefs()
    if not names:
        return refs
    code = code_only(src.raw)
    for start, end in _word_spans(names, code):
        name = code[start:end].decode()
        n = _node_at(src, start, end, "identifier")
        if n is None:
            refs.escapes.add(name)  # a macro body, masked or unparsed text
            continue
        _identifier_use(src, n, name, refs, cbs)
    fields = set(refs.stored)
    if not fields:
        return refs
    for m in _word_matches(fields, code, after_field=True):
        name = m.group(1).decode()
        n = _node_at(src, m.start(1), m.end(1), "field_identifier")
        if n is None or n.parent is None:
            refs.read_fields.add(name)
        elif n.parent.type == "field_expression":
            _field_use(src, n.parent, refs)
        elif n.parent.type != "field_designator":
            refs.read_fields.add(name)
    for macro, _ in field_macros(src.raw).items():
        for m in whole_word(macro.encode()).finditer(code):
            n = _node_at(src, m.start(), m.end(), "identifier")
            p = n.parent if n is not None else None
            if p is not None and p.type == "preproc_function_def":
                continue
            f = macro_field(src, p, field_macros(src.raw)) if p is not None and \
                p.type == "call_expression" else None
            caller = _enclosing_function(p) if p is not None else None
            if f is None or caller is None:
                # A use the index cannot read may call through any field.
                refs.read_fields |= fields
            elif f in fields:
                refs.field_calls.setdefault(f, []).append((caller, p))  # type: ignore[arg-type]
    return refs


def _field_use(src: SourceFile, fe: Node, refs: FnRefs) -> None:
    f = fe.child_by_field_id(fid.FIELD)
    if f is None:
        return
    name = src.text(f)
    p = up(fe)
    if p is None:
        refs.read_fields.add(name)
        return
    if p.type == "call_expression" and p.child_by_field_id(fid.FUNCTION) is not None and \
            strip(p.child_by_field_id(fid.FUNCTION)) == fe:  # type: ignore[arg-type]
        caller = _enclosing_function(p)
        if caller is not None:
            refs.field_calls.setdefault(name, []).append((caller, p))
        else:
            refs.read_fields.add(name)
        return
    if p.type == "assignment_expression" and p.child_by_field_id(fid.LEFT) == fe:
        return  # a store: what is stored is indexed at the right side
    if p.type in ("if_statement", "while_statement", "condition_clause") or (
            p.type == "unary_expression" and p.children and p.children[0].type == "!") or (
            p.type == "binary_expression" and p.children[1].type in ("==", "!=", "&&", "||")):
        return  # a test of the pointer, not a use of it
    refs.read_fields.add(name)


def _identifier_use(src: SourceFile, n: Node, name: str, refs: FnRefs,
                    cbs: Mapping[str, tuple[int, str]]) -> None:
    p = up(n)
    if p is None:
        refs.escapes.add(name)
        return
    if p.type == "call_expression":
        fn = p.child_by_field_id(fid.FUNCTION)
        if fn is not None and strip(fn) == n:
            caller = _enclosing_function(p)
            if caller is None:
                refs.escapes.add(name)
            else:
                refs.direct.setdefault(name, []).append((caller, p))
            return
    if p.type == "function_declarator" and p.child_by_field_id(fid.DECLARATOR) == n:
        return  # its definition or a prototype
    if p.type == "binary_expression" and p.children[1].type in ("==", "!="):
        return  # its address compared (ops->fn == f): nothing calls it there
    if p.type == "initializer_pair":
        designators = [c for c in p.children if c.type == "field_designator"]
        if len(designators) == 1 and p.child_by_field_id(fid.VALUE) is not None:
            fd = designators[0].named_children
            if fd:
                refs.stored.setdefault(src.text(fd[-1]), set()).add(name)
                return
    if p.type == "assignment_expression" and p.child_by_field_id(fid.OPERATOR) is not None \
            and src.text(p.child_by_field_id(fid.OPERATOR)) == "=":  # type: ignore[arg-type]
        left = p.child_by_field_id(fid.LEFT)
        if left is not None and left.type == "field_expression" and left != n:
            fld = left.child_by_field_id(fid.FIELD)
            if fld is not None:
                refs.stored.setdefault(src.text(fld), set()).add(name)
                return
    if p.type == "argument_list" and p.parent is not None and \
            p.parent.type == "call_expression":
        api = call_name(src, p.parent)
        spec = cbs.get(api or "")
        if spec is not None:
            args = call_args(p.parent)
            i, state = spec
            if 0 <= i < len(args) and strip(args[i]) == n:
                refs.callbacks.setdefault(name, []).append(state)
                return
    refs.escapes.add(name)


__all__ = ["FnRefs", "Site", "code_only", "field_macros", "index", "macro_field", "strip", "up"]
