"""A counter's test against a literal, read from the C (``i-- > 0``):
what analysis/counters.py decides where the counter holds a literal."""

from __future__ import annotations

from tree_sitter import Node

from xenpatch.analysis.conditions import int_literal
from xenpatch.analysis.functions import required, strip_parens
from xenpatch.c import fields as fid
from xenpatch.c.source import SourceFile

_ORDER_OPS = frozenset({"<", "<=", ">", ">=", "==", "!="})


def literal_test(src: SourceFile, c: Node) -> tuple[str, str, int, int] | None:
    """``v op K``, ``v-- op K``, ``--v op K`` or ``v--`` (``!= 0``), v a
    variable and K an integer literal: (v, op, K, what a post increment or
    decrement adds to v after the test reads it); None otherwise."""
    c = strip_parens(c)
    if c.type == "binary_expression":
        op = c.child_by_field_id(fid.OPERATOR)
        k = int_literal(src, c.child_by_field_id(fid.RIGHT))
        if op is None or op.type not in _ORDER_OPS or k is None:
            return None
        left = strip_parens(required(c, "left"))
        opname = op.type
    elif c.type == "update_expression":
        left, opname, k = c, "!=", 0
    else:
        return None
    post = 0
    if left.type == "update_expression":
        arg = left.child_by_field_id(fid.ARGUMENT)
        step = next((x.type for x in left.children if x.type in ("++", "--")), None)
        if arg is None or step is None:
            return None
        if left.children[0].type not in ("++", "--"):
            post = 1 if step == "++" else -1  # v++ / v--: the test reads v first
        left = strip_parens(arg)
    if left.type != "identifier":
        return None
    return src.text(left), opname, k, post
