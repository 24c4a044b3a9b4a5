"""Branches a function runs once in the system's life: a lazy set-up.

``if ( !pool ) pool_init();`` where ``pool`` is a file-scope static the
branch sets (itself, or through a function of the same file it calls)
and the file never sets back to NULL: once the first call has been
through, every later call skips it.  Locks taken there are taken once, in
the first caller's context (at boot, on Xen's allocator: tlsf_init()'s
pool_list_lock under ``_xmalloc()``'s ``if ( !xenpool )``), and say
nothing of the state any other caller takes them in: XL017's records of a
function's takes leave them out (irqtakes.function_takes()).

Read from the file's text, not from names: the variable's static
declaration at file scope, its assignments, the branch's condition.
"""

from __future__ import annotations

import re
from collections import deque

from tree_sitter import Node

from xenpatch.analysis.functions import strip_parens
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.source import SourceFile, function_name, functions, walk

_NULL = frozenset({"NULL", "0"})
_IDENTITY = frozenset({"likely", "unlikely"})


def once_nodes(src: SourceFile, cfg: Cfg) -> frozenset[int]:
    """The nodes of ``cfg`` that only a once-run branch reaches (module doc)."""
    key = ("once nodes", id(cfg))
    got = src.derived.get(key)
    if got is None or got[0] is not cfg:
        got = src.derived[key] = (cfg, _once_nodes(src, cfg))
    found: frozenset[int] = got[1]
    return found


def _once_nodes(src: SourceFile, cfg: Cfg) -> frozenset[int]:
    out: set[int] = set()
    for node in cfg.nodes:
        if node.kind is not Kind.COND or node.ast is None or len(node.succ) != 2:
            continue
        tested = null_test(src, node.ast)
        if tested is None:
            continue
        var, edge = tested
        if not _lazy_static(src, var):
            continue
        region = _all_nodes(cfg) - _reach_without(cfg, node.id, edge)
        if region and _sets(src, cfg, region, var):
            out |= region
    return frozenset(out)


def null_test(src: SourceFile, cond: Node) -> tuple[str, int] | None:
    """(G, the successor taken when G is NULL) of a test ``!G``, ``G``,
    ``G == NULL`` or ``G != NULL`` of a plain name."""
    c = _unwrapped(cond)
    if c.type == "identifier":
        return src.text(c), 1
    if c.type == "unary_expression":
        op = c.child_by_field_id(fid.OPERATOR)
        arg = c.child_by_field_id(fid.ARGUMENT)
        if op is not None and op.type == "!" and arg is not None:
            arg = _unwrapped(arg)
            if arg.type == "identifier":
                return src.text(arg), 0
        return None
    if c.type == "binary_expression":
        op = c.child_by_field_id(fid.OPERATOR)
        left, right = c.child_by_field_id(fid.LEFT), c.child_by_field_id(fid.RIGHT)
        if op is None or op.type not in ("==", "!=") or left is None or right is None:
            return None
        left, right = _unwrapped(left), _unwrapped(right)
        if src.text(left) in _NULL:
            left, right = right, left
        if left.type == "identifier" and src.text(right) in _NULL:
            return src.text(left), 0 if op.type == "==" else 1
    return None


def _unwrapped(n: Node) -> Node:
    n = strip_parens(n)
    while n.type == "call_expression":
        fn = n.child_by_field_id(fid.FUNCTION)
        args = n.child_by_field_id(fid.ARGUMENTS)
        if fn is None or args is None or fn.type != "identifier" or \
                fn.text is None or fn.text.decode() not in _IDENTITY or args.named_child_count != 1:
            break
        n = strip_parens(args.named_children[0])
    return n


def _lazy_static(src: SourceFile, var: str) -> bool:
    """Is ``var`` a file-scope static pointer that the file assigns, never
    NULL?  (Static: no other file writes it.)"""
    key = ("lazy static", var)
    got = src.derived.get(key)
    if got is None:
        got = src.derived[key] = _scan_static(src, var)
    return bool(got)


def _scan_static(src: SourceFile, var: str) -> bool:
    v = re.escape(var).encode()
    raw = src.raw
    if re.search(rb"(?m)^static\b[^;(=]*\*\s*" + v + rb"\s*;", raw) is None:
        return False
    stores = re.findall(rb"(?<![\w.>])" + v + rb"\s*=(?!=)\s*([^;]*);", raw)
    return bool(stores) and not any(s.strip() in (b"NULL", b"0") for s in stores)


def _all_nodes(cfg: Cfg) -> set[int]:
    return _reach_without(cfg, -1, 0)


def _reach_without(cfg: Cfg, cond: int, edge: int) -> set[int]:
    """Nodes reachable from the entry without taking ``cond``'s successor
    ``edge``."""
    seen = {cfg.entry}
    todo = deque([cfg.entry])
    while todo:
        n = todo.popleft()
        for i, s in enumerate(cfg.nodes[n].succ):
            if (n == cond and i == edge) or s in seen:
                continue
            seen.add(s)
            todo.append(s)
    return seen


def _sets(src: SourceFile, cfg: Cfg, region: set[int], var: str) -> bool:
    """Does the region assign ``var``, itself or in a function of the file
    it calls (one level: a set-up helper)?"""
    store = re.compile(rf"(?<![\w.>]){re.escape(var)}\s*=(?!=)")
    called: set[str] = set()
    for n in region:
        ast = cfg.nodes[n].ast
        if ast is None:
            continue
        if store.search(src.text(ast)):
            return True
        called.update(src.text(f) for c in walk(ast) if c.type == "call_expression"
                      and (f := c.child_by_field_id(fid.FUNCTION)) is not None
                      and f.type == "identifier")
    if not called:
        return False
    return any(function_name(src, fn) in called and store.search(src.text(fn))
               for fn in functions(src.root))
