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

from tree_sitter import Node

from xenpatch.analysis.functions import strip_parens
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.source import SourceFile, function_name, functions, walk
from xenpatch.graphs import reachable

_NULL = frozenset({"NULL", "0"})


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
    every: set[int] | None = None
    for node in cfg.nodes:
        if node.kind is not Kind.COND or node.ast is None or len(node.succ) != 2:
            continue
        tested = null_test(src, node.ast)
        if tested is None:
            continue
        var, edge = tested
        if not _lazy_static(src, var):
            continue
        if every is None:
            every = _reach_without(cfg, -1, 0)
        region = every - _reach_without(cfg, node.id, edge)
        if region and _sets(src, cfg, region, var):
            out |= region
    return frozenset(out)


def null_test(src: SourceFile, cond: Node) -> tuple[str, int] | None:
    """(G, the successor taken when G is NULL) of a COND node's test ``G``,
    ``G == NULL`` or ``G != NULL`` of a plain name.  (The CFG has taken off
    the condition's parentheses, branch hints and ``!``, swapping the
    edges for the last: ``if ( unlikely(!G) )`` is a test ``G``.)"""
    if cond.type == "identifier":
        return src.text(cond), 1
    if cond.type != "binary_expression":
        return None
    op = cond.child_by_field_id(fid.OPERATOR)
    left, right = cond.child_by_field_id(fid.LEFT), cond.child_by_field_id(fid.RIGHT)
    if op is None or op.type not in ("==", "!=") or left is None or right is None:
        return None
    left, right = strip_parens(left), strip_parens(right)
    if src.text(left) in _NULL:
        left, right = right, left
    if left.type == "identifier" and src.text(right) in _NULL:
        return src.text(left), 0 if op.type == "==" else 1
    return None


def _lazy_static(src: SourceFile, var: str) -> bool:
    """Is ``var`` a file-scope static pointer that the file assigns, never
    NULL?  (Static: no other file writes it.)"""
    key = ("lazy static", var)
    got = src.derived.get(key)
    if got is None:
        got = src.derived[key] = _scan_static(src, var)
    return bool(got)


# A file-scope static pointer's declaration: the name before the first
# ";" after "static" (no "(" nor "=" before it) follows a "*".
_STATIC_POINTER = re.compile(rb"(?m)^static\b[^;(=]*\*\s*(\w+)\s*;")


def _static_pointers(src: SourceFile) -> frozenset[str]:
    """The names _STATIC_POINTER declares in the file: one scan of its text
    for every variable asked (a scan per variable was 0.3 s of 4.17's run)."""
    key = ("static pointers",)
    got = src.derived.get(key)
    if got is None:
        got = src.derived[key] = frozenset(
            m.group(1).decode() for m in _STATIC_POINTER.finditer(src.raw))
    found: frozenset[str] = got
    return found


def _scan_static(src: SourceFile, var: str) -> bool:
    v = re.escape(var).encode()
    raw = src.raw
    if var not in _static_pointers(src):
        return False
    stores = re.findall(rb"(?<![\w.>])" + v + rb"\s*=(?!=)\s*([^;]*);", raw)
    return bool(stores) and not any(s.strip() in (b"NULL", b"0") for s in stores)


def _reach_without(cfg: Cfg, cond: int, edge: int) -> set[int]:
    """Nodes reachable from the entry without taking ``cond``'s successor
    ``edge``."""
    return reachable([cfg.entry], lambda n: [s for i, s in enumerate(cfg.nodes[n].succ)
                                             if n != cond or i != edge])


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
