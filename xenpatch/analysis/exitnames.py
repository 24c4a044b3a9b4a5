"""The name a caller can give a lock its callee returns holding through a
local, when the way out of the callee proves that local equal to an
expression of its parameters.

A "retry until stable" helper takes the lock a field points at, then
checks the field still points there, and leaves only when it does:

    for ( ; ; )
    {
        l = q_of(it)->lock;
        spin_lock(l);
        if ( l == q_of(it)->lock )
            break;                       /* the only way out */
        spin_unlock(l);
    }

At its exit it holds ``*l``, a name no caller can see; but every path to
the exit comes from the ``==`` test's true edge with nothing run between
(no statement, only joins), so ``l`` and ``q_of(it)->lock`` are still
equal there, and the lock held is ``*(q_of(it)->lock)``: the lock its
twin ``spin_unlock(q_of(it)->lock)`` releases, in the parameters' terms.

Nothing run between means neither side changed: no assignment to the
local, nor to anything the expression reads.  A path that reaches the exit
any other way (a second break, a statement after the test) proves nothing,
and the name stays the local's (summaries.py makes such a lock unknown to
the callers, never nothing).
"""

from __future__ import annotations

from tree_sitter import Node

from xenpatch.analysis.functions import required, strip_parens, unhinted
from xenpatch.analysis.lockkeys import KEY_HEAD, ids_of_text, lock_key, squash
from xenpatch.analysis.pathstate import State
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Kind, predecessors
from xenpatch.c.source import SourceFile


def _equal_side(src: SourceFile, cond: Node, var: str, equal_edge_true: bool) -> str | None:
    """The other side of ``var == E`` (or ``E == var``) when the edge taken
    is the one on which the two are equal (true for ``==``, false for
    ``!=``); None otherwise.  E must not read ``var`` itself."""
    c = unhinted(src, cond)
    if c.type != "binary_expression":
        return None
    op = c.child_by_field_id(fid.OPERATOR)
    if op is None or op.type not in ("==", "!=") or (op.type == "==") != equal_edge_true:
        return None
    left, right = (strip_parens(required(c, f)) for f in ("left", "right"))
    for a, b in ((left, right), (right, left)):
        if a.type == "identifier" and src.text(a) == var:
            other = squash(src.text(b))
            return None if var in ids_of_text(other) else other
    return None


def _acts(e: Node) -> bool:
    """May evaluating ``e`` change anything (a call, an assignment)?"""
    todo = [e]
    while todo:
        n = todo.pop()
        if n.type in ("call_expression", "assignment_expression", "update_expression"):
            return True
        todo.extend(n.named_children)
    return False


def _proof(f: FunctionUnit, exit_id: int, var: str, preds: dict[int, list[int]]) -> str | None:
    """The expression ``var`` equals at the exit ``exit_id``: the exit is
    reached only from the equal edge of one test of ``var``, through joins
    (a break, a loop's end) and nothing else.  None if not."""
    assert f.cfg is not None
    nodes = f.cfg.nodes
    ret = nodes[exit_id].ast
    if ret is not None and _acts(ret):
        return None  # what it returns may change either side
    cur, seen = exit_id, {exit_id}
    while True:
        ps = preds.get(cur, [])
        if len(ps) != 1:
            return None
        p = ps[0]
        node = nodes[p]
        if node.kind is Kind.NOP and p not in seen:
            seen.add(p)
            cur = p
            continue
        if node.kind is not Kind.COND or node.ast is None or len(node.succ) != 2 or \
                node.succ[0] == node.succ[1]:
            return None
        return _equal_side(f.src, node.ast, var, node.succ[0] == cur)


def proven_key(f: FunctionUnit, exits: list[tuple[int, State, State]], key: str) -> str | None:
    """``key`` (a lock reached through a local: ``*l``, ``l->lock``) named
    by the expression every exit holding it proves the local equal to;
    None when some exit holding it proves nothing or they differ."""
    assert f.cfg is not None and f.info is not None
    m = KEY_HEAD.match(key)
    if m is None or m.group(2) not in f.info.locals or m.group(2) in f.info.params:
        return None
    var, rest = m.group(2), key[m.end():]
    if not m.group(1) and not rest.startswith("->"):
        return None
    if m.group(1) and rest:
        return None
    preds = predecessors(f.cfg)
    names = {_proof(f, n, var, preds) for n, after, _ in exits if after.get(key) is not None}
    if len(names) != 1:
        return None
    e = names.pop()
    if e is None:
        return None
    return lock_key(e) if m.group(1) else lock_key("&(" + e + ")" + rest)
