"""Where each [irqcallback] API of rules/locks.toml takes its function,
read from the tree's own declaration of the API.

An API's argument order is a fact of the tree, not of the rules: Xen's
request_irq() took its handler as argument 1 until 2014 and as argument 2
since (an irqflags argument was put before it), and a file may wrap the API
in a macro of another order (arm/smmu.c's Linux-order request_irq()).  A
table entry that names the callback's parameter (``param = "handler"``)
has its index read from every declaration the file sees -- the prototypes,
definitions and function-like macros of the tree's headers (the directories
analysis/headers.py indexes) and of the file itself -- and a macro of the
file's own shadows the others, as the preprocessor does.  An index all the
declarations agree on is taken; declarations that disagree, or one that
does not name the parameter, leave the callback unknown (its function's
entry stays unknown: nothing is guessed).  Only a tree that declares the
API nowhere the file sees falls back to the entry's ``arg``.  An entry
naming ``arches`` holds for the files of those architectures only (common
code is built for each; analysis/headers.arch_of()); a file outside any
tree has no architecture to tell, and the entry holds for it as before.

A declaration is told from a call by the word before the name: a type or
``*`` (``extern int request_irq(``, ``void *f(``), not ``return`` or an
operator; its parameters' names come from a parse of its parameter list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.analysis import headers as hdr
from xenpatch.analysis.fnptrs import code_only
from xenpatch.analysis.irqstate import IrqTable
from xenpatch.c.brackets import closing
from xenpatch.c.patterns import FN_DEFINE
from xenpatch.c.source import directives
from xenpatch.c.texts import read_bytes

if TYPE_CHECKING:
    from xenpatch.c.masking import MacroTable

# One declaration's parameter names, in order; None: a parameter without
# a name (or one the parse cannot read).
Params = tuple[str | None, ...]

# Words after which a name followed by "(" is called, not declared.
_NOT_TYPES = frozenset({b"return", b"else", b"do", b"case", b"goto", b"sizeof",
                        b"typeof", b"__typeof__", b"defined", b"define"})
_DIRECTIVE = re.compile(rb"^[ \t]*#(?:\\\r?\n|[^\n])*", re.M)
_WORD_END = re.compile(rb"(\w+)\s*$")
_IDENT = re.compile(r"[A-Za-z_]\w*")


# Every byte but a newline to a blank.
_BLANKS = bytes(b if b == 0x0A else 0x20 for b in range(256))


def _blank(m: re.Match[bytes]) -> bytes:
    return m.group(0).translate(_BLANKS)


@lru_cache(maxsize=64)
def _needles(names: frozenset[str]) -> tuple[bytes, ...]:
    return tuple(n.encode() for n in names)


def _mentions(raw: bytes, names: frozenset[str]) -> bool:
    """Does one of ``names`` occur in ``raw`` (as any text)?  A header
    naming none has neither macros nor declarations of them: most of a
    tree's headers, asked once each for both."""
    return any(n in raw for n in _needles(names))


@lru_cache(maxsize=64)
def _names_pattern(names: frozenset[str]) -> re.Pattern[bytes]:
    alts = b"|".join(re.escape(n.encode()) for n in sorted(names))
    return re.compile(rb"(?<![\w.>])(" + alts + rb")\s*\(")


def _is_declaration(code: bytes, start: int) -> bool:
    """Is the name at ``start`` declared (a type or ``*`` before it)?"""
    before = code[max(0, start - 200):start].rstrip()
    if before.endswith(b"*"):
        return True
    m = _WORD_END.search(before)
    return m is not None and m.group(1) not in _NOT_TYPES and not m.group(1)[:1].isdigit()


@cache
def _plain_table() -> MacroTable:
    """The project's default macro table, as parameter_names() parses
    with: loaded once (each load reads and parses rules/macros.toml, ~3 ms:
    a cold single-file run asked for it eight times, once per declaration
    of an [irqcallback] API in its headers)."""
    from xenpatch.c.masking import default_macro_table

    return default_macro_table()


def parameter_names(params: bytes) -> Params | None:
    """The names of a parameter list's parameters (the text between the
    parentheses), None when the parse cannot read it as declarations."""
    from xenpatch.c.source import SourceError, parse_bytes
    from xenpatch.c.typefacts import declarator_name

    text = b" ".join(params.split())
    if text in (b"", b"void"):
        return ()
    try:
        src = parse_bytes("<params>", b"void f(" + text + b");\n", _plain_table())
    except SourceError:
        return None
    root = src.root
    if root.has_error or root.named_child_count != 1:
        return None
    decl = root.named_children[0]
    fd = decl.child_by_field_name("declarator")
    plist = fd.child_by_field_name("parameters") if fd is not None else None
    if fd is None or fd.type != "function_declarator" or plist is None:
        return None
    out: list[str | None] = []
    for p in plist.named_children:
        if p.type == "comment":
            continue
        if p.type == "variadic_parameter":
            out.append(None)
            continue
        if p.type != "parameter_declaration":
            return None
        name, _, _ = declarator_name(p.child_by_field_name("declarator"))
        out.append(src.text(name) if name is not None else None)
    return tuple(out)


def _macro_params(text: bytes) -> Params | None:
    params = [p.strip() for p in text.decode(errors="replace").split(",")]
    if params == [""]:
        return ()
    if any(not _IDENT.fullmatch(p) for p in params):
        return None  # variadic: not read
    return tuple(params)


def macros(raw: bytes, names: frozenset[str]) -> dict[str, list[tuple[Params | None, bytes]]]:
    """The function-like macros of ``raw`` named in ``names``: their
    parameters and body."""
    out: dict[str, list[tuple[Params | None, bytes]]] = {}
    if not _mentions(raw, names):
        return out
    for m in directives(FN_DEFINE, raw):
        name = m.group(1).decode()
        if name in names:
            body = re.sub(rb"\\\r?\n", b" ", m.group(3))
            out.setdefault(name, []).append((_macro_params(m.group(2)), body))
    return out


def functions(raw: bytes, names: frozenset[str]) -> dict[str, list[Params | None]]:
    """The prototypes and definitions of ``raw`` named in ``names``: their
    parameter names (None: a declaration whose parameters the parse cannot
    read)."""
    out: dict[str, list[Params | None]] = {}
    if not _mentions(raw, names):
        return out
    # Directives blanked too: a macro's name or body is no declaration, and
    # the word before a declaration is not an #ifdef's.
    code = _DIRECTIVE.sub(_blank, code_only(raw))
    for m in _names_pattern(names).finditer(code):
        if not _is_declaration(code, m.start()):
            continue
        open_ = m.end() - 1
        close = closing(code, open_, 0x28, 0x29, 4000)
        if close is None:
            continue
        out.setdefault(m.group(1).decode(), []).append(parameter_names(code[open_ + 1:close]))
    return out


@cache
def _header_decls(h: Path, names: frozenset[str]) -> tuple[
        dict[str, list[tuple[Params | None, bytes]]], dict[str, list[Params | None]]]:
    """A header's macros and declarations of ``names``, once per header."""
    try:
        raw = read_bytes(h)
    except OSError:
        return {}, {}
    if not _mentions(raw, names):
        return {}, {}  # what both would find, asked once
    return macros(raw, names), functions(raw, names)


def _merge(into: tuple[dict[str, list], dict[str, list]],
           got: tuple[Mapping[str, list], Mapping[str, list]]) -> None:
    for mine, theirs in zip(into, got, strict=True):
        for k, v in theirs.items():
            mine.setdefault(k, []).extend(v)


@cache
def _dir_decls(d: Path, names: frozenset[str], recursive: bool) -> tuple[
        dict[str, list[tuple[Params | None, bytes]]], dict[str, list[Params | None]]]:
    out: tuple[dict[str, list], dict[str, list]] = ({}, {})
    if d.is_dir():
        for h in sorted(d.rglob("*.h") if recursive else d.glob("*.h")):
            _merge(out, _header_decls(h, names))
    return out


def _visible(root: Path | None, arch: str | None, where: Path | None,
             names: frozenset[str]) -> tuple[dict[str, list[tuple[Params | None, bytes]]],
                                             dict[str, list[Params | None]]]:
    """The declarations of ``names`` in the headers a file of ``where``
    sees (the directories analysis/headers.py indexes)."""
    out: tuple[dict[str, list], dict[str, list]] = ({}, {})
    if root is None:
        return out
    for d in hdr.tree_header_dirs(root, arch):
        _merge(out, _dir_decls(d, names, True))
    if where is not None:
        for d in hdr.local_header_dirs(root, where):
            _merge(out, _dir_decls(d, names, False))
    return out


def _index_of(decls: Iterable[Params | None], param: str) -> int | None:
    """The one index of ``param`` in every declaration, else None."""
    got: set[int | None] = set()
    for d in decls:
        got.add(d.index(param) if d is not None and param in d else None)
    return got.pop() if len(got) == 1 else None


def _through_macro(params: Params | None, body: bytes, name: str, inner: int | None
                   ) -> int | None:
    """A macro of the file named as the API whose body calls the API:
    the macro parameter its call passes at the API's index ``inner``."""
    if params is None or inner is None:
        return None
    body = body.strip()
    m = re.fullmatch(rb"\(?\s*" + re.escape(name.encode()) + rb"\s*\((.*)\)\s*\)?;?", body,
                     re.S)
    if m is None:
        return None
    args = hdr.split_args(m.group(1).decode(errors="replace"))
    if inner >= len(args) or (a := args[inner].strip()) not in params:
        return None
    return params.index(a)


Macros = Mapping[str, list[tuple[Params | None, bytes]]]
Functions = Mapping[str, list[Params | None]]


def resolve_index(name: str, param: str, seen_macros: Macros, seen_fns: Functions,
                  own_macros: Macros, own_fns: Functions, fallback: int | None = None
                  ) -> int | None:
    """The index of the API ``name``'s parameter ``param`` in a file that
    sees the headers' ``seen_*`` declarations and has its ``own_*``; None
    when they disagree or do not name it.  ``fallback``: the index for a
    tree that declares the API nowhere the file sees."""
    fns = [*seen_fns.get(name, ()), *own_fns.get(name, ())]
    if name in own_macros:
        # The file's macro shadows every declaration: it names the
        # parameter, or passes one of its own to the API's.
        idx = _index_of([p for p, _ in own_macros[name]], param)
        if idx is None and len(own_macros[name]) == 1:
            params, body = own_macros[name][0]
            idx = _through_macro(params, body, name, _index_of(fns, param) if fns else None)
        return idx
    decls = [*(p for p, _ in seen_macros.get(name, ())), *fns]
    return _index_of(decls, param) if decls else fallback


def read_ahead(table: IrqTable, root: Path | None, arch: str | None,
               where: Path | None) -> None:
    """What callback_args() reads of the tree's headers for a file of
    ``where`` (their declarations of the APIs, memoised per directory),
    read now: a process forked after this finds it read."""
    if table.params or table.arches:
        _visible(root, arch, where, frozenset(table.params))


def callback_args(table: IrqTable, root: Path | None, arch: str | None, where: Path | None,
                  raw: bytes) -> dict[str, tuple[int, str]]:
    """The [irqcallback] APIs as a file sees them: name -> (the index of
    the callback among a call's arguments, the state it runs in).  An API
    left out is unknown in this file."""
    if not table.params and not table.arches:
        return dict(table.callbacks)
    names = frozenset(table.params)
    seen_macros, seen_fns = _visible(root, arch, where, names)
    own_macros = macros(raw, names)
    own_fns = functions(raw, names)
    out: dict[str, tuple[int, str]] = {}
    for name, (arg, state) in table.callbacks.items():
        if name in table.arches and arch is not None and arch not in table.arches[name]:
            continue  # the state was read in other architectures' code
        param = table.params.get(name)
        if param is None:
            out[name] = (arg, state)
            continue
        idx = resolve_index(name, param, seen_macros, seen_fns, own_macros, own_fns,
                            arg if arg >= 0 else None)
        if idx is not None:
            out[name] = (idx, state)
    return out


def calls(raw: bytes, names: frozenset[str]) -> list[tuple[str, list[str]]]:
    """The calls of ``names`` in ``raw`` (declarations, macros, comments and
    strings left out), each with its arguments' texts."""
    out: list[tuple[str, list[str]]] = []
    if not _mentions(raw, names):
        return out
    code = _DIRECTIVE.sub(_blank, code_only(raw))
    for m in _names_pattern(names).finditer(code):
        if _is_declaration(code, m.start()):
            continue
        close = closing(code, m.end() - 1, 0x28, 0x29, 4000)
        if close is not None:
            args = code[m.end():close].decode(errors="replace")
            out.append((m.group(1).decode(), hdr.split_args(args)))
    return out


__all__ = ["Params", "callback_args", "calls", "functions", "macros", "parameter_names",
           "resolve_index"]
