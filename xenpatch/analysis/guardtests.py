"""Helpers that lock or unlock only past an early return (Summary.test).

Xen's ``vmx_vmcs_enter(v)`` returns at once when ``v == current`` and takes
``v``'s VMCS lock otherwise; ``vmx_vmcs_exit(v)`` returns at once on the
same test and drops the lock otherwise.  Neither is a lock on every path
nor a try-like helper whose result says what it did: what decides is a
test of its arguments (and of state no path between the two calls changes,
``current``), which the pair repeats.  Such a helper's summary carries the
test, ``!(${0} == current)``: its effects happen exactly when the test
holds.

At a call the test is bound to the call's arguments and becomes a fact of
the path (``TEST`` + its text): the take splits the path on it, and the
release (an ordinary release, whose ``when`` names the fact) is skipped
where the fact is false, so ``vmx_vmcs_enter(v); ...; vmx_vmcs_exit(v);``
releases on exactly the paths that took.  A release no take of the test
came before releases as an unlock helper always did (put_gfn() of a
domain its caller locked itself).  Where the
test was false, the path remembers that a take of the lock was skipped
(``UNTAKEN`` + the key): a release of it there that is not the pair's (an
unconditional unlock, a pair that tests something else) is nobody's
business to report, the lock's state being what the caller cannot know.

A function whose exits hold a lock exactly where such a fact says it was
taken passes the test on, in terms of its own parameters (facts_test()).

The test is read from the code, never from names: the helper's exits
without the lock must all be ``if ( C ) return ...;`` (the return alone in
the branch, no ``else``, only declarations and other such returns before
it) with one condition C, which names a parameter, no local and no
parameter the body assigns (hidden_names()), and has no side effect.
"""

from __future__ import annotations

from collections.abc import Iterable

from tree_sitter import Node

from xenpatch.analysis.events import TryAssignAct
from xenpatch.analysis.lockkeys import squash
from xenpatch.analysis.pathstate import State
from xenpatch.analysis.quietexits import quiet_exits
from xenpatch.analysis.templates import bind_inner, inner_template
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import NZ, ZERO
from xenpatch.c import fields as fid

TEST = "?test:"
UNTAKEN = "?untaken:"
_EFFECTS = frozenset(("assignment_expression", "update_expression", "comma_expression"))


def _return_statement(f: FunctionUnit, node: int) -> Node | None:
    """The ``return`` statement of a RETURN node (whose ast is what it
    returns, or None)."""
    assert f.cfg is not None
    n = f.cfg.node(node)
    if n.ast is not None:
        up = n.ast.parent
        return up if up is not None and up.type == "return_statement" else None
    if f.cfg.body is None:
        return None
    at = (n.line - 1, n.col - 1)
    hit = f.cfg.body.descendant_for_point_range(at, at)
    while hit is not None and hit.type != "return_statement":
        if hit.start_point != at:
            return None
        hit = hit.parent
    return hit


def _early_condition(f: FunctionUnit, node: int) -> Node | None:
    """The condition C of ``if ( C ) return ...;`` whose return is CFG
    node ``node``, or None."""
    assert f.cfg is not None
    ret = _return_statement(f, node)
    test = ret.parent if ret is not None else None
    if test is not None and test.type == "compound_statement":
        test = test.parent
    if test is None or test.type != "if_statement" or \
            test.child_by_field_id(fid.ALTERNATIVE) is not None:
        return None
    body = test.child_by_field_id(fid.CONSEQUENCE)
    alone = _alone_return(body) if body is not None else None
    if alone is None or ret is None or alone.id != ret.id or not _first(f, test):
        return None
    return test.child_by_field_id(fid.CONDITION)


def _first(f: FunctionUnit, test: Node) -> bool:
    """Is ``test`` a statement of the function's body that only
    declarations and other early returns precede?  Then what it tests is
    what the caller passed: nothing the function did has changed it yet
    (``*slot = lookup(...)`` before ``if ( *slot == NONE )`` has)."""
    assert f.cfg is not None
    body = f.cfg.body
    if body is None or test.parent is None or test.parent.id != body.id:
        return False
    for stmt in body.named_children:
        if stmt.id == test.id:
            return True
        if stmt.type in ("declaration", "comment"):
            continue
        if stmt.type != "if_statement" or stmt.child_by_field_id(fid.ALTERNATIVE) is not None:
            return False
        then = stmt.child_by_field_id(fid.CONSEQUENCE)
        if then is None or _alone_return(then) is None:
            return False
    return False


def _alone_return(stmt: Node) -> Node | None:
    """``return ...;`` or ``{ return ...; }``: the return statement."""
    if stmt.type == "return_statement":
        return stmt
    if stmt.type == "compound_statement":
        inner = [c for c in stmt.named_children if c.type != "comment"]
        if len(inner) == 1 and inner[0].type == "return_statement":
            return inner[0]
    return None


def _pure(e: Node) -> bool:
    todo = [e]
    while todo:
        n = todo.pop()
        if n.type in _EFFECTS:
            return False
        todo.extend(n.named_children)
    return True


def early_test(f: FunctionUnit, nodes: Iterable[int], hidden: frozenset[str]) -> str | None:
    """``!(C)`` in terms of f's parameters (``${i}``), when every RETURN
    node of ``nodes`` is the return of ``if ( C ) return ...;`` for one
    condition C that names none of ``hidden``; else None."""
    texts = set()
    for n in nodes:
        cond = _early_condition(f, n)
        if cond is None or not _pure(cond):
            return None
        while cond.type == "parenthesized_expression" and cond.named_child_count == 1:
            cond = cond.named_children[0]
        t = _of_params(f, squash(f.src.text(cond)), hidden)
        if t is None:
            return None
        texts.add(t)
    return "!(" + texts.pop() + ")" if len(texts) == 1 else None


def _of_params(f: FunctionUnit, text: str, hidden: frozenset[str]) -> str | None:
    """``text`` in terms of f's parameters (``${i}``), when it names one and
    none of ``hidden`` (a test of globals alone is no argument's: its
    callers cannot repeat it, efi_rs_enter()'s "no EFI page tables")."""
    assert f.info is not None
    t = inner_template(text, f.info, hidden)
    return t if t is not None and "${" in t else None


def hidden_names(f: FunctionUnit) -> frozenset[str]:
    """What no caller's argument stands for in f: its locals, and the
    parameters it assigns, increments or takes the address of (read from
    the tree: ``&v->lock`` leaves ``v`` as it was)."""
    assert f.info is not None
    params = set(f.info.params)
    changed: set[str] = set()
    todo = [f.node]
    while todo:
        n = todo.pop()
        target = None
        if n.type == "assignment_expression":
            target = n.child_by_field_id(fid.LEFT)
        elif n.type == "update_expression" or _address_of(f, n):
            target = n.child_by_field_id(fid.ARGUMENT)
        while target is not None and target.type == "parenthesized_expression" and \
                target.named_child_count == 1:
            target = target.named_children[0]
        if target is not None and target.type == "identifier":
            changed.add(f.src.text(target))
        todo.extend(n.named_children)
    return frozenset((f.info.locals - params) | (changed & params))


def _address_of(f: FunctionUnit, n: Node) -> bool:
    op = n.child_by_field_id(fid.OPERATOR) if n.type == "pointer_expression" else None
    return op is not None and f.src.text(op) == "&"


def bind(test: str, args: list[str]) -> str | None:
    """A summary's test at a call: the fact its path keeps; None if the
    call lacks an argument the test names."""
    bound = bind_inner(test, args)
    return None if bound is None else TEST + bound


def split(s: State, took: State | None, act: TryAssignAct, path_sensitive: bool) -> list[State]:
    """The states after a tested call (``act``) in ``s``: ``took``, the
    state its effects leave (None: the path deadlocked there), where the
    test holds, ``s`` where it does not (saying which takes it skipped).
    A path that knows the test goes its one way."""
    fact = act.var
    skipped = s
    for e in act.resolved.effects:
        if e.action == "acquire" and s.get(e.key) is None:
            skipped = skipped.with_fact(UNTAKEN + e.key, fact)
    known = s.fact(fact) if path_sensitive else None
    if known is None:
        if not path_sensitive:
            return [skipped] if took is None else [took, skipped]
        out = [skipped.with_fact(fact, ZERO)]
        return out if took is None else [took.with_fact(fact, NZ), *out]
    if known == ZERO:
        return [skipped]
    return [] if took is None else [took]


def facts_test(f: FunctionUnit, held: list[State], free: list[State],
               hidden: frozenset[str]) -> str | None:
    """A bound test every state of ``held`` knows true and every one of
    ``free`` false, in terms of f's parameters: a function that calls an
    acquire of that kind and returns holding its lock is one too."""
    if not held or not free:
        return None
    cands = {k for k, v in held[0].facts if k.startswith(TEST) and v != ZERO}
    for k in sorted(cands):
        if all(s.fact(k) not in (None, ZERO) for s in held) and \
                all(s.fact(k) == ZERO for s in free):
            t = _of_params(f, k[len(TEST):], hidden)
            if t is not None:
                return t
    return None


def exit_test(f: FunctionUnit, exits: list[tuple[int, State, State]], held: list[State],
               free: list[State], partial: set[str]) -> str | None:
    """The test past whose early returns f returns holding ``partial``
    (``exits``, of them ``held`` and ``free``), or None: read from the
    returns without them, or from the test of a helper of that kind whose
    take they follow."""
    hidden = hidden_names(f)
    free_nodes = {n for n, a, _ in exits if all(a.get(k) is None for k in partial)}
    early = None
    if free_nodes <= quiet_exits(f) and not any(
            n in free_nodes for n, a, _ in exits if any(a.get(k) is not None for k in partial)):
        # Returns no lock operation reaches (a test of a trylock's result
        # is the try's business), none reached holding the lock too.
        early = early_test(f, free_nodes, hidden)
    return early or facts_test(f, held, free, hidden)
