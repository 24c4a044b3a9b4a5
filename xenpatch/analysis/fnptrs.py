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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tree_sitter import Node

from xenpatch.c.cfg import call_args, call_name
from xenpatch.c.source import SourceFile, walk

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


def _up(n: Node) -> Node | None:
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


def _code_counts(raw: bytes, names: Iterable[str]) -> dict[str, int]:
    code = _COMMENT_OR_STRING.sub(b" ", raw)
    words: dict[bytes, int] = {}
    for w in re.findall(rb"[A-Za-z_]\w*", code):
        words[w] = words.get(w, 0) + 1
    return {n: words.get(n.encode(), 0) for n in names}


_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)"
                     rb"((?:\\\r?\n|[^\n])*)", re.M)


def field_macros(raw: bytes) -> dict[str, int]:
    """The file's function-like macros that call through the field one of
    their parameters names: macro -> that parameter's index."""
    out: dict[str, int] = {}
    for m in _DEFINE.finditer(raw):
        params = [p.strip() for p in m.group(2).decode(errors="replace").split(",")]
        body = m.group(3)
        for i, p in enumerate(params):
            if re.fullmatch(r"[A-Za-z_]\w*", p) and re.search(
                    rb"(?:->|\.)\s*" + p.encode() + rb"\s*\(", body):
                out[m.group(1).decode()] = i
                break
    return out


def macro_field(src: SourceFile, call: Node, macros: Mapping[str, int]) -> str | None:
    """The field a use of a field-calling macro calls through."""
    i = macros.get(call_name(src, call) or "")
    if i is None:
        return None
    args = call_args(call)
    if i < len(args) and args[i].type == "identifier":
        return src.text(args[i])
    return None


def index(src: SourceFile, defined: Iterable[str],
          callbacks: Mapping[str, tuple[int, str]] | None = None) -> FnRefs:
    """The references to ``defined`` (function names of ``src``)."""
    names = set(defined)
    cbs = callbacks or {}
    macros = field_macros(src.raw)
    refs = FnRefs()
    seen: dict[str, int] = {}
    for n in walk(src.root):
        t = n.type
        if t == "field_expression":
            _field_use(src, n, refs)
            continue
        if t == "call_expression" and macros and (f := macro_field(src, n, macros)):
            caller = _enclosing_function(n)
            if caller is not None:
                refs.field_calls.setdefault(f, []).append((caller, n))
            continue
        if t != "identifier":
            continue
        name = src.text(n)
        if name not in names:
            continue
        seen[name] = seen.get(name, 0) + 1
        _identifier_use(src, n, name, refs, cbs)
    for name, count in _code_counts(src.raw, seen).items():
        if count > seen[name]:
            refs.escapes.add(name)
    return refs


def _field_use(src: SourceFile, fe: Node, refs: FnRefs) -> None:
    f = fe.child_by_field_name("field")
    if f is None:
        return
    name = src.text(f)
    p = _up(fe)
    if p is None:
        refs.read_fields.add(name)
        return
    if p.type == "call_expression" and p.child_by_field_name("function") is not None and \
            strip(p.child_by_field_name("function")) == fe:  # type: ignore[arg-type]
        caller = _enclosing_function(p)
        if caller is not None:
            refs.field_calls.setdefault(name, []).append((caller, p))
        else:
            refs.read_fields.add(name)
        return
    if p.type == "assignment_expression" and p.child_by_field_name("left") == fe:
        return  # a store: what is stored is indexed at the right side
    if p.type in ("if_statement", "while_statement", "condition_clause") or (
            p.type == "unary_expression" and p.children and p.children[0].type == "!") or (
            p.type == "binary_expression" and p.children[1].type in ("==", "!=", "&&", "||")):
        return  # a test of the pointer, not a use of it
    refs.read_fields.add(name)


def _identifier_use(src: SourceFile, n: Node, name: str, refs: FnRefs,
                    cbs: Mapping[str, tuple[int, str]]) -> None:
    p = _up(n)
    if p is None:
        refs.escapes.add(name)
        return
    if p.type == "call_expression":
        fn = p.child_by_field_name("function")
        if fn is not None and strip(fn) == n:
            caller = _enclosing_function(p)
            if caller is None:
                refs.escapes.add(name)
            else:
                refs.direct.setdefault(name, []).append((caller, p))
            return
    if p.type == "function_declarator" and p.child_by_field_name("declarator") == n:
        return  # its definition or a prototype
    if p.type == "initializer_pair":
        designators = [c for c in p.children if c.type == "field_designator"]
        if len(designators) == 1 and p.child_by_field_name("value") is not None:
            fd = designators[0].named_children
            if fd:
                refs.stored.setdefault(src.text(fd[-1]), set()).add(name)
                return
    if p.type == "assignment_expression" and p.child_by_field_name("operator") is not None \
            and src.text(p.child_by_field_name("operator")) == "=":  # type: ignore[arg-type]
        left = p.child_by_field_name("left")
        if left is not None and left.type == "field_expression" and left != n:
            fld = left.child_by_field_name("field")
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
            if i < len(args) and strip(args[i]) == n:
                refs.callbacks.setdefault(name, []).append(state)
                return
    refs.escapes.add(name)


__all__ = ["FnRefs", "Site", "field_macros", "index", "macro_field", "strip"]
