"""The calls under each node of a function's CFG, found through the body's
node index (built once per function: functions.collect) rather than a walk
of every node's subtree; the checks that look at call sites (XL015, XL018)
read them from here."""

from __future__ import annotations

from collections.abc import Container, Iterator

from tree_sitter import Node

from xenpatch.analysis.functions import INDEXED
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import CfgNode, Kind, call_name
from xenpatch.c.source import walk


def node_calls(f: FunctionUnit, nodes: Container[int] | None = None
               ) -> Iterator[tuple[CfgNode, Node, str]]:
    """(CFG node, call, callee name) of each named call of f's nodes (those
    ``nodes`` lists, if given), f's calls of itself left out."""
    assert f.cfg is not None
    body = f.cfg.body
    index = f.src.node_index(body, INDEXED) if body is not None else None
    for node in f.cfg.nodes:
        if node.ast is None or node.kind in (Kind.ENTRY, Kind.EXIT) or (
                nodes is not None and node.id not in nodes):
            continue
        ast = node.ast
        inside = body is not None and body.start_byte <= ast.start_byte and \
            ast.end_byte <= body.end_byte
        for call in (n for n in (index.under(ast) if index is not None and inside
                                 else walk(ast)) if n.type == "call_expression"):
            name = call_name(f.src, call)
            if name is not None and name != f.name:
                yield node, call, name
