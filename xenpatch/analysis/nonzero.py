"""Returns of a local that every path proves non-zero: ``return rc;``
reached only through ``if ( rc ) goto fail;`` (or ``rc != 0``, ``rc < 0``,
``!rc`` false, ``rc = -EINVAL``) with no assignment to ``rc`` since.

The dataflow keeps a local's value only where the local guards a lock
operation; an error path's ``if ( rc ) goto fail1;`` guards none (the
label's unlock is reached by a jump), so at ``fail1: spin_unlock(...);
return rc;`` nothing says what rc is, and a helper that drops its caller's
lock only there looks as if it dropped it on every outcome.  This is the
fact its summary lacks (summaries.ret_class()): a must-analysis over the
CFG, per returned local, "non-zero on every path here".

A local whose address the function takes may change in any call: never
proven.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from tree_sitter import Node

from xenpatch.analysis.conditions import int_literal
from xenpatch.analysis.functions import required, strip_parens, unhinted
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import NEG, NZ, POS, value_class
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Kind
from xenpatch.c.source import SourceFile

# The edge on which "x OP 0" (or "0 OP x") shows x non-zero: True, False.
_NZ_EDGE = {"!=": True, "<": True, ">": True, "==": False, "<=": False, ">=": False}

# The last functions asked (a summary asks of one function's exits at a
# time): their CFG, and its proven returns.
_CACHE: OrderedDict[int, tuple[object, frozenset[int]]] = OrderedDict()
_CACHE_SIZE = 32


def _is_var(src: SourceFile, e: Node, var: str) -> bool:
    """``var``, or ``(var = ...)`` whose value is var's new one."""
    e = strip_parens(e)
    if e.type == "assignment_expression":
        op = e.child_by_field_id(fid.OPERATOR)
        if op is None or op.type != "=":
            return False
        e = strip_parens(required(e, "left"))
    return e.type == "identifier" and src.text(e) == var


def _nz_edge(src: SourceFile, cond: Node, var: str) -> bool | None:
    """The edge (True: the condition's true side) on which the test
    ``cond`` shows ``var`` non-zero; None if it is no such test."""
    c = unhinted(src, cond)
    flip = False
    while c.type == "unary_expression":
        op = c.child_by_field_id(fid.OPERATOR)
        arg = c.child_by_field_id(fid.ARGUMENT)
        if op is None or op.type != "!" or arg is None:
            return None
        flip, c = not flip, unhinted(src, arg)
    if _is_var(src, c, var):
        return not flip
    if c.type != "binary_expression":
        return None
    op = c.child_by_field_id(fid.OPERATOR)
    edge = _NZ_EDGE.get(op.type if op is not None else "")
    if edge is None:
        return None
    left, right = required(c, "left"), required(c, "right")
    if not any(_is_var(src, a, var) and int_literal(src, b) == 0
               for a, b in ((left, right), (right, left))):
        return None
    return edge != flip


def _assigned(f: FunctionUnit, ast: Node, var: str) -> bool | None:
    """Does evaluating ``ast`` assign ``var``: None if not, True if to a
    value known non-zero (``rc = -EINVAL``), False otherwise."""
    assert f.info is not None
    src, got = f.src, None
    todo = [ast]
    while todo:
        n = todo.pop()
        todo.extend(n.named_children)
        if n.type in ("assignment_expression", "init_declarator"):
            left = n.child_by_field_id(fid.LEFT if n.type == "assignment_expression"
                                       else fid.DECLARATOR)
            if left is None or not _is_var(src, left, var):
                continue
            op = n.child_by_field_id(fid.OPERATOR)
            rhs = n.child_by_field_id(fid.RIGHT if n.type == "assignment_expression"
                                      else fid.VALUE)
            plain = n.type == "init_declarator" or (op is not None and op.type == "=")
            nz = plain and rhs is not None and value_class(src, rhs, f.info.consts) in (
                NZ, NEG, POS)
            got = nz if got is None else (got and nz)
        elif n.type == "update_expression":
            arg = n.child_by_field_id(fid.ARGUMENT)
            if arg is not None and _is_var(src, arg, var):
                got = False
    return got


def _proven(f: FunctionUnit, var: str) -> set[int]:
    """The CFG nodes at whose start ``var`` is non-zero on every path."""
    assert f.cfg is not None
    cfg = f.cfg
    state: dict[int, bool] = {cfg.entry: False}
    todo = [cfg.entry]
    while todo:
        i = todo.pop()
        node = cfg.nodes[i]
        now = state[i]
        edges: list[bool] = [now] * len(node.succ)
        if node.ast is not None:
            a = _assigned(f, node.ast, var)
            if a is not None:
                now = a
                edges = [now] * len(node.succ)
            if node.kind is Kind.COND and len(node.succ) == 2 and node.succ[0] != node.succ[1]:
                e = _nz_edge(f.src, node.ast, var)
                if e is not None:
                    edges = [True, now] if e else [now, True]
        for s, v in zip(node.succ, edges, strict=True):
            old = state.get(s)
            new = v if old is None else (old and v)
            if old != new:
                state[s] = new
                todo.append(s)
    return {i for i, v in state.items() if v}


def nonzero_returns(f: FunctionUnit) -> frozenset[int]:
    """The RETURN nodes returning a local (``return rc;``) that every path
    to them proves non-zero."""
    assert f.cfg is not None and f.info is not None
    cfg = f.cfg
    hit = _CACHE.get(id(cfg))
    if hit is not None and hit[0] is cfg:
        _CACHE.move_to_end(id(cfg))
        return hit[1]
    returned: dict[str, list[int]] = {}
    for node in cfg.nodes:
        if node.kind is Kind.RETURN and node.ast is not None:
            e = strip_parens(node.ast)
            v = f.src.text(e) if e.type == "identifier" else None
            if v is not None and v in f.info.locals and v not in f.info.params:
                returned.setdefault(v, []).append(node.id)
    body = f.src.text(cfg.body) if cfg.body is not None else ""
    out: set[int] = set()
    for v, rets in returned.items():
        if re.search(rf"&\s*{re.escape(v)}\b(?!\s*(?:->|\.|\[))", body):
            continue  # a call may write it
        proven = _proven(f, v)
        out.update(r for r in rets if r in proven)
    got = frozenset(out)
    _CACHE[id(cfg)] = (cfg, got)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return got
