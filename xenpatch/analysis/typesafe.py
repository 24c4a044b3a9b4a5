"""Typesafe integer wrappers and their one distinguished constant.

Xen boxes frame numbers in one-member structs made by a generator macro
(``TYPE_SAFE(unsigned long, mfn)``: the type ``mfn_t``, a boxer ``_mfn()``,
an unboxer ``mfn_x()``), compares them with inline equality functions
(``mfn_eq(x, y)`` is ``mfn_x(x) == mfn_x(y)``) and names one boxed
constant per type (``INVALID_MFN``).  A helper returning such a value says
"failed" with that constant as a pointer helper does with NULL:

    mfn = get_gfn(d, gfn, &t);
    if ( mfn_eq(mfn, INVALID_MFN) ) { put_gfn(d, gfn); return INVALID_MFN; }
    return mfn;                        /* the lock is held: success */

A boxed value has no truth value of its own (the struct cannot be tested),
so the value classes of the flag tracking are free to mean "is the type's
constant" (``zero``) and "is not" (``nz``).  That holds only while a type
has one such constant: a type with two distinct boxed literals gets none.

Everything is read from the tree's own text, by shape: which macro is a
generator (it typedefs a pasted name and defines functions on it), which
inline is an equality (it compares two unboxed parameters), which object
macro is a boxed literal -- never from the names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from xenpatch.analysis.headertexts import tree_texts
from xenpatch.analysis.values import exact_macros

_CONT = re.compile(rb"\\\r?\n")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
# #define NAME(params) body, continuation lines joined by the caller.
_FN_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)(.*)$", re.M)
_OBJ_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+(.+?)[ \t]*$", re.M)
# A name pasted from pieces: "_name##_t", "_##_name".
_PASTED = r"(\w+(?:\s*##\s*\w+)+)"
_TYPEDEF = re.compile(r"\btypedef\b(?:[^;{]|\{[^{}]*\})*?" + _PASTED + r"\s*;")
# static inline RET NAME(PTYPE p) { ... }, in a generator's body.
_GEN_FN = re.compile(
    r"\bstatic\s+(?:always_)?inline\s+([\w\s#]+?)\s*\b" + _PASTED
    + r"\s*\(\s*([\w\s#]+?)\s+\w+\s*\)"
)
_LITERAL = r"\(?\s*~?\s*\(?\s*(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*\)?\s*\)?"
# static inline bool NAME(T a, T b) { return U(a) == U(b); }
_EQ_FN = re.compile(
    r"\bstatic\s+(?:always_)?inline\s+\w+\s+([A-Za-z_]\w*)\s*\(\s*(?:const\s+)?(\w+)\s+(\w+)\s*,"
    r"\s*(?:const\s+)?(\w+)\s+(\w+)\s*\)\s*\{\s*return\s+\(?\s*(\w+)\s*\(\s*(\w+)\s*\)\s*==\s*"
    r"(\w+)\s*\(\s*(\w+)\s*\)\s*\)?\s*;\s*\}"
)


@dataclass(frozen=True)
class TypeSafe:
    """What a tree (and a file) defines of typesafe wrappers."""

    # Object macros naming a type's single boxed constant (INVALID_MFN).
    sentinels: frozenset[str] = frozenset()
    # Functions comparing two boxed values of one type (mfn_eq).
    eqs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Generator:
    name: str
    params: tuple[str, ...]
    type_name: tuple[str, ...]  # pieces of the typedef'd name
    boxers: tuple[tuple[str, ...], ...]  # functions returning the type
    unboxers: tuple[tuple[str, ...], ...]  # functions taking it


def _pieces(pasted: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in pasted.split("##"))


def _generators(text: str) -> list[_Generator]:
    out = []
    for m in _FN_DEFINE.finditer(text):
        params = tuple(p.strip() for p in m.group(2).split(","))
        body = m.group(3)
        if "##" not in body or "typedef" not in body:
            continue
        types = {_pieces(t.group(1)) for t in _TYPEDEF.finditer(body)}
        if len(types) != 1:
            continue
        tname = types.pop()
        boxers, unboxers = [], []
        for f in _GEN_FN.finditer(body):
            ret = _pieces(f.group(1).split()[-1]) if "##" in f.group(1) else ()
            arg = f.group(3).replace(" ", "")
            argt = _pieces(arg) if "##" in arg else ()
            if ret == tname and argt != tname:
                boxers.append(_pieces(f.group(2)))
            elif argt == tname and ret != tname:
                unboxers.append(_pieces(f.group(2)))
        if boxers and unboxers:
            out.append(_Generator(m.group(1), params, tname, tuple(boxers), tuple(unboxers)))
    return out


def _clean(raw: bytes) -> str:
    return _COMMENT.sub(" ", _CONT.sub(b" ", raw).decode(errors="replace"))


# A file whose text pastes a typedef is derived with its tree's headers
# (for_file): each header's generators and cleaned text are worked out
# once, not again for every such file.
@lru_cache(maxsize=4096)
def _text_generators(t: bytes) -> tuple[_Generator, ...]:
    return tuple(_generators(_clean(t))) if b"##" in t and b"typedef" in t else ()


@lru_cache(maxsize=1024)
def _cleaned(t: bytes) -> str:
    return _clean(t)


def _norm(literal: str) -> str:
    return re.sub(r"[\s()uUlL]", "", literal)


def _paste(pieces: tuple[str, ...], binding: dict[str, str]) -> str:
    return "".join(binding.get(p, p) for p in pieces)


def derive(texts: Iterable[bytes]) -> TypeSafe:
    """The typesafe wrappers of these sources (a tree's headers, a file)."""
    texts = list(texts)
    gens = [g for t in texts for g in _text_generators(t)]
    if not gens:
        return TypeSafe()
    # Only the texts that use a generator are read further (a tree has
    # hundreds of headers).
    names = {g.name.encode() for g in gens}
    joined = [_cleaned(t) for t in texts if any(n in t for n in names)]
    boxer_type: dict[str, str] = {}
    unboxer_type: dict[str, str] = {}
    types: set[str] = set()
    for g in gens:
        use = re.compile(r"^[ \t]*" + re.escape(g.name) + r"\s*\(([^()]*)\)\s*;", re.M)
        for t in joined:
            for m in use.finditer(t):
                args = [a.strip() for a in m.group(1).split(",")]
                if len(args) != len(g.params):
                    continue
                binding = dict(zip(g.params, args, strict=True))
                tname = _paste(g.type_name, binding)
                types.add(tname)
                for b in g.boxers:
                    boxer_type[_paste(b, binding)] = tname
                for u in g.unboxers:
                    unboxer_type[_paste(u, binding)] = tname
    if not types:
        return TypeSafe()
    # A type's constant and its equality are defined beside the use that
    # makes the type (mm-frame.h): only those texts are read for them.
    # Boxed literals: "#define C BOX(lit)" or "#define C ((T){ lit })".
    boxed: dict[str, dict[str, set[str]]] = {}
    literal = re.compile(_LITERAL)

    def raw_value(name: str) -> str | None:
        """The literal another macro names (INVALID_MFN_RAW)."""
        d = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+" + re.escape(name.encode())
                       + rb"[ \t]+(.+?)[ \t]*$", re.M)
        for t in texts:
            if name.encode() in t and (m := d.search(t)) is not None:
                v = m.group(1).decode(errors="replace")
                return _norm(v) if literal.fullmatch(v.strip()) else None
        return None

    arg = r"(" + _LITERAL + r"|[A-Za-z_]\w*)"
    lit = re.compile(
        r"\(*\s*(?:([A-Za-z_]\w*)\s*\(\s*" + arg + r"\s*\)"
        r"|\(\s*([A-Za-z_]\w*)\s*\)\s*\{\s*" + arg + r"\s*\})\s*\)*"
    )
    for t in joined:
        for m in _OBJ_DEFINE.finditer(t):
            e = lit.fullmatch(m.group(2).strip())
            if e is None:
                continue
            ty = boxer_type.get(e.group(1) or "") or (
                e.group(3) if e.group(3) in types else None)
            v = e.group(2) or e.group(4)
            value = raw_value(v) if re.fullmatch(r"[A-Za-z_]\w*", v) else _norm(v)
            if ty is None or value is None:
                continue
            boxed.setdefault(ty, {}).setdefault(value, set()).add(m.group(1))
    sentinels = {c for by_value in boxed.values() if len(by_value) == 1
                 for names in by_value.values() for c in names}
    eqs = set()
    for t in joined:
        for m in _EQ_FN.finditer(t):
            eq_name, ta, pa, tb, pb, u1, x1, u2, x2 = m.groups()
            if ta == tb and ta in types and unboxer_type.get(u1) == ta == unboxer_type.get(u2) \
                    and {x1, x2} == {pa, pb} and pa != pb:
                eqs.add(eq_name)
    return TypeSafe(frozenset(sentinels), frozenset(eqs))


@cache
def tree_typesafe(root: Path | None, arch: str | None) -> TypeSafe:
    """The typesafe wrappers of a tree's headers, once per process."""
    return derive(tree_texts(root, arch)) if root is not None else TypeSafe()


def for_file(root: Path | None, arch: str | None, raw: bytes) -> TypeSafe:
    """What a C file sees: its tree's wrappers, or its own when it defines
    a generator (a file outside any tree)."""
    if b"##" in raw and b"typedef" in raw:
        own = derive((*(tree_texts(root, arch) if root is not None else ()), raw))
        if own.sentinels or own.eqs:
            return own
    return tree_typesafe(root, arch)


# Before the wrappers, the same convention on a plain integer: "#define
# INVALID_MFN (~0UL)", a helper returning an unsigned long.  Its constant is
# any object macro whose body is an integer literal (values.exact_macros()),
# compared by value: there is no type to single one out, and none is needed
# (a comparison with the constant is exact, whatever else the type has).
@cache
def tree_exacts(root: Path | None, arch: str | None) -> Mapping[str, int | str]:
    """The literal macros of a tree's headers, once per process."""
    return exact_macros(tree_texts(root, arch)) if root is not None else {}


def file_exacts(root: Path | None, arch: str | None, raw: bytes) -> Mapping[str, int | str]:
    """What a C file sees: its tree's literal macros, and its own."""
    tree = tree_exacts(root, arch)
    own = exact_macros((raw,))
    return {**tree, **own} if own else tree
