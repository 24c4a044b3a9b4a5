"""Takes of the lock of every element of a collection (issue 9; held-out
98e10364bd): a function whose loop steps an index over a whole array and
locks each element's lock in turn takes, during its run, the very lock its
caller holds when that caller holds one element's -- a self-deadlock.

A summary states such a take by the collective key ``C[*].f`` (the key the
dataflow already gives a lock indexed by a loop-stepped variable), as a
take on some paths (``origin``, marked by EVERY): the loop may skip an
element.  What is accepted as "every element" (every_element()):

- a ``for ( i = 0; i < B; i++ )`` loop (``++i``, ``i += 1``), its index
  assigned nowhere else in its body, its bound naming none of the
  function's locals and not a bare parameter (the caller would choose the
  range);
- the lock reached as ``C[i]``, through a local assigned once, in the
  loop, before the take on every path of the iteration, from ``&C[i]``,
  ``C[i]`` or an element accessor macro (``#define to_elem(i) (&C[i])``,
  element_macros());
- no test on the way to the take, nor guarding a way out of the loop,
  relating the element or its index to anything its caller could choose:
  the bare index or element compared with anything but a null pointer,
  the index tested for truth or switched on, the element's state compared
  with, or combined in a call with, a value that is not a constant
  (``if ( d == current->domain ) continue;``, ``if ( i == cpu ) continue;``,
  ``if ( !cpumask_test_cpu(i, mask) ) continue;`` all exclude it).  Tests
  of the element's own state against constants (``desc->handler ==
  &no_irq_type``, ``!initialised(desc)``) and tests not naming it are
  accepted: the take then happens on some paths, as any may-take.

A caller holding the lock of one element, named ``C[E].f`` or through a
local of the same kind (``desc->lock`` of ``desc = to_elem(irq)``), meets
the take (expand_takes(): the take is restated in the caller's own names,
so the existing checks -- XL010, recursive locks exempt, reads by the
XL005-XL007/XL016 rules -- apply as to any callee's take).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import NamedTuple

from tree_sitter import Node

from xenpatch.analysis.events import Act, OpAct
from xenpatch.analysis.functions import FunctionInfo, strip_parens
from xenpatch.analysis.headertexts import tree_texts
from xenpatch.analysis.lockkeys import balanced_parens, squash
from xenpatch.analysis.locktable import Effect
from xenpatch.analysis.values import strip_casts
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind, predecessors
from xenpatch.c.source import SourceFile, directives, walk

# What a summary's origin of such a take says; is_every() reads it back
# (an Effect has no field for it, and a take's origin is its own text).
EVERY = "which takes the lock of every element of"


class Element(NamedTuple):
    """A local holding one element of a collection: ``&C[subscript]`` (sep
    ".": ``v->f`` is ``C[subscript].f``) or the pointer ``C[subscript]`` (sep "->")."""

    collection: str
    sep: str
    subscript: str  # the index expression, squashed
    at: int  # start byte of the assignment's right-hand side


_PATH = r"[A-Za-z_]\w*(?:(?:->|\.)[A-Za-z_]\w*)*"
# Searched for with source.directives(), at the start of a line after
# blanks: a "^[ \t]*" lead had the regex engine try every byte of the
# tree's headers (~7 -> ~2.5 ms for 4.17's x86 ones; the same matches,
# tests/lint/test_cold5_cuts.py).
_DEFINE = re.compile(
    rb"#[ \t]*+define[ \t]++([A-Za-z_]\w*+)\([ \t]*+([A-Za-z_]\w*+)[ \t]*+\)[ \t]*+(.*?)[ \t]*$",
    re.M)
_ADDR = re.compile(rf"&\(?({_PATH})\[\(?([A-Za-z_]\w*)\)?\]\)?")
_VALUE = re.compile(rf"({_PATH})\[\(?([A-Za-z_]\w*)\)?\]")


def element_macros(texts: Iterable[bytes]) -> dict[str, tuple[str, str]]:
    """Function-like macros of one parameter whose body is that parameter's
    element of a collection: ``#define irq_to_desc(irq) (&irq_desc[irq])``
    -> ("irq_desc", "."); ``(things[i])`` -> ("things", "->").  A name
    defined two ways has none."""
    out: dict[str, tuple[str, str]] = {}
    bad: set[str] = set()
    for raw in texts:
        if b"[" not in raw:
            continue
        for m in directives(_DEFINE, raw):
            body = re.sub(r"\s+", "", m.group(3).decode(errors="replace"))
            if not body or "[" not in body or body.endswith("\\"):
                continue
            while body.startswith("(") and body.endswith(")") and balanced_parens(body[1:-1]):
                body = body[1:-1]
            param = m.group(2).decode()
            got = None
            for pat, sep in ((_ADDR, "."), (_VALUE, "->")):
                mm = pat.fullmatch(body)
                if mm is not None and mm.group(2) == param and not re.search(
                        rf"\b{re.escape(param)}\b", mm.group(1)):
                    got = (mm.group(1), sep)
                    break
            name = m.group(1).decode()
            if got is None:
                continue
            if out.setdefault(name, got) != got:
                bad.add(name)
    return {n: v for n, v in out.items() if n not in bad}


@cache
def tree_elements(root: Path | None, arch: str | None) -> Mapping[str, tuple[str, str]]:
    """The element accessor macros of a tree's headers, once per process."""
    return element_macros(tree_texts(root, arch)) if root is not None else {}


def file_elements(root: Path | None, arch: str | None,
                  raw: bytes) -> Mapping[str, tuple[str, str]]:
    """What a C file sees: its tree's element accessors, and its own."""
    tree = tree_elements(root, arch)
    own = element_macros((raw,))
    return {**tree, **own} if own else tree


def element_locals(src: SourceFile, assigned: Mapping[str, list[Node | None]],
                   macros: Mapping[str, tuple[str, str]]) -> dict[str, Element]:
    """The locals assigned once, from one element of a collection."""
    out: dict[str, Element] = {}
    for v, rhss in assigned.items():
        if len(rhss) != 1 or rhss[0] is None:
            continue
        r = strip_casts(rhss[0])
        got: tuple[str, str, Node] | None = None
        if r.type == "call_expression":
            fn = r.child_by_field_id(fid.FUNCTION)
            args = r.child_by_field_id(fid.ARGUMENTS)
            m = macros.get(src.text(fn)) if fn is not None else None
            if m is not None and args is not None and args.named_child_count == 1:
                got = (m[0], m[1], args.named_children[0])
        elif r.type == "pointer_expression" and src.text(r).lstrip().startswith("&"):
            arg = r.child_by_field_id(fid.ARGUMENT)
            sub = strip_casts(arg) if arg is not None else None
            if sub is not None and sub.type == "subscript_expression":
                got = _subscript(src, sub, ".")
        elif r.type == "subscript_expression":
            got = _subscript(src, r, "->")
        if got is not None and re.fullmatch(_PATH, got[0]):
            out[v] = Element(got[0], got[1], squash(src.text(got[2])), rhss[0].start_byte)
    return out


def _subscript(src: SourceFile, s: Node, sep: str) -> tuple[str, str, Node] | None:
    arg, idx = s.child_by_field_id(fid.ARGUMENT), s.child_by_field_id(fid.INDEX)
    if arg is None or idx is None:
        return None
    return squash(src.text(arg)), sep, idx


_KEY_DIRECT = re.compile(rf"({_PATH})\[[^\[\]]+\]((?:->|\.).+)")
_KEY_LOCAL = re.compile(r"([A-Za-z_]\w*)->(.+)")


def element_form(key: str, elements: Mapping[str, Element]) -> str | None:
    """``C[*]`` and the rest of a key naming one element's lock (``C[E].f``,
    ``v->f`` of an element local v), else None."""
    if "[*]" in key or key.endswith("'"):
        return None
    m = _KEY_LOCAL.fullmatch(key)
    if m is not None and m.group(1) in elements:
        el = elements[m.group(1)]
        return f"{el.collection}[*]{el.sep}{m.group(2)}"
    m = _KEY_DIRECT.fullmatch(key)
    if m is not None:
        return f"{m.group(1)}[*]{m.group(2)}"
    return None


def is_every(e: Effect) -> bool:
    """A callee's take of every element's lock (its summary's)."""
    return e.action == "take" and "[*]" in e.key and e.origin is not None and EVERY in e.origin


def expand_takes(info: FunctionInfo) -> None:
    """Each callee's take of every element restated, at its call, as a take
    of each lock this function names that is one element's: what is held
    there is checked against it by name, as for any take."""
    every = [(i, a) for i, acts in enumerate(info.acts) for a in acts
             if isinstance(a, OpAct) and is_every(a.effect)]
    if not every:
        return
    named: dict[str, str] = {}  # key -> its element form
    for acts in info.acts:
        for a in acts:
            if isinstance(a, OpAct) and a.effect.action in ("acquire", "try", "release") and (
                    f := element_form(a.effect.key, info.elements)) is not None:
                named[a.effect.key] = f
    for i, a in every:
        extra = [OpAct(replace(a.effect, key=k), a.line, a.col)
                 for k, f in sorted(named.items()) if f == a.effect.key]
        if extra:
            at = info.acts[i].index(a) + 1
            info.acts[i][at:at] = extra


def restated(e: Effect, acts: Sequence[Act]) -> bool:
    """Is this take one expand_takes() made from a take of every element at
    the same node (its summary states the collective one)?"""
    if e.action != "take" or is_every(e) or e.origin is None or EVERY not in e.origin:
        return False
    return any(isinstance(a, OpAct) and is_every(a.effect) and a.effect.origin == e.origin
               for a in acts)


# --- the callee's loop -----------------------------------------------------

def every_element(src: SourceFile, cfg: Cfg, info: FunctionInfo, nid: int,
                  key: str) -> str | None:
    """The collective key (``C[*].f``) when the lock operation at ``nid``,
    of ``key`` as the function names it, takes each element's lock in turn
    over a loop through the whole collection (see the module's rules);
    else None."""
    ast = cfg.nodes[nid].ast
    loop = ast.parent if ast is not None else None
    while loop is not None:
        if loop.type == "for_statement" and (i := _loop_index(src, loop, info)) is not None:
            got = _stepped_key(src, cfg, info, nid, key, loop, i)
            if got is not None:
                key_, names = got
                if _excluding(src, cfg, info, nid, loop, i, key_, names):
                    return None
                return key_
        loop = loop.parent
    return None


_INIT = re.compile(r"(?:[\w\s]+\s)?([A-Za-z_]\w*)\s*=\s*0[uUlL]*\s*;?")
_STEP = re.compile(r"([A-Za-z_]\w*)\s*\+\+|\+\+\s*([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*\+=\s*1")


def _loop_index(src: SourceFile, loop: Node, info: FunctionInfo) -> str | None:
    """i of ``for ( i = 0; i < B; i++ )`` with B a bound the caller does
    not choose, i assigned nowhere in the body."""
    init, cond, upd = (loop.child_by_field_id(x)
                       for x in (fid.INITIALIZER, fid.CONDITION, fid.UPDATE))
    body = loop.child_by_field_id(fid.BODY)
    if init is None or cond is None or upd is None or body is None:
        return None
    m = _INIT.fullmatch(src.text(init).strip())
    s = _STEP.fullmatch(src.text(upd).strip())
    if m is None or s is None or m.group(1) != next(g for g in s.groups() if g):
        return None
    i = m.group(1)
    cond = strip_parens(cond)
    if cond.type != "binary_expression":
        return None
    op, left, right = (cond.child_by_field_id(fid.ID[x]) for x in ("operator", "left", "right"))
    if op is None or op.type != "<" or left is None or right is None or src.text(left) != i:
        return None
    bound = squash(src.text(right))
    names = set(re.findall(r"(?<![.>\w])[A-Za-z_]\w*", bound))
    if names & (info.locals - set(info.params)) or bound in info.params:
        return None
    if re.search(rf"(?:\b{i}\s*(?:[-+*/%|&^]|<<|>>)?=(?!=)|\b{i}\s*(?:\+\+|--)|"
                 rf"(?:\+\+|--)\s*{i}\b|&\s*{i}\b)", src.text(body)):
        return None
    return i


def _stepped_key(src: SourceFile, cfg: Cfg, info: FunctionInfo, nid: int, key: str,
                 loop: Node, i: str) -> tuple[str, set[str]] | None:
    """The collective key of ``key`` when its element is the loop index's,
    and the names the element goes by in the loop (element locals)."""
    body = loop.child_by_field_id(fid.BODY)
    assert body is not None
    mine = {v: el for v, el in info.elements.items() if el.subscript == i
            and body.start_byte <= el.at < body.end_byte
            and _dominates(cfg, el.at, nid, loop)}
    m = _KEY_LOCAL.fullmatch(key)
    if m is not None and m.group(1) in mine:
        el = mine[m.group(1)]
        return f"{el.collection}[*]{el.sep}{m.group(2)}", set(mine)
    if key.count("[*]") != 1:
        return None
    coll = key[:key.index("[*]")]
    ast = cfg.nodes[nid].ast
    text = squash(src.text(ast)) if ast is not None else ""
    if f"{coll}[{i}]" in text or any(
            el.collection == coll and re.search(rf"\b{re.escape(v)}->", text)
            for v, el in mine.items()):
        return key, set(mine)
    return None


def _loop_heads(cfg: Cfg, loop: Node) -> set[int]:
    """The nodes of the loop's condition and step."""
    out: set[int] = set()
    for fld in ("condition", "update"):
        x = loop.child_by_field_id(fid.ID[fld])
        if x is None:
            continue
        out |= {n.id for n in cfg.nodes if n.ast is not None
                and x.start_byte <= n.ast.start_byte and n.ast.end_byte <= x.end_byte}
    return out


def _before(cfg: Cfg, nid: int, stop: set[int]) -> tuple[set[int], bool]:
    """The nodes reaching ``nid`` within the iteration (walking back from it,
    not past ``stop``), and whether a stop node was reached."""
    preds = predecessors(cfg)
    seen, todo, hit = {nid}, [nid], False
    while todo:
        for p in preds.get(todo.pop(), ()):
            if p in stop:
                hit = True
            elif p not in seen:
                seen.add(p)
                todo.append(p)
    return seen, hit


def _dominates(cfg: Cfg, at: int, nid: int, loop: Node) -> bool:
    """Is the assignment at byte ``at`` on every path of the iteration to
    ``nid`` (the element is this round's)?"""
    holders = [n for n in cfg.nodes if n.ast is not None
               and n.ast.start_byte <= at < n.ast.end_byte]
    if not holders:
        return False
    node = min(holders, key=lambda n: n.ast.end_byte - n.ast.start_byte)  # type: ignore[union-attr]
    if node.id == nid:
        return True
    # Reached from the loop's head only through the assignment: back from
    # nid, every way to the head passes it.
    return not _reaches_avoiding(cfg, nid, _loop_heads(cfg, loop), node.id)


def assigned_this_round(cfg: Cfg, at: int, nid: int, loop: Node) -> bool:
    """_dominates(), for the dataflow's element locals (eachkeys.py)."""
    return _dominates(cfg, at, nid, loop)


def _reaches_avoiding(cfg: Cfg, nid: int, heads: set[int], avoid: int) -> bool:
    """Walking back from nid, is a loop head reached without ``avoid``?"""
    preds = predecessors(cfg)
    seen, todo = {nid}, [nid]
    while todo:
        for p in preds.get(todo.pop(), ()):
            if p in heads:
                return True
            if p != avoid and p not in seen:
                seen.add(p)
                todo.append(p)
    return False


def _excluding(src: SourceFile, cfg: Cfg, info: FunctionInfo, nid: int, loop: Node,
               i: str, key: str, names: set[str]) -> bool:
    """Does a test of the loop, on the way to the take or guarding a way out
    of the loop, relate the element or index to what a caller could choose?"""
    coll = key[:key.index("[*]")]
    heads = _loop_heads(cfg, loop)
    before, _ = _before(cfg, nid, heads)
    conds: list[tuple[Node, bool]] = []
    for x in before:
        n = cfg.nodes[x]
        if n.ast is not None and n.kind in (Kind.COND, Kind.SWITCH) and x not in heads \
                and any(y not in before for y in n.succ):
            conds.append((n.ast, n.kind is Kind.SWITCH))
    body = loop.child_by_field_id(fid.BODY)
    assert body is not None
    conds.extend(_exit_guards(body))
    return any(_relates(src, c, sw, names, i, coll, info) for c, sw in conds)


_LOOPS = ("for_statement", "while_statement", "do_statement")


def _exit_guards(body: Node) -> list[tuple[Node, bool]]:
    """The conditions guarding the loop's ways out (a break of its own, a
    return, a goto), inside its body."""
    out: list[tuple[Node, bool]] = []
    for n in walk(body):
        if n.type not in ("break_statement", "return_statement", "goto_statement"):
            continue
        guards: list[tuple[Node, bool]] = []
        own = True
        p = n.parent
        while p is not None and p != body:
            if n.type == "break_statement" and p.type in (*_LOOPS, "switch_statement"):
                own = False  # an inner loop's or switch's break
                break
            if p.type in ("if_statement", "switch_statement", *_LOOPS):
                c = p.child_by_field_id(fid.CONDITION)
                if c is not None:
                    guards.append((c, p.type == "switch_statement"))
            p = p.parent
        if own:
            out.extend(guards)
    return out


_COMPARE = frozenset(("==", "!=", "<", ">", "<=", ">="))
_CONST_NAME = re.compile(r"[A-Z_][A-Z0-9_]*|NULL|true|false")


def _relates(src: SourceFile, cond: Node, switch: bool, names: set[str], i: str, coll: str,
             info: FunctionInfo) -> bool:
    for n in walk(cond):
        occ = _occurrence(src, n, names, i, coll)
        if occ is None:
            continue
        if switch or not _plain_use(src, cond, n, occ, info):
            return True
    return False


def _occurrence(src: SourceFile, n: Node, names: set[str], i: str, coll: str) -> str | None:
    """"elem" where ``n`` is the element (a local of it, ``C[i]``), "index"
    where it is the index itself, else None."""
    if n.type == "identifier":
        t = src.text(n)
        if t in names:
            return "elem"
        if t == i:
            p = n.parent
            if p is not None and p.type == "subscript_expression" and \
                    p.child_by_field_id(fid.INDEX) == n and _is_coll(src, p, coll):
                return None  # C[i]: the subscript is the occurrence
            return "index"
        return None
    if n.type == "subscript_expression" and _is_coll(src, n, coll):
        idx = n.child_by_field_id(fid.INDEX)
        if idx is not None and squash(src.text(idx)) == i:
            return "elem-object"
    return None


def _is_coll(src: SourceFile, sub: Node, coll: str) -> bool:
    arg = sub.child_by_field_id(fid.ARGUMENT)
    return arg is not None and squash(src.text(arg)) == coll


def _plain_use(src: SourceFile, cond: Node, n: Node, occ: str, info: FunctionInfo) -> bool:
    """Is this use of the element or index one that picks out no element a
    caller could choose (its state against constants, a null test)?"""
    cur = n
    # "bare": the element (a pointer to it) or the index itself; "object":
    # the element's object (C[i], addressed by & to a bare pointer);
    # "state": something read from it.
    kind = {"elem": "bare", "index": "bare", "elem-object": "object"}[occ]
    index = occ == "index"
    while cur != cond:
        p = cur.parent
        if p is None:
            return False
        t = p.type
        if t in ("parenthesized_expression", "cast_expression"):
            cur = p
            continue
        if t == "field_expression" and p.child_by_field_id(fid.ARGUMENT) == cur:
            kind, cur = "state", p
            continue
        if t == "subscript_expression" and p.child_by_field_id(fid.ARGUMENT) == cur:
            kind, cur = "state", p
            continue
        if t == "pointer_expression":
            amp = src.text(p).lstrip().startswith("&")
            kind = "bare" if amp and kind == "object" else "state"
            cur = p
            continue
        if t == "unary_expression":
            neg = src.text(p).lstrip().startswith("!")
            if kind == "bare":
                return neg and not index  # a null test of the element's pointer
            cur, kind = p, "state"
            continue
        if t == "binary_expression":
            op = p.child_by_field_id(fid.OPERATOR)
            o = op.type if op is not None else ""
            if o in ("&&", "||"):
                return True
            left = p.child_by_field_id(fid.LEFT)
            other = p.child_by_field_id(fid.RIGHT) if left == cur else left
            if other is None:
                return False
            if o in _COMPARE:
                if kind == "bare":
                    return not index and o in ("==", "!=") and _null(src, other)
                return _constant(src, other, info)
            if kind == "bare" or not _constant(src, other, info):
                return False
            cur, kind = p, "state"
            continue
        if t == "argument_list":
            others = [a for a in p.named_children if a != cur]
            if any(not _constant(src, a, info) for a in others) or p.parent is None:
                return False
            cur, kind = p.parent, "state"
            continue
        return False
    # The condition itself: a truth test.
    return not (kind == "bare" and index)


def _null(src: SourceFile, e: Node) -> bool:
    return squash(src.text(strip_casts(e))) in ("NULL", "0")


def _constant(src: SourceFile, e: Node, info: FunctionInfo) -> bool:
    """A value no caller chooses: literals, upper-case names (macros,
    enumerators), sizeof, a global object's address, and arithmetic of
    these."""
    e = strip_casts(e)
    t = e.type
    if t in ("number_literal", "char_literal", "string_literal", "sizeof_expression",
             "true", "false", "null"):
        return True
    if t == "identifier":
        return _CONST_NAME.fullmatch(src.text(e)) is not None
    if t == "pointer_expression" and src.text(e).lstrip().startswith("&"):
        arg = e.child_by_field_id(fid.ARGUMENT)
        arg = strip_casts(arg) if arg is not None else None
        return arg is not None and arg.type == "identifier" and \
            src.text(arg) not in info.locals | set(info.params)
    if t == "unary_expression":
        arg = e.child_by_field_id(fid.ARGUMENT)
        return arg is not None and _constant(src, arg, info)
    if t == "binary_expression":
        a, b = e.child_by_field_id(fid.LEFT), e.child_by_field_id(fid.RIGHT)
        return a is not None and b is not None and _constant(src, a, info) and \
            _constant(src, b, info)
    return False
