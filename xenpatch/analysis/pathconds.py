"""What a take on some paths tests on its way (issue 9, item 5): the
conditions of the branches that decide whether a node is reached, as
predicates on the function's values, and whether a caller's path to a call
may contradict its callee's take.

A predicate is the text of what a branch tests: a call (``is_persistent(
pool)``), a field (``pool->persistent``), a parameter or a global, with the
outcome the path needs (``+``, ``-``, or ``?`` when a compound condition
leaves it open).  In a summary the parameters are ``${i}`` (bound to a
call's arguments like a key's, templates.instantiate), and what names a
local no caller can see is ``?``: such a predicate can never be shown equal
to another, only to test the same thing (its head: the function called, the
field read).

Two conditions are independent when no predicate of one has the head of a
predicate of the other: put_page() frees on the last reference, and
free_domheap_pages() takes the heap lock for a page that is not a Xen heap
page.  A head both test, on the same text with the same outcome, agrees; on
another text, or another or an open outcome, the two may exclude each other
(a caller delists only a pool that is not persistent, its callee locks for
one that is): the composition is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tree_sitter import Node

from xenpatch.analysis.lockkeys import squash
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.source import SourceFile
from xenpatch.graphs import reachable

Cond = tuple[str, bool | None]

# Branch-prediction hints: their argument is the condition itself.
_HINTS = frozenset(("likely", "unlikely"))
_CONST = re.compile(r"[A-Z_][A-Z0-9_]*|true|false|NULL|\d\w*")
_ZERO = re.compile(r"0+[uUlL]*|NULL|false")
_ATOMS = ("call_expression", "field_expression", "identifier", "subscript_expression",
          "pointer_expression")


def decided_conds(src: SourceFile, cfg: Cfg, node: int,
                  preds: dict[int, list[int]]) -> list[Cond]:
    """The predicates of the branches that decide whether ``node`` is
    reached (one successor reaches it, another does not), in the
    function's own names (squashed text)."""
    reach = reachable([node], lambda i: preds.get(i, ()))
    out: list[Cond] = []
    for c in reach:
        n = cfg.nodes[c]
        if c == node or n.ast is None or len(n.succ) < 2 or n.kind not in (Kind.COND, Kind.SWITCH):
            continue
        on = [x in reach for x in n.succ]
        if all(on):
            continue
        pol: bool | None = None
        if n.kind is Kind.COND and len(n.succ) == 2:
            pol = on[0]
        out.extend(atoms(src, n.ast, pol))
    return out


def predecessors(cfg: Cfg) -> dict[int, list[int]]:
    preds: dict[int, list[int]] = {}
    for n in cfg.nodes:
        for x in n.succ:
            preds.setdefault(x, []).append(n.id)
    return preds


def atoms(src: SourceFile, e: Node, pol: bool | None) -> list[Cond]:
    """The predicates ``e`` tests, each with the outcome the path needs when
    ``e`` is ``pol`` (None: open)."""
    while True:
        if e.type == "parenthesized_expression" and e.named_child_count == 1:
            e = e.named_children[0]
        elif e.type == "unary_expression" and src.text(e).lstrip().startswith("!"):
            arg = e.child_by_field_name("argument")
            if arg is None:
                return []
            e, pol = arg, (None if pol is None else not pol)
        elif e.type == "call_expression" and _fn_name(src, e) in _HINTS:
            args = e.child_by_field_name("arguments")
            if args is None or args.named_child_count != 1:
                return []
            e = args.named_children[0]
        else:
            break
    if e.type == "binary_expression":
        op = e.child_by_field_name("operator")
        o = src.text(op) if op is not None else ""
        left, right = e.child_by_field_name("left"), e.child_by_field_name("right")
        if left is None or right is None:
            return []
        if o in ("==", "!=") and (_zero(src, left) or _zero(src, right)):
            other = right if _zero(src, left) else left
            return atoms(src, other, None if pol is None else (pol if o == "!=" else not pol))
        if o == "&&":
            p = True if pol is True else None
            return atoms(src, left, p) + atoms(src, right, p)
        if o == "||":
            p = False if pol is False else None
            return atoms(src, left, p) + atoms(src, right, p)
        return atoms(src, left, None) + atoms(src, right, None)
    if e.type in _ATOMS:
        t = squash(src.text(e))
        if e.type == "identifier" and _CONST.fullmatch(t):
            return []
        return [(t, pol)]
    out: list[Cond] = []
    for c in e.named_children:
        out.extend(atoms(src, c, None))
    return out


def _fn_name(src: SourceFile, call: Node) -> str | None:
    fn = call.child_by_field_name("function")
    return src.text(fn) if fn is not None else None


def _zero(src: SourceFile, e: Node) -> bool:
    return _ZERO.fullmatch(squash(src.text(e))) is not None


_VAR = re.compile(r"(?<![.>\w$])[A-Za-z_]\w*+(?!\s*\()")


def template_conds(conds: Iterable[Cond], params: list[str], hidden: set[str]) -> list[Cond]:
    """In a summary's terms: a parameter as ``${i}``, a name its callers
    cannot see (``hidden``: locals, parameters the body assigns) as ``?``.
    A bare hidden name is dropped: it has no head another test could
    share."""
    out: list[Cond] = []
    for t, pol in conds:
        if t in hidden or t == "?":
            continue

        def sub(m: re.Match[str]) -> str:
            v = m.group(0)
            if v in hidden:
                return "?"
            return f"${{{params.index(v)}}}" if v in params else v

        out.append((_VAR.sub(sub, t), pol))
    return out


def encode(conds: Iterable[Cond]) -> str:
    """Effect.conds: one predicate a line, its outcome first."""
    return "\n".join(sorted({("?" if p is None else "+" if p else "-") + t for t, p in conds}))


def decode(text: str | None) -> list[Cond]:
    if not text:
        return []
    return [(line[1:], None if line[0] == "?" else line[0] == "+")
            for line in text.split("\n") if line]


_INNER = re.compile(r"\$\{(\d+)\}")


def bind(text: str | None, args: list[str]) -> str | None:
    """A summary's conditions with its parameters bound to a call's
    arguments (an argument the call lacks: ``?``)."""
    if not text or "${" not in text:
        return text

    def one(line: str) -> str:
        body = _INNER.sub(lambda m: "(" + args[int(m.group(1))] + ")"
                          if int(m.group(1)) < len(args) else "?", line[1:])
        return line[0] + squash(body)

    return "\n".join(one(x) for x in text.split("\n"))


def head(t: str) -> str:
    """What a predicate asks: the function it calls, the field it reads,
    else its text."""
    m = re.fullmatch(r"([A-Za-z_]\w*)\s*\(.*\)", t, re.S)
    if m is not None:
        return m.group(1) + "()"
    m = re.search(r"(?:->|\.)\s*([A-Za-z_]\w*)$", t)
    if m is not None:
        return "." + m.group(1)
    return t.lstrip("*&")


def may_exclude(caller: Iterable[Cond], callee: Iterable[Cond]) -> bool:
    """May the caller's path to a call and the callee's path to its take
    exclude each other?  Yes when both test the same head on different
    texts (nothing here relates them), or with outcomes that differ or are
    open."""
    by_head: dict[str, list[Cond]] = {}
    for c in caller:
        by_head.setdefault(head(c[0]), []).append(c)
    for t, pol in callee:
        for u, q in by_head.get(head(t), ()):
            if "?" in t or "?" in u or t != u or pol is None or q is None or pol != q:
                return True
    return False
