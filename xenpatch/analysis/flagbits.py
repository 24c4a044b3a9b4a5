"""A take's condition on one bit of a flags word (``Effect.when`` of the
form ``$i&0x4``): a helper takes a lock on a parameter's say
(``if ( linear ) return ...; lookup()``), its caller binds that parameter
to ``flags & COPY_linear`` of its own, and the callers of that one pass
constants (``COPY_to_guest | COPY_ipa``).  The condition travels up one
level per call as "bit 0x4 of parameter i" (takes.py) and is decided where
the argument is a constant expression, its macros evaluated from the
tree's and the file's ``#define``s (``(1U << 2)``).

Only what is exact: an operand that is neither a parameter nor a constant
leaves the condition unstated (the take is then left out, never assumed),
and a macro defined as two different values (per configuration) has none.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Container, Iterable, Mapping
from functools import cache
from pathlib import Path

from tree_sitter import Node

from xenpatch.analysis.functions import FunctionInfo, strip_parens
from xenpatch.analysis.headertexts import tree_texts
from xenpatch.analysis.values import arg_truth
from xenpatch.c import fields as fid
from xenpatch.c.source import directives

# An object-like macro whose one-line body may be an integer constant
# expression (checked when evaluated).
_DEFINE = re.compile(
    rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+([-~(0-9A-Za-z_][^\n]*?)[ \t]*"
    rb"(?:/\*[^\n]*?\*/[ \t]*)?$", re.M)
_TOKEN = re.compile(
    r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|([A-Za-z_]\w*)|(<<|>>|[-+*|&^~()]))")
# A bit condition as a summary states it: "$2&0x4" (negated "!$2&0x4").
_PARAM_BIT = re.compile(r"\$(\d+)&(0x[0-9a-f]+)")
_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.BitOr, ast.BitAnd,
          ast.BitXor, ast.LShift, ast.RShift, ast.Add, ast.Sub, ast.Mult, ast.Invert,
          ast.USub, ast.UAdd)
_IDENT = re.compile(r"[A-Za-z_]\w*")
_DEPTH = 8  # macros naming macros, at most this deep


def object_macros(texts: Iterable[bytes]) -> dict[str, str]:
    """Object-like macros whose body is one line that may be a constant
    expression: name -> body.  A name defined with two bodies has none."""
    out: dict[str, str] = {}
    bad: set[str] = set()
    for raw in texts:
        for m in directives(_DEFINE, raw):
            name, body = m.group(1).decode(), m.group(2).decode(errors="replace")
            if body.endswith("\\"):
                continue  # continued on the next line: not one line
            if out.setdefault(name, body) != body:
                bad.add(name)
    return {n: b for n, b in out.items() if n not in bad}


@cache
def _tree_macros(root: Path, arch: str | None) -> Mapping[str, str]:
    return object_macros(tree_texts(root, arch))


class Masks:
    """The integer macros a file sees (its tree's headers' and its own),
    read when first asked: most files never ask."""

    def __init__(self, root: Path | None, arch: str | None, raw: bytes) -> None:
        self._root, self._arch, self._raw = root, arch, raw
        self._macros: Mapping[str, str] | None = None
        self._values: dict[str, int | None] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Masks) and (self._root, self._arch, self._raw) == (
            other._root, other._arch, other._raw)

    def __hash__(self) -> int:
        return hash((self._root, self._arch, len(self._raw)))

    def macros(self) -> Mapping[str, str]:
        if self._macros is None:
            tree = _tree_macros(self._root, self._arch) if self._root is not None else {}
            own = object_macros((self._raw,))
            self._macros = {**tree, **own} if own else tree
        return self._macros

    def value(self, text: str, depth: int = 0) -> int | None:
        """The value of a constant expression (literals, these macros,
        ``| & ^ ~ << >> + - *`` and parentheses), or None."""
        got = self._values.get(text)
        if got is None and text not in self._values:
            got = self._values[text] = self._evaluate(text, depth)
        return got

    def _evaluate(self, text: str, depth: int) -> int | None:
        parts: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                return None
            pos = m.end()
            num, name, op = m.groups()
            if num is not None:
                parts.append(str(int(num, 16 if num[:2] in ("0x", "0X") else
                                     8 if len(num) > 1 and num[0] == "0" else 10)))
            elif name is not None:
                body = self.macros().get(name) if depth < _DEPTH else None
                v = self.value(body, depth + 1) if body is not None else None
                if v is None:
                    return None
                parts.append(f"({v})")
            else:
                parts.append(op)
        try:
            tree = ast.parse(" ".join(parts), mode="eval")
        except SyntaxError:
            return None
        if not all(isinstance(n, _NODES) for n in ast.walk(tree)):
            return None
        if any(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.LShift, ast.RShift))
               and not _small_shift(n.right) for n in ast.walk(tree)):
            return None  # a shift by what C leaves undefined
        try:
            v = eval(compile(tree, "<mask>", "eval"), {"__builtins__": {}})  # noqa: S307
        except (ArithmeticError, ValueError):
            return None
        return v if isinstance(v, int) else None


def _small_shift(n: ast.expr) -> bool:
    """A shift count C defines for any integer type: 0 to 63."""
    return isinstance(n, ast.Constant) and isinstance(n.value, int) and 0 <= n.value < 64


def split_and(arg: str) -> tuple[str, str] | None:
    """``a & b`` at the top level of a (squashed) argument, as (a, b);
    None if the argument is anything else (``a && b``, ``a & b | c``)."""
    depth = 0
    at = -1
    for i, c in enumerate(arg):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0:
            if c == "&":
                if arg[i - 1:i] == "&" or arg[i + 1:i + 2] == "&" or i == 0 or at >= 0:
                    return None
                at = i
            elif c in "|^?:,=<>!":
                return None
    if at < 0:
        return None
    return _unparen(arg[:at]), _unparen(arg[at + 1:])


def _unparen(t: str) -> str:
    t = t.strip()
    while t.startswith("(") and t.endswith(")") and _balanced(t[1:-1]):
        t = t[1:-1].strip()
    return t


def _balanced(t: str) -> bool:
    depth = 0
    for c in t:
        depth += c == "("
        depth -= c == ")"
        if depth < 0:
            return False
    return depth == 0


def truth(arg: str, masks: Masks | None, names: Container[str] = ()) -> bool | None:
    """A constant argument's truth, its macros evaluated (``(F_A|F_B)&0x4``);
    None if it is not a constant expression.  ``names``: the function's
    own variables, which no macro of another header stands for."""
    if masks is None or any(n in names for n in _IDENT.findall(arg)):
        return None
    v = masks.value(arg)
    return None if v is None else v != 0


def param_bit(arg: str, params: list[str], masks: Masks | None,
              hidden: Iterable[str] = ()) -> str | None:
    """``$i&0xM`` for an argument ``p & M`` (either order) with ``p`` the
    i-th parameter (not one of ``hidden``: a parameter the body assigns
    no longer holds its argument) and ``M`` a constant expression; else None."""
    parts = split_and(arg)
    if parts is None or masks is None:
        return None
    gone = set(hidden)
    for p, m in (parts, parts[::-1]):
        if p in params and p not in gone and not any(
                n in gone or n in params for n in _IDENT.findall(m)):
            v = masks.value(m)
            if v is not None:
                return f"${params.index(p)}&{v:#x}"
    return None


def bind(when: str, args: list[str]) -> str | None:
    """A ``$i&0xM`` condition (without its "!") at a call: the argument's
    text and the mask, ``(arg)&0xM``; None if it is not of that form."""
    m = _PARAM_BIT.fullmatch(when)
    if m is None or int(m.group(1)) >= len(args):
        return None
    return f"({args[int(m.group(1))].strip()})&{m.group(2)}"


def local_truth(body: Node | None, var: str, mask: int, masks: Masks | None,
                names: Container[str] = ()) -> bool | None:
    """The truth of ``var & mask`` anywhere in ``body``, for a local flags
    word built from constants (``int flags = COPY_ipa; flags |= w ?
    COPY_to_guest : COPY_from_guest;``): false when no write of it can set
    a bit of the mask (each "=", "|=" or initialiser a constant, or a
    choice of constants, without those bits; "&=" only clears bits); true
    when its one write is such a constant with one of them in every
    choice.  None when anything else may write it (its address taken, an
    increment, a value not constant)."""
    if body is None or masks is None:
        return None
    writes: list[tuple[str, list[int] | None]] = []
    stack = [body]
    while stack:
        n = stack.pop()
        t = n.type
        if t == "init_declarator":
            d, v = n.child_by_field_id(fid.DECLARATOR), n.child_by_field_id(fid.VALUE)
            if d is not None and d.type == "identifier" and _text(d) == var:
                writes.append(("=", _choices(v, masks, names)))
        elif t == "assignment_expression":
            left = n.child_by_field_id(fid.LEFT)
            if left is not None and _text(strip_parens(left)) == var:
                op = n.child_by_field_id(fid.OPERATOR)
                o = op.type if op is not None else ""
                if o not in ("=", "|=", "&="):
                    return None
                writes.append((o, _choices(n.child_by_field_id(fid.RIGHT), masks, names)))
        elif t == "update_expression" or (t == "pointer_expression" and _text(n).startswith("&")):
            arg = n.child_by_field_id(fid.ARGUMENT)
            if arg is not None and _text(strip_parens(arg)) == var:
                return None
        stack.extend(n.named_children)
    if not writes:
        return None
    sets = [(o, vs) for o, vs in writes if o != "&="]
    if all(vs is not None and all(not x & mask for x in vs) for _, vs in sets):
        return False
    if len(writes) == 1 and writes[0][0] == "=" and writes[0][1] is not None \
            and all(x & mask for x in writes[0][1]):
        return True
    return None


def _text(n: Node) -> str:
    return (n.text or b"").decode(errors="replace").strip()


def _choices(e: Node | None, masks: Masks, names: Container[str]) -> list[int] | None:
    """The values a constant expression, or a choice of them (``c ? A :
    B``, the condition not counted), may have; None if not constant."""
    if e is None:
        return None
    e = strip_parens(e)
    if e.type == "conditional_expression":
        a = _choices(e.child_by_field_id(fid.CONSEQUENCE), masks, names)
        b = _choices(e.child_by_field_id(fid.ALTERNATIVE), masks, names)
        return None if a is None or b is None else a + b
    t = _text(e)
    if any(n in names for n in _IDENT.findall(t)):
        return None
    v = masks.value(t)
    return None if v is None else [v]


def word_truth(arg: str, body: Node | None, local: Container[str], names: Container[str],
               masks: Masks | None) -> bool | None:
    """The truth of ``v & M`` (either order) for ``v`` one of the function's
    ``local`` variables (not a parameter) and ``M`` a constant expression
    (local_truth()); None for anything else.  ``names``: all its variables."""
    parts = split_and(arg)
    if parts is None or masks is None or body is None:
        return None
    for v, m in (parts, parts[::-1]):
        if v in local and not any(n in names for n in _IDENT.findall(m)):
            mask = masks.value(m)
            if mask is not None:
                return local_truth(body, v, mask, masks, names)
    return None


def when_truth(arg: str, cls: str | None, info: FunctionInfo, body: Node | None) -> bool | None:
    """The truth of a take's condition ``arg`` at a call: the argument's on
    this path (values.arg_truth(), ``cls`` its class there), else a
    constant expression's (``(F_A|F_B)&0x4``) or that bit of a local word
    built from constants."""
    known = arg_truth(arg, cls)
    if known is None and "&" in arg:
        names = info.locals | set(info.params)
        known = truth(arg, info.masks, names)
        if known is None:
            known = word_truth(arg, body, info.locals - set(info.params), names, info.masks)
    return known
