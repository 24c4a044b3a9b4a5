"""Branch conditions: which tests of a variable the dataflow can decide
(``v``, ``!v``, ``v < 0``, ``IS_ERR(v)``), which conditions repeat and so
are correlated along a path (``if ( x )`` twice, a ``switch`` and a later
``if`` on the same value, a counted loop's exit and a later test of its
counter, pointer comparisons whose origins decide them), and which of
those are worth tracking at all (keep_lock_guards).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Container, Mapping
from dataclasses import replace

from tree_sitter import Node

from xenpatch.analysis import counters, values
from xenpatch.analysis.events import (
    Act,
    AssignAct,
    Branch,
    DerefAct,
    IrqAct,
    KillCondAct,
    OpAct,
    RebindAct,
    TryAssignAct,
    UpdateAct,
)
from xenpatch.analysis.functions import (
    FunctionInfo,
    is_path,
    out_param,
    required,
    strip_parens,
    tracked_name,
)
from xenpatch.analysis.lockkeys import arms_condition, holder, ids_of_text, key_vars, squash
from xenpatch.analysis.values import ZERO, VarTest, value_class
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind, call_args, call_name
from xenpatch.c.source import SourceFile


def _named(src: SourceFile, e: Node) -> str | None:
    """A variable a test names: ``v``, or ``*p`` of a pointer parameter
    (functions.out_param(), tracked only for those)."""
    return src.text(e) if e.type == "identifier" else out_param(src, e)


def _var_of(e: Node) -> Node:
    """``(v = f(x))`` tests v; so do ``(op->rd = v = f(x))`` and ``(w = v =
    f(x))``, whose value is v's: the innermost variable of a chain of plain
    assignments, the one f()'s result is known in (a try's act is on it)."""
    e = strip_parens(e)
    var: Node | None = None
    while e.type == "assignment_expression":
        op = e.child_by_field_id(fid.OPERATOR)
        left = e.child_by_field_id(fid.LEFT)
        if left is not None and strip_parens(left).type == "identifier":
            var = strip_parens(left)
        right = e.child_by_field_id(fid.RIGHT)
        if op is None or op.type != "=" or right is None or \
                strip_parens(right).type != "assignment_expression":
            break
        e = strip_parens(right)
    return var if var is not None else e


def var_test(src: SourceFile, c: Node, tracked: set[str],
             consts: Mapping[str, str] | None = None,
             eqs: frozenset[str] = frozenset(),
             tests: frozenset[str] = frozenset()) -> VarTest | None:
    c = _var_of(c)
    v = tracked_name(src, c, tracked) if c.type == "field_expression" else None
    if v is not None:
        return VarTest(v, "truthy")
    if (v := _named(src, c)) is not None and v in tracked:
        return VarTest(v, "truthy")
    if c.type == "binary_expression":
        op = c.child_by_field_id(fid.OPERATOR)
        left = _var_of(required(c, "left"))
        right = _var_of(required(c, "right"))
        if _named(src, left) not in tracked:
            left, right = right, left
        v = _named(src, left)
        if v is None or v not in tracked:
            return None
        rc = value_class(src, right, consts)
        optype = op.type if op is not None else ""
        if rc == ZERO and optype == "==":
            return VarTest(v, "eqzero")
        if rc == ZERO and optype == "!=":
            return VarTest(v, "truthy")
        if rc == ZERO and optype == "<" and left == _var_of(required(c, "left")):
            return VarTest(v, "lt0")
        k = int_literal(src, right)
        if k is not None and k != 0 and optype == "&":
            # flags & LOCKED_A: a flag word set from constants (v |= K).
            return VarTest(v, "bitand", k)
        if k is not None and k != 0 and optype in ("==", "!="):
            # locked == 1: a flag set from constants, compared with one.
            return VarTest(v, "eqk" if optype == "==" else "nek", k)
    if c.type == "call_expression" and eqs and call_name(src, c) in eqs:
        # mfn_eq(v, INVALID_MFN): v is its type's constant, the "zero" of
        # a boxed value (typesafe.py).
        sides = [strip_parens(a) for a in call_args(c)]
        if len(sides) == 2:
            for one, other in (sides, sides[::-1]):
                name = tracked_name(src, one, tracked)
                if name is not None and value_class(src, other, consts) == ZERO:
                    return VarTest(name, "eqzero")
    if c.type == "call_expression" and tests and (fn := call_name(src, c)) in tests:
        # is_system_domain(d): a set's test ([[values.sets]]).
        args = call_args(c)
        if len(args) == 1 and strip_parens(args[0]).type == "identifier":
            v = src.text(strip_parens(args[0]))
            if v in tracked:
                return VarTest(v, "member", test=fn)
    if c.type == "call_expression" and call_name(src, c) in ("IS_ERR", "IS_ERR_OR_NULL"):
        args = call_args(c)
        if len(args) == 1 and strip_parens(args[0]).type == "identifier":
            v = src.text(strip_parens(args[0]))
            if v in tracked:
                return VarTest(v, "iserr" if call_name(src, c) == "IS_ERR" else "iserrnull")
    return None


_NAMED = re.compile(r"[A-Z][A-Z0-9_]*")


def named_constant(src: SourceFile, e: Node | None) -> str | None:
    """``DOMID_INVALID``: an upper-case name, Xen's spelling of a constant
    macro."""
    if e is None:
        return None
    e = strip_parens(e)
    t = src.text(e) if e.type == "identifier" else ""
    return t if _NAMED.fullmatch(t) else None


def sentinels(src: SourceFile, assigned: Mapping[str, list[Node | None]]) -> set[str]:
    """``v==NAME`` for each local assigned a named constant (``domid_t dom
    = DOMID_INVALID;``), as sentinel_test() names it."""
    return {f"{v}=={k}" for v, rhss in assigned.items() for r in rhss
            if (k := named_constant(src, r)) is not None}


def sentinel_test(src: SourceFile, c: Node, facts: Container[str],
                  floors: Mapping[str, frozenset[str]] | None = None,
                  exacts: Mapping[str, int | str] | None = None,
                  tracked: set[str] | None = None) -> VarTest | None:
    """``v == NAME`` / ``v != NAME``: of a local assigned NAME somewhere
    (``facts``, sentinels()), or of a tracked v (a local, a parameter, *p
    of a pointer parameter) and a macro whose body is an integer literal
    (``exacts``, values.exact_macros()): decided where v's last value is
    known.  NAME is its value when it has one, so that two names of one
    literal are one constant; else only the same name is known equal."""
    c = strip_parens(c)
    if c.type != "binary_expression":
        return None
    op = c.child_by_field_id(fid.OPERATOR)
    if op is None or op.type not in ("==", "!="):
        return None
    left, right = strip_parens(required(c, "left")), strip_parens(required(c, "right"))
    for v, k in ((left, right), (right, left)):
        name = src.text(k) if k.type == "identifier" else None
        if name is None:
            continue
        var = src.text(v) if v.type == "identifier" else None
        assigned = var is not None and named_constant(src, k) is not None and \
            f"{var}=={name}" in facts
        if not assigned:
            if exacts is None or name not in exacts or tracked is None:
                continue
            var = tracked_name(src, v, tracked)
            if var is None:
                continue
        assert var is not None
        return VarTest(var, "eqk" if op.type == "==" else "nek",
                       exacts.get(name, name) if exacts else name,
                       floors=(floors or {}).get(name, frozenset()), assigned=assigned)
    return None


def exact_of(src: SourceFile, e: Node | None,
             exacts: Mapping[str, int | str]) -> int | str | None:
    """The exact value of an integer literal or of a literal macro
    (``exacts``, values.exact_macros()), else None."""
    k = int_literal(src, e)
    if k is not None or e is None:
        return k
    e = strip_parens(e)
    return exacts.get(src.text(e)) if e.type == "identifier" else None


def assigned_exact(src: SourceFile, rhs: Node | None, var: str, facts: Container[str],
                   exacts: Mapping[str, int | str]) -> int | str | None:
    """The exact value ``v = rhs`` gives v, as sentinel_test() compares it:
    a literal's or a literal macro's (exact_of()), or the name of a
    constant v is compared with (``facts``)."""
    k = exact_of(src, rhs, exacts)
    if k is not None or rhs is None:
        return k
    named = named_constant(src, rhs)
    return named if named is not None and f"{var}=={named}" in facts else None


def sentinel_bounds(src: SourceFile, sources: Mapping[str, list[Node]], facts: set[str],
                    floors: Mapping[str, frozenset[str]],
                    orders: Container[str]) -> dict[str, frozenset[str]]:
    """Per sentinel v (``sources``: what v is assigned), the order tests
    ``x<F`` of the function (``orders``) with x a path v is assigned and F
    a bound of a constant v is compared with (``facts``, sentinels())."""
    out: dict[str, set[str]] = {}
    for v, rhss in sources.items():
        fs = {f for t in facts if t.startswith(v + "==") for f in floors.get(t[len(v) + 2:], ())}
        for r in rhss:
            if not fs or named_constant(src, r) is not None or not is_path(strip_parens(r)):
                continue
            x = squash(src.text(strip_parens(r)))
            out.setdefault(v, set()).update(t for f in fs if (t := f"{x}<{f}") in orders)
    return {v: frozenset(b) for v, b in out.items() if b}


def int_literal(src: SourceFile, e: Node | None) -> int | None:
    """The value of an integer literal (or its negation), else None."""
    if e is None:
        return None
    e = strip_parens(e)
    neg = False
    if e.type == "unary_expression":
        op = e.child_by_field_id(fid.OPERATOR)
        arg = e.child_by_field_id(fid.ARGUMENT)
        if op is None or op.type != "-" or arg is None:
            return None
        neg, e = True, strip_parens(arg)
    if e.type != "number_literal":
        return None
    t = src.text(e).rstrip("uUlL")
    try:
        v = int(t, 16) if t[:2] in ("0x", "0X") else int(t, 8 if t.startswith("0") else 10)
    except ValueError:
        return None
    return -v if neg else v


def strict_order_fact(src: SourceFile, c: Node) -> str | None:
    """``a < b`` or ``a > b``: the equality fact (as canon_cond names it) it rules out."""
    c = strip_parens(c)
    op = c.child_by_field_id(fid.OPERATOR) if c.type == "binary_expression" else None
    if op is None or op.type not in ("<", ">"):
        return None
    lo, hi = sorted((squash(src.text(required(c, "left"))),
                     squash(src.text(required(c, "right")))))
    return f"{lo}=={hi}"


def order_cond(src: SourceFile, c: Node) -> tuple[str, str, bool] | None:
    """``a < b``, ``a > b``, ``a <= b``, ``a >= b`` of two access paths as
    the fact ``x<y`` (x, y and whether the condition is its negation):
    ``a > b`` is ``b<a``, ``a >= b`` is not ``a<b``.  ``x<y`` and ``y<x``
    exclude each other, which the dataflow uses (Branch.excludes)."""
    c = strip_parens(c)
    op = c.child_by_field_id(fid.OPERATOR) if c.type == "binary_expression" else None
    if op is None or op.type not in ("<", ">", "<=", ">="):
        return None
    left, right = required(c, "left"), required(c, "right")
    if not (is_path(left) or left.type == "number_literal") or not (
            is_path(right) or right.type == "number_literal"):
        return None
    a, b = squash(src.text(left)), squash(src.text(right))
    if op.type in (">", "<="):
        a, b = b, a
    return a, b, op.type in ("<=", ">=")


def canon_cond(src: SourceFile, c: Node) -> tuple[str, bool]:
    """A condition as a fact name: ``q == old_q``, ``old_q==q`` and
    ``q != old_q`` (negated) are one fact."""
    c = strip_parens(c)
    if c.type == "binary_expression":
        op = c.child_by_field_id(fid.OPERATOR)
        if op is not None and op.type in ("==", "!="):
            a = squash(src.text(required(c, "left")))
            b = squash(src.text(required(c, "right")))
            lo, hi = sorted((a, b))
            return f"{lo}=={hi}", op.type == "!="
    return squash(src.text(c)), False


def counted_exit(src: SourceFile, c: Node) -> str | None:
    """``v < K`` of a for loop stepping v by one: the fact ``v == K``."""
    c = strip_parens(c)
    p = c.parent
    if c.type != "binary_expression" or p is None or p.type != "for_statement":
        return None
    op = c.child_by_field_id(fid.OPERATOR)
    left, right = c.child_by_field_id(fid.LEFT), c.child_by_field_id(fid.RIGHT)
    upd = p.child_by_field_id(fid.UPDATE)
    if op is None or op.type != "<" or left is None or right is None or upd is None:
        return None
    v = src.text(left)
    if left.type != "identifier" or squash(src.text(upd)) not in (v + "++", "++" + v):
        return None
    if right.type != "number_literal" and not (right.type == "identifier"
                                                and src.text(right).isupper()):
        return None
    lo, hi = sorted((v, squash(src.text(right))))
    return f"{lo}=={hi}"


GUARDED = ("if_statement", "while_statement", "for_statement", "do_statement",
            "conditional_expression")


def in_if(ast: Node) -> bool:
    """Is this condition an if's (not a loop's, whose value changes)?"""
    st = ast.parent
    while st is not None and st.type not in GUARDED:
        st = st.parent
    return st is not None and st.type == "if_statement"


def pointer_tests(
    src: SourceFile, cfg: Cfg, info: FunctionInfo, fv: values.FileValues
) -> dict[str, tuple[str, str]]:
    """``a == b`` / ``a != b`` conditions of ifs where each side is a
    variable that may be tracked or a constant address, and at least one is
    a variable: fact text -> the two sides."""
    out: dict[str, tuple[str, str]] = {}
    for node in cfg.nodes:
        if node.kind is not Kind.COND or node.ast is None:
            continue
        c = strip_parens(node.ast)
        if c.type != "binary_expression" or not in_if(node.ast):
            continue
        op = c.child_by_field_id(fid.OPERATOR)
        if op is None or op.type not in ("==", "!="):
            continue
        sides = []
        for side in (required(c, "left"), required(c, "right")):
            e = strip_parens(side)
            v = tracked_name(src, e, info.tracked) or values.constant_origin(src, e, fv) or \
                values.fixed_value(src, e, fv, info.locals | set(info.params))
            sides.append(v)
        a, b = sides
        if a is None or b is None or (values.constant_side(a) and values.constant_side(b)):
            continue
        out[canon_cond(src, c)[0]] = (a, b)
    return out


def flag_vars(src: SourceFile, cfg: Cfg, info: FunctionInfo) -> set[str]:
    """Variables tested by some condition or switched on: only these are
    worth tracking."""
    found: set[str] = {v for v in (switched(src, cfg, nid) for nid in cfg.case_values)
                       if v is not None and v in info.tracked}
    for node in cfg.nodes:
        if node.kind is Kind.COND and node.ast is not None:
            vt = var_test(src, node.ast, info.tracked, info.consts, info.eqs,
                          info.value_rules.tests) or sentinel_test(
                src, node.ast, info.sentinels, info.value_rules.floors, info.exacts, info.tracked)
            if vt is not None:
                found.add(vt.var)
    return found


def switched(src: SourceFile, cfg: Cfg, nid: int) -> str | None:
    """The variable ``switch ( v )`` at node ``nid`` switches on, if a name."""
    ast = cfg.nodes[nid].ast
    e = strip_parens(ast) if ast is not None else None
    return src.text(e) if e is not None and e.type == "identifier" else None


def loop_vars(src: SourceFile, cfg: Cfg) -> set[str]:
    """Variables a for loop steps (its update clause)."""
    out: set[str] = set()
    seen: set[int] = set()
    for node in cfg.nodes:
        ast = node.ast
        p = ast.parent if ast is not None else None
        if p is not None and p.type == "for_statement" and p.id not in seen:
            seen.add(p.id)
            upd = p.child_by_field_id(fid.UPDATE)
            if upd is not None:
                out.update(ids_of_text(src.text(upd)))
    return out


def keep_lock_guards(src: SourceFile, cfg: Cfg, info: FunctionInfo) -> None:
    """Forget flag tracking that cannot matter: path-sensitivity pays only
    for conditions that guard a lock operation (``if ( locked ) unlock``)
    or test a trylock's result.  Tracking every flag blows up the states."""
    op_starts = sorted(
        cfg.nodes[i].ast.start_byte  # type: ignore[union-attr]
        for i, acts in enumerate(info.acts)
        # IRQ moves too: "if ( !fast ) local_irq_save(f)" ... "if ( !fast )
        # local_irq_restore(f)" restores only what it saved.  Not a callee's
        # take: it changes nothing held, and what is held where it runs is
        # decided by the guards of the takes and releases themselves (a
        # call of a helper that locks inside is no reason to track the
        # flags around it: hvm_hap_nested_page_fault()'s states tripled).
        if acts and cfg.nodes[i].ast is not None and any(
            isinstance(a, (TryAssignAct, IrqAct)) or (
                isinstance(a, OpAct) and a.effect.action != "take") for a in acts)
    )
    # A take on its argument's say (``when``) needs that argument's value.
    when_vars = {
        w for acts in info.acts for a in acts
        if isinstance(a, OpAct) and a.effect.action == "take" and a.effect.when
        and (w := a.effect.when.lstrip("!").strip()).isidentifier()
    }
    try_vars = {
        a.var for acts in info.acts for a in acts if isinstance(a, TryAssignAct) and a.var
    } | {  # what a try-like helper left in &v tells its outcome as well
        v for acts in info.acts for a in acts if isinstance(a, TryAssignAct)
        for v, _, _ in a.resolved.outs
    } | {v for b in info.branches if b is not None and b.try_op is not None
         for v, _, _ in b.try_op.outs}
    heads: set[str] = set()
    arm_vars: set[str] = set()  # c of a lock named (c ? a : b)->lock
    # v of a lock *v taken here (an RCU domain reference): a held one says
    # v is not NULL, so "if ( !v ) return" after the take is decided by
    # what is held (Engine._holds_through), even if it guards nothing; so
    # may v's origin decide "if ( v == dom_xen ) return" (values.same()).
    pointers: set[str] = set()
    for acts in info.acts:
        for a in acts:
            effs = (a.effect,) if isinstance(a, OpAct) else (
                a.resolved.effects if isinstance(a, TryAssignAct) else ())
            for e in effs:
                if e.action == "take":
                    continue
                heads.update(key_vars(e.key))
                if (c := arms_condition(e.key)) is not None:
                    arm_vars.add(c)
                if e.action not in ("acquire", "try"):
                    continue
                if e.key.startswith("*") and e.key[1:].isidentifier():
                    pointers.add(e.key[1:])
                elif (v := holder(e.key)) is not None and e.key.startswith(v + "->"):
                    # p->lock taken: p was dereferenced, so a later "if ( !p )"
                    # is decided by the lock held through it as well.
                    pointers.add(v)

    def guards(ast: Node) -> bool:
        st = ast.parent
        while st is not None and st.type not in GUARDED:
            st = st.parent
        if st is None:
            return False
        lo = bisect.bisect_left(op_starts, st.start_byte)
        return lo < len(op_starts) and op_starts[lo] < st.end_byte

    def sets_pointer(ast: Node) -> bool:
        """Does the if ``ast`` tests assign a variable a lock *v is taken
        through ("if ( op->domain == DOMID_INVALID ) { d = dom_xen; break;
        }" before a lookup that locks *d): a repeated test of the same
        condition decides what d is, and so whether its lock is held."""
        st = ast.parent
        while st is not None and st.type in ("parenthesized_expression", "condition_clause"):
            st = st.parent
        if st is None or st.type != "if_statement":
            return False
        todo = [c for c in st.named_children if c.start_byte >= ast.end_byte]
        while todo:
            n = todo.pop()
            if n.type == "assignment_expression":
                left = strip_parens(required(n, "left"))
                if left.type == "identifier" and src.text(left) in pointers:
                    return True
            todo.extend(n.named_children)
        return False

    keep_vars: set[str] = set(try_vars) | arm_vars
    null_vars: set[str] = set()
    keep_texts: set[str] = {b.on_false for b in info.branches if b is not None and b.on_false}
    # x<F tests that bound what a sentinel is assigned (sentinel_bounds()).
    keep_texts |= {t for b in info.bounds.values() for t in b}
    # a == b of two variables a lock is reached through (equalities.py).
    keep_texts |= {t for t in info.var_equalities if not heads.isdisjoint(t.split("=="))}
    for nid, edges in info.switch_facts.items():
        # A switch whose cases lock or unlock: its labels' facts matter.
        ast = cfg.nodes[nid].ast
        st = ast.parent if ast is not None else None
        if st is not None and st.type == "switch_statement":
            lo = bisect.bisect_left(op_starts, st.start_byte)
            if lo < len(op_starts) and op_starts[lo] < st.end_byte:
                keep_texts.update(t for e in edges for t, _ in e)
    for nid, (v, _) in info.switch_vars.items():
        # A switch on a flag whose cases lock or unlock: its value matters.
        ast = cfg.nodes[nid].ast
        st = ast.parent if ast is not None else None
        while st is not None and st.type != "switch_statement":
            st = st.parent
        if st is not None:
            lo = bisect.bisect_left(op_starts, st.start_byte)
            if lo < len(op_starts) and op_starts[lo] < st.end_byte:
                keep_vars.add(v)
    # What a helper leaves in *p for its caller (summaries.out_facts).
    out_vars = {v for v in info.tracked if v.startswith("*")}
    for i, br in enumerate(info.branches):
        if br is None or br.try_op is not None:
            continue
        ast = cfg.nodes[i].ast
        if br.var_test is not None and br.var_test.var in out_vars:
            continue
        if ast is not None and br.var_test is not None and br.var_test.var in info.params \
                and early_return(ast):
            # "if ( !d ) return;": what a helper does with a NULL argument.
            null_vars.add(br.var_test.var)
            continue
        if ast is None or not (guards(ast) or (
                br.var_test is not None and br.var_test.var in pointers) or (
                br.eq is not None and not pointers.isdisjoint(br.eq)) or (
                # A sentinel's test: whichever way it goes, it may skip a
                # lock operation further on (a break past an unlock).
                br.var_test is not None and br.var_test.assigned) or (
                br.text is not None and pointers and sets_pointer(ast))):
            continue
        if br.var_test is not None:
            keep_vars.add(br.var_test.var)
        if br.counted is not None:
            keep_texts.add(br.counted)
        if br.bound_test is not None:
            keep_texts.add(counters.binding_text(br.bound_test[0]))
        if br.text is not None:
            keep_texts.add(br.text)
            if br.eq is not None:
                keep_vars.update(v for v in br.eq if not values.constant_side(v))
    info.when_only = when_vars - keep_vars
    keep_vars |= when_vars
    info.guard_vars = set(keep_vars)
    keep_vars |= null_vars | out_vars
    for i, br in enumerate(info.branches):
        if br is None or br.try_op is not None:
            continue
        if br.counted is not None and br.counted not in keep_texts:
            br = info.branches[i] = replace(br, counted=None, negated=False)
            if br == Branch():
                info.branches[i] = None
                continue
        if br.var_test is not None and br.var_test.var not in keep_vars:
            info.branches[i] = None
        elif br.text is not None and br.text not in keep_texts:
            # A value test keeps its value; only the text goes.
            info.branches[i] = None if br.var_test is None else \
                replace(br, text=None, negated=False)
    for i, acts in enumerate(info.acts):
        if not acts:
            continue
        new: list[Act] = []
        for a in acts:
            if isinstance(a, (AssignAct, UpdateAct, DerefAct)) and a.var not in keep_vars:
                continue
            if isinstance(a, RebindAct) and a.var not in heads:
                continue
            if isinstance(a, KillCondAct):
                texts = tuple(t for t in a.texts if t in keep_texts)
                if not texts:
                    continue
                a = replace(a, texts=texts)
            new.append(a)
        info.acts[i] = new
    info.tracked = keep_vars
    info.switch_vars = {n: sv for n, sv in info.switch_vars.items() if sv[0] in keep_vars}
    for nid, edges in list(info.switch_facts.items()):
        kept = [tuple(kv for kv in e if kv[0] in keep_texts) for e in edges]
        if any(kept):
            info.switch_facts[nid] = kept
        else:
            del info.switch_facts[nid]


def early_return(ast: Node) -> bool:
    """Is ``ast`` the condition of an ``if`` whose branch only returns?"""
    st = ast.parent
    while st is not None and st.type in ("parenthesized_expression", "unary_expression",
                                         "binary_expression", "call_expression",
                                         "argument_list", "condition_clause"):
        st = st.parent
    if st is None or st.type != "if_statement":
        return False
    body = st.child_by_field_id(fid.CONSEQUENCE)
    while body is not None and body.type == "compound_statement" and body.named_child_count == 1:
        body = body.named_children[0]
    return body is not None and body.type == "return_statement"


# Between a dereference and its statement: the access may not happen.
_MAYBE_EVALUATED = frozenset({"conditional_expression", "sizeof_expression", "pointer_expression",
                              "alignof_expression", "offsetof_expression",
                              "macro_type_specifier"})


def deref_var(src: SourceFile, n: Node, top: Node,
              among: Container[str] | None = None) -> str | None:
    """``v`` of a field access ``v->f`` that is evaluated whenever ``top``
    is: not under ``&``, ``sizeof``, ``?:`` or one side of ``&&``/``||``.
    ``among``: the only names wanted (the others are None before the walk
    up the tree)."""
    op = n.child_by_field_id(fid.OPERATOR)
    arg = n.child_by_field_id(fid.ARGUMENT)
    if op is None or op.type != "->" or arg is None or arg.type != "identifier":
        return None
    if among is not None and src.text(arg) not in among:
        return None
    p = n.parent
    while p is not None and p != top:
        if p.type in _MAYBE_EVALUATED:
            return None
        if p.type == "binary_expression":
            o = p.child_by_field_id(fid.OPERATOR)
            if o is not None and o.type in ("&&", "||"):
                return None
        p = p.parent
    if p is None:
        return None
    return src.text(arg)


def tested_call(src: SourceFile, c: Node, consts: Mapping[str, str],
                exacts: Mapping[str, int | str] | None = None
                ) -> tuple[Node | None, bool, str | None]:
    """The call a condition tests: ``f()``, ``f() != 0`` (as is), ``f() ==
    OK`` with OK a zero constant (flipped); and ``f() != K`` / ``f() == K``
    (flipped) with K a literal or a literal macro (``exacts``), which says
    f's outcome only if f's success is "!K" (the third item)."""
    if c.type == "call_expression":
        return c, False, None
    if c.type != "binary_expression":
        return None, False, None
    op = c.child_by_field_id(fid.OPERATOR)
    left, right = c.child_by_field_id(fid.LEFT), c.child_by_field_id(fid.RIGHT)
    if op is None or op.type not in ("==", "!=") or left is None or right is None:
        return None, False, None
    left, right = _stored_call(strip_parens(left)), _stored_call(strip_parens(right))
    if left.type != "call_expression":
        left, right = right, left
    if left.type != "call_expression":
        return None, False, None
    if value_class(src, right, consts) == ZERO:
        return left, op.type == "==", None
    k = exact_of(src, right, exacts) if exacts is not None else None
    if k is None:
        return None, False, None
    return left, op.type == "==", values.NOT + str(k)


def _stored_call(e: Node) -> Node:
    """The call of ``(*d = f(x)) == NULL``, whose result goes to an
    out-parameter or a field and is tested at once; ``e`` itself otherwise
    (``(v = f(x))`` into a variable is a test of v: var_test)."""
    if e.type != "assignment_expression":
        return e
    left, right = e.child_by_field_id(fid.LEFT), e.child_by_field_id(fid.RIGHT)
    op = e.child_by_field_id(fid.OPERATOR)
    if left is None or right is None or op is None or op.type != "=" or \
            strip_parens(left).type == "identifier":
        return e
    right = strip_parens(right)
    return right if right.type == "call_expression" else e


def asserted_nonnull(src: SourceFile, call: Node, name: str | None, info: FunctionInfo,
                     fv: values.FileValues) -> str | None:
    """The variable ``ASSERT(v)`` or ``ASSERT(v != NULL)`` says is not NULL
    (not zero): past it, a path where v is NULL does not go on, as past a
    dereference of v, whatever a lookup that may fail returned.  (BUG_ON()
    is a branch of the CFG already.)"""
    args = call_args(call)
    if name != "ASSERT" or len(args) != 1:
        return None
    vt = var_test(src, strip_parens(args[0]), info.locals | set(info.params), fv.consts, fv.eqs)
    return vt.var if vt is not None and vt.op == "truthy" and vt.k is None else None
