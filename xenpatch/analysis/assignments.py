"""What an assignment does, read from its syntax: the variable a call's
result goes to (through a chained assignment or one arm of a ``?:``), the
bound a value is compared with, a pointer stored into a struct, an update
of a flag word (``|=``), and the assignment's action for the flag and
value tracking (AssignAct).  fill_actions() (actions.py) asks at each
node; nothing here follows a path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from tree_sitter import Node

from xenpatch.analysis import values
from xenpatch.analysis.conditions import (
    assigned_exact,
    int_literal,
)
from xenpatch.analysis.events import (
    Act,
    AssignAct,
    KillCondAct,
    RenameAct,
    UpdateAct,
)
from xenpatch.analysis.functions import (
    FunctionInfo,
    declarator_name,
    is_path,
    out_param,
    required,
    strip_parens,
    tracked_name,
)
from xenpatch.analysis.lockkeys import squash
from xenpatch.analysis.values import strip_casts, value_class
from xenpatch.c import fields as fid
from xenpatch.c.source import SourceFile


def target_var(src: SourceFile, n: Node) -> str | None:
    if n.type == "init_declarator":
        return declarator_name(src, n.child_by_field_id(fid.DECLARATOR))
    field_ = "left" if n.type == "assignment_expression" else "argument"
    t = n.child_by_field_id(fid.ID[field_])
    if t is None:
        return None
    t = strip_parens(t)
    return src.text(t) if t.type == "identifier" else None


def assigned_lvalue(src: SourceFile, call: Node) -> str | None:
    """Where ``call``'s result is stored: ``v``, ``*lock``, ``p->l``."""
    p = call.parent
    while p is not None and p.type == "parenthesized_expression":
        p = p.parent
    if p is not None and p.type == "assignment_expression":
        left = p.child_by_field_id(fid.LEFT)
        op = p.child_by_field_id(fid.OPERATOR)
        if left is not None and op is not None and op.type == "=" and is_path(left):
            return squash(src.text(left))
    return assigned_var(src, call)


def assigned_var(src: SourceFile, call: Node) -> str | None:
    """``v = call(...)`` or ``int v = call(...)``: the variable v."""
    p = call.parent
    while p is not None and p.type == "parenthesized_expression":
        p = p.parent
    if p is None:
        return None
    if p.type == "assignment_expression":
        left = strip_parens(required(p, "left"))
        op = p.child_by_field_id(fid.OPERATOR)
        if op is None or op.type != "=":
            return None
        if left.type == "identifier":
            return src.text(left)
        # "*rc = lock_target(id, &d)": a status left in the caller's
        # variable, tested there as "*rc" (tracked for a pointer parameter).
        return out_param(src, left)
    if p.type == "init_declarator":
        return declarator_name(src, p.child_by_field_id(fid.DECLARATOR))
    return None


def arm_of(call: Node) -> tuple[int, bool] | None:
    """The ?: whose arm ``call`` is (through parentheses), by its start,
    and which arm: True for the one taken when the condition holds."""
    arm, p = call, call.parent
    while p is not None and p.type == "parenthesized_expression":
        arm, p = p, p.parent
    if p is None or p.type != "conditional_expression":
        return None
    if arm == p.child_by_field_id(fid.CONSEQUENCE):
        return p.start_byte, True
    if arm == p.child_by_field_id(fid.ALTERNATIVE):
        return p.start_byte, False
    return None


def assigned_from_arm(src: SourceFile, call: Node) -> str | None:
    """``v = c ? call(...) : other``: the variable v."""
    p = call.parent
    while p is not None and p.type == "parenthesized_expression":
        p = p.parent
    if p is None or p.type != "conditional_expression":
        return None
    cond = p.child_by_field_id(fid.CONDITION)
    if cond is None or cond.start_byte <= call.start_byte < cond.end_byte:
        return None
    top = p
    while top.parent is not None and top.parent.type == "parenthesized_expression":
        top = top.parent
    return assigned_var(src, top)


def _bound_of(src: SourceFile, rhs: Node | None, bounds: Iterable[str]) -> str | None:
    """The "x<F" test of ``bounds`` whose x is ``rhs``."""
    if rhs is None:
        return None
    x = squash(src.text(strip_parens(rhs)))
    return next((t for t in sorted(bounds) if t.rpartition("<")[0] == x), None)


def stored_pointer(src: SourceFile, n: Node, info: FunctionInfo,
                   ) -> tuple[str, bool, str] | None:
    """``obj->field = v`` (or into a global, or ``*out = v`` of a pointer
    parameter): (v, a local or parameter, kept where the function's end
    does not reach; whether v is itself assigned there, ``obj->field = v =
    take()``; where it is kept, ``obj->field`` squashed); None for any
    other assignment (into a local, of an expression)."""
    if n.type != "assignment_expression":
        return None
    op = n.child_by_field_id(fid.OPERATOR)
    left, right = n.child_by_field_id(fid.LEFT), n.child_by_field_id(fid.RIGHT)
    if op is None or op.type != "=" or left is None or right is None:
        return None
    right = strip_casts(right)
    chained = False
    while _plain_assignment(right) and (v := right.child_by_field_id(fid.LEFT)):
        # "obj->f = v = take()" stores v as "v = take(); obj->f = v" does:
        # an assignment's value is what its left side holds then.
        right = strip_casts(v)
        chained = True
    if right.type != "identifier":
        return None
    var = src.text(right)
    if var not in info.locals and var not in info.params:
        return None
    lhs = squash(src.text(strip_parens(left)))
    if (o := out_param(src, strip_parens(left))) is not None and o[1:] in info.params:
        # "*out = v": handed to the caller through its out-parameter, as a
        # returned pointer is (a lookup handing back the domain it locked).
        return var, chained, lhs
    head = re.match(r"[A-Za-z_]\w*", lhs)
    # A parameter is a local of the function too: "keep = d" keeps d here.
    if head is None or ("->" not in lhs and (
            head.group(0) in info.locals or head.group(0) in info.params)):
        return None
    return var, chained, lhs


def _plain_assignment(n: Node) -> bool:
    op = n.child_by_field_id(fid.OPERATOR) if n.type == "assignment_expression" else None
    return op is not None and op.type == "="


# v op= K: the operator of each compound assignment the values follow.
_UPDATES = {"|=": "|", "&=": "&", "^=": "^", "+=": "+", "-=": "-"}


def _raw_update(src: SourceFile, n: Node) -> tuple[str, int] | None:
    if n.type == "update_expression":
        step = next((c.type for c in n.children if c.type in ("++", "--")), None)
        return None if step is None else ("+" if step == "++" else "-", 1)
    if n.type == "assignment_expression":
        op = n.child_by_field_id(fid.OPERATOR)
        sym = _UPDATES.get(op.type) if op is not None else None
        k = int_literal(src, n.child_by_field_id(fid.RIGHT))
        return None if sym is None or k is None else (sym, k)
    return None


def _update(src: SourceFile, n: Node) -> tuple[str, int] | None:
    """``v |= K``, ``v += K``, ``v++``, ``--v``: (operator, K) with K an
    integer literal; None for anything else."""
    got = _raw_update(src, n)
    # A count in a loop takes a new value each round: every round a state
    # of its own, the states' facts then dropped for the budget.  Or-ing
    # and and-ing constants settles after one round.
    if got is not None and got[0] in ("+", "-", "^") and _in_loop(n):
        return None
    return got


_LOOPS = frozenset({"for_statement", "while_statement", "do_statement"})


def _step(src: SourceFile, n: Node) -> int | None:
    """What ``v++``, ``--v``, ``v += K`` or ``v -= K`` adds to v, in a loop
    or not (analysis/counters.py counts its first rounds); None otherwise."""
    got = _raw_update(src, n)
    if got is None or got[0] not in ("+", "-"):
        return None
    return got[1] if got[0] == "+" else -got[1]


def _in_loop(n: Node) -> bool:
    p = n.parent
    while p is not None and p.type != "function_definition":
        if p.type in _LOOPS:
            return True
        p = p.parent
    return False


def assign_act(
    src: SourceFile, n: Node, info: FunctionInfo, repeated_ids: Mapping[str, frozenset[str]],
    conds_naming: Callable[[str], tuple[str, ...]], fv: values.FileValues,
) -> list[Act] | None:
    if n.type == "init_declarator":
        var = declarator_name(src, n.child_by_field_id(fid.DECLARATOR))
        rhs = n.child_by_field_id(fid.VALUE)
    elif n.type == "assignment_expression":
        left = strip_parens(required(n, "left"))
        var = src.text(left) if left.type == "identifier" else (
            tracked_name(src, left, info.tracked))
        op = n.child_by_field_id(fid.OPERATOR)
        rhs = n.child_by_field_id(fid.RIGHT) if op is not None and op.type == "=" else None
        if var is None:
            # p->flag = x: a repeated condition reading p->flag is stale
            # (but not one comparing the pointer p itself).
            if not repeated_ids:
                return None
            lhs = squash(src.text(left))
            texts = tuple(t for t in repeated_ids if lhs in t)
            if not texts:
                return None
            # Before the test's fact goes: a lock named through the path
            # takes the name the test found equal (RenameAct).
            named = [RenameAct(lhs)] if any(
                lhs in t.split("==") for t in texts if t in info.var_equalities) else []
            return [*named, KillCondAct(texts)]
    else:
        arg = strip_parens(required(n, "argument"))
        var = src.text(arg) if arg.type == "identifier" else None
        rhs = None
    if var is None:
        return None
    acts: list[Act] = []
    update = _update(src, n) if var in info.tracked else None
    if update is not None:
        acts.append(UpdateAct(var, *update))
    elif var in info.tracked:
        acts.append(AssignAct(var, value_class(src, rhs, fv.consts) or values.origin(
            src, rhs, fv, info.locals | set(info.params)),
            assigned_exact(src, rhs, var, info.sentinels, fv.exacts),
            _bound_of(src, rhs, info.bounds.get(var, ()))))
    if "*" + var in info.tracked:
        # p = other: *p is another object now.
        acts.append(AssignAct("*" + var, None))
    texts = conds_naming(var)
    if texts:
        # Only the function's own variables hold a literal until it assigns
        # them again: a global may be written by any call.
        own = var in info.locals or var in info.params
        k = int_literal(src, rhs) if own else None
        acts.append(KillCondAct(texts, var=var, exact=None if k is None else str(k),
                                step=_step(src, n) if own else None))
    if rhs is not None and strip_parens(rhs).type == "identifier":
        # old_q = q: now "old_q == q" holds.
        lo, hi = sorted((var, src.text(strip_parens(rhs))))
        if f"{lo}=={hi}" in repeated_ids:
            acts.append(KillCondAct((f"{lo}=={hi}",), value="T"))
    return acts or None


def dropped(call: Node) -> bool:
    """Is ``call`` a statement of its own, its result dropped (through
    parentheses and a ``(void)`` cast)?"""
    p = call.parent
    while p is not None and p.type in ("parenthesized_expression", "cast_expression"):
        p = p.parent
    return p is not None and p.type == "expression_statement"
