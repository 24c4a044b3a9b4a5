"""What every CFG node of a function does: its lock operations (the
table's, wrappers', and helpers' through their summaries, via the
resolver), flag assignments, rebinding of lock-holding variables, and the
facts its condition teaches.  Computed once per function (fill_actions).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from typing import Any

from tree_sitter import Node

from xenpatch.analysis import irqstate, values
from xenpatch.analysis.assignments import (
    arm_of,
    assign_act,
    assigned_from_arm,
    assigned_lvalue,
    assigned_var,
    dropped,
    stored_pointer,
    target_var,
)
from xenpatch.analysis.collective import expand_takes
from xenpatch.analysis.condarms import Arm, Tried, paired_arms, signature
from xenpatch.analysis.conditions import (
    asserted_nonnull,
    deref_var,
    in_if,
    keep_lock_guards,
    sentinel_test,
    strict_order_fact,
    tested_call,
    var_test,
)
from xenpatch.analysis.eachkeys import percpu_each
from xenpatch.analysis.events import (
    Act,
    AssignAct,
    Branch,
    DerefAct,
    FreeAct,
    IrqAct,
    KillCondAct,
    OpAct,
    RebindAct,
    Resolved,
    Resolver,
    StoreAct,
    TryAssignAct,
)
from xenpatch.analysis.functions import (
    INDEXED,
    FunctionInfo,
    fresh_copy,
    strip_parens,
)
from xenpatch.analysis.lockkeys import alias_args, apply_aliases, holder, squash
from xenpatch.analysis.locktable import DISCARDED, Effect
from xenpatch.analysis.pathmacros import head_expanded
from xenpatch.analysis.prelude import Prelude, prelude
from xenpatch.analysis.templates import lock_typed
from xenpatch.analysis.values import NZ, ZERO, value_class
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind, call_args, call_name
from xenpatch.c.source import SourceFile, walk


def fill_actions(
    src: SourceFile, cfg: Cfg, info: FunctionInfo, resolver: Resolver,
    object_macros: frozenset[str] = frozenset(),
    fv: values.FileValues | None = None,
    may_resolve: Callable[[str], bool] | None = None,
    irq: irqstate.IrqTable | None = None,
    frees: Callable[[str], int | None] | None = None,
    keep: dict[Any, Any] | None = None,
    earlier: Sequence[NodeFill | None] | None = None,
) -> list[NodeFill | None]:
    """Compute, once per function, what every CFG node does.  Returns per
    node the questions it asked (resolver, may_resolve, frees) with their
    answers, in order, and what it did (NodeFill); ``earlier``: those of an
    earlier fill of the same CFG and prelude (the same file values,
    IRQ table and object macros), whose nodes getting the same answers
    again are taken as they are (a tree's second pass, where a few calls
    of the function now resolve to other files' helpers).

    ``frees(name)``: the argument a call of ``name`` frees on every path
    (None: none); by default the rules' deallocators free their first.

    ``may_resolve(name)`` False promises the resolver would return None for
    any call of ``name``: most calls are skipped before their argument texts
    are computed."""
    fv = fv or values.FileValues()
    irq = irq if irq is not None else _default_irq_table()
    if frees is None:
        deallocators = fv.rules.deallocators
        frees = lambda name: 0 if name in deallocators else None  # noqa: E731
    # Each node's questions with their answers, in order (_node_fill()).
    questions: list[tuple[Any, ...]] = []
    resolver, may_resolve, frees = _asking(questions, resolver, may_resolve, frees)

    def ask(q: tuple[Any, ...]) -> Any:
        """A question of an earlier fill asked again (recorded again)."""
        kind, _, name, *rest = q
        if kind == "resolver":
            return resolver(name, list(rest[0]), rest[1])
        if kind == "may_resolve":
            assert may_resolve is not None
            return may_resolve(name)
        return frees(name)

    pre = keep.get("prelude") if keep is not None else None
    if pre is not None and pre[0] is cfg and pre[1] is fv:
        p: Prelude = pre[2]
        # The facts the prelude leaves in info, each container info's own.
        copy = fresh_copy(p.info)
        for fld in fields(info):
            setattr(info, fld.name, getattr(copy, fld.name))
    else:
        p = prelude(src, cfg, info, fv)
        if keep is not None:
            keep["prelude"] = (cfg, fv, p)
    accessed, canon, exit_facts, bounds, eqs, orders, repeated_ids, stepped = (
        p.accessed, p.canon, p.exit_facts, p.bounds, p.eqs, p.orders, p.repeated_ids, p.stepped)
    each = p.each
    naming: dict[str, tuple[str, ...]] = {}

    def conds_naming(v: str) -> tuple[str, ...]:
        """The repeated conditions naming ``v`` (asked again at each
        assignment of it and each &v)."""
        got = naming.get(v)
        if got is None:
            got = naming[v] = tuple(t for t, ids in repeated_ids.items() if v in ids)
        return got

    heads = info.accessor_paths

    def key(e: Effect) -> Effect:
        k = apply_aliases(e.key, info.aliases)
        if accessed or heads:
            named = alias_args(k, info.aliases)
            for call_text, local in accessed.items():
                if named.startswith((call_text + "->", call_text + ".")):
                    k = local + named[len(call_text):]
                    break
            else:
                if heads:
                    if e.action == "take" and e.inferred:
                        # A callee's take through an accessor's result
                        # (p2m_get_hostp2m(d)->lock) is of the lock its
                        # macro's path names, as a held d->arch.p2m.lock
                        # is.  Only there: a release so named stays one
                        # that may name any held lock of its field
                        # (entrykeys.names_indirectly(): __put_gfn()'s of
                        # put_gfn(d) against a held p2m->lock, p2m a
                        # parameter), and a lock the function takes itself
                        # keeps the name it is written with.
                        expanded = head_expanded(named, heads)
                        if expanded != named:
                            k = named = expanded
                    # A lock named through the path of the accessor call
                    # whose result a local holds is that local's.
                    for prefix, local in p.accessed_paths:
                        if named.startswith(prefix):
                            k = local + "->" + named[len(prefix):]
                            break
        if stepped and "[" in k:
            # The lock of "each element": one collective lock (see Engine).
            k = re.sub(r"\[([A-Za-z_]\w*)\]",
                       lambda m: "[*]" if m.group(1) in stepped else m.group(0), k)
        if stepped:
            # per_cpu(X, cpu), and a local holding this round's element
            # (eachkeys.py); ``node``: the node being filled (the loop below).
            k = each.key(percpu_each(k, stepped), node.id)
        return e if k == e.key else replace(e, key=k)

    def resolve_call(call: Node, name: str | None) -> Resolved | None:
        """``name``: call_name() of ``call``, which the caller needs too."""
        if name is None or (may_resolve is not None and not may_resolve(name)):
            return None
        target = assigned_lvalue(src, call)
        if target is None:
            # "v = c ? f() : g()": the arm's result is v too (what a helper
            # returning the object it locked locks: paired_arms()).
            target = assigned_from_arm(src, call)
        if target is not None:
            target = apply_aliases(target, info.aliases)
        elif dropped(call):
            target = DISCARDED
        r = resolver(name, [src.text(a) for a in call_args(call)], target)
        if r is None:
            return None
        return replace(r, effects=tuple(typed(e) for e in r.effects))

    def typed(e: Effect) -> Effect:
        """The effect under the name this function knows the lock by,
        unless the variable the call names is an integer (lock_typed()):
        asked of that variable before its aliases ("int cpu =
        v->processor" would make the key an expression, no longer a
        variable to ask the type of)."""
        t = lock_typed(e, info)
        return t if t is not e else lock_typed(key(e), info)

    def irq_moves(call: Node, name: str | None, e: Effect, line: int, col: int,
                  forget: bool = False) -> list[IrqAct]:
        """The IRQ moves of a lock op's call, after its lock effect (a try:
        the state is unknown after it, whichever way it went; a helper's
        acquire whose summary says IRQs are off after it: off)."""
        if not forget and (off := irqstate.callee_act(e, line, col)) is not None:
            return [off]
        if e.flavour not in irqstate.IRQ_FLAVOURS or name is None:
            return []
        if forget:
            e = replace(e, action="try")
        return irqstate.lock_acts(e, name, [src.text(a) for a in call_args(call)],
                                  assigned_var(src, call), irq, line, col)

    switch_texts = {t for edges in info.switch_facts.values() for facts in edges
                    for t, _ in facts}
    index = (
        src.node_index(cfg.body, INDEXED) if cfg.body is not None and not object_macros else None
    )
    out: list[NodeFill | None] = []
    derefable = info.tracked | info.locals
    for node in cfg.nodes:
        ast = node.ast
        if ast is None:
            out.append(None)
            continue
        # A node of an earlier fill of the same prelude whose questions get
        # the same answers again, asked in its order: the node does what it
        # did then (what a node does depends on the prelude, its own text
        # and those answers only).
        questions.clear()
        prev = earlier[node.id] if earlier is not None and node.id < len(earlier) else None
        if prev is not None and all(ask(q) == q[1] for q in prev[0]):
            if prev[1] is not None:
                info.branches[node.id] = prev[1]
            if prev[2] is not None:
                info.acts[node.id] = list(prev[2])
            info.relevant = info.relevant or prev[3]
            out.append(prev)
            continue
        questions.clear()
        was, info.relevant = info.relevant, False
        try:
            skip: Node | None = None
            if node.kind is Kind.COND:
                c = strip_parens(ast)
                br = _NO_BRANCH
                call, flip, want = tested_call(src, c, fv.consts, fv.exacts)
                if call is not None:
                    r = resolve_call(call, call_name(src, call))
                    if r is not None and want is not None:
                        # "f() != K": true on success for a helper succeeding on
                        # "!K"; for any other, no test of its outcome.
                        r = replace(r, conditional="nz") if r.conditional == want else None
                    if r is not None and values.truth_success(r.conditional):
                        skip = call
                        if flip:
                            # "f() == 0": true when f() returned zero.
                            r = replace(r, conditional="nz" if r.conditional == "zero" else "zero")
                        line, col = src.line_col(call.start_byte)
                        br = Branch(try_op=r, try_line=line, try_col=col)
                if br.try_op is None:
                    vt = var_test(src, c, info.tracked, fv.consts, fv.eqs, fv.rules.tests)
                    if vt is None:
                        vt = sentinel_test(src, c, info.sentinels, fv.rules.floors, fv.exacts,
                                           info.tracked)
                    if vt is not None and vt.k is not None and canon[node.id][0] in bounds:
                        vt = None  # "try == 3" after a counted loop: the loop's fact
                    if vt is not None:
                        t, neg = canon[node.id]
                        if in_if(ast) and t in info.repeated_conds and (
                                vt.k is not None or vt.test is not None or t in switch_texts):
                            # What the value cannot tell (a parameter compared
                            # with a constant; a case label's edge) the repeated
                            # condition does: it is remembered per path.
                            br = Branch(var_test=vt, text=t, negated=neg)
                        else:
                            br = Branch(var_test=vt)
                    else:
                        t, neg = canon[node.id]
                        if node.id in orders and in_if(ast):
                            ot, oneg, mirror = orders[node.id]
                            eq = strict_order_fact(src, ast)
                            br = Branch(text=ot, negated=oneg, excludes=mirror, strict_ne=(
                                eq if eq is not None and eq in info.repeated_conds else None))
                        elif t in info.repeated_conds and in_if(ast):
                            br = Branch(text=t, negated=neg, eq=eqs.get(t))
                        else:
                            eq = strict_order_fact(src, ast)
                            if eq is not None and eq in info.repeated_conds:
                                br = Branch(strict_ne=eq)
                if br.text is None and br.try_op is None and br.var_test is None and (
                        node.id in canon and canon[node.id][0] in info.repeated_conds
                        and not in_if(ast)):
                    br = replace(br, counted=canon[node.id][0], negated=canon[node.id][1])
                if br.try_op is None and (lt := p.literal_tests.get(node.id)) is not None:
                    br = replace(br, bound_test=lt)
                if node.id in exit_facts:
                    br = replace(br, on_false=exit_facts[node.id])
                if br != _NO_BRANCH:
                    info.branches[node.id] = br
            events: list[tuple[int, int, Act]] = []
            # Per ?: whose arms are calls with lock effects: each arm's effects
            # and the events they made.
            arms: dict[int, dict[bool, Arm]] = {}
            # ... and each arm that is a try assigned to the ?:'s variable.
            tries: dict[int, dict[bool, Tried]] = {}
            # Object macros are identifiers, which the body's index leaves out.
            for n in index.under(ast) if index is not None else walk(ast):
                t = n.type
                if t == "identifier" and object_macros and n.parent is not None and (
                    n.parent.type == "expression_statement"
                ) and src.text(n) in object_macros:
                    r = resolver(src.text(n), [], None)
                    if r is not None:
                        line, col = src.line_col(n.start_byte)
                        for e in r.effects:
                            events.append((n.end_byte, -n.start_byte, OpAct(key(e), line, col)))
                    continue
                if t == "call_expression" and skip is not None and n == skip:
                    # A trylock tested in the condition: IRQs on or off as it went.
                    taken = info.branches[node.id]
                    if taken is not None and taken.try_op is not None:
                        line, col = src.line_col(n.start_byte)
                        events.extend((n.end_byte, -n.start_byte, a) for e in taken.try_op.effects
                                      for a in irq_moves(n, call_name(src, n), e, line, col,
                                                         forget=True))
                    continue
                if t == "call_expression" and n is not skip and n != skip:
                    name = call_name(src, n)
                    r = resolve_call(n, name)
                    if r is None:
                        gone = frees(name) if name is not None else None
                        if gone is not None:
                            nodes = call_args(n)
                            arg = strip_parens(nodes[gone]) if gone < len(nodes) else None
                            if arg is not None and arg.type in ("identifier", "field_expression"):
                                # Named as the held keys are: through the
                                # function's aliases (t = d->arch.t).
                                events.append((n.end_byte, -n.start_byte, FreeAct(
                                    apply_aliases(squash(src.text(arg)), info.aliases))))
                            continue
                        if name in irq.calls or name in ("ASSERT", "BUG_ON"):
                            line, col = src.line_col(n.start_byte)
                            events.extend((n.end_byte, -n.start_byte, a)
                                          for a in irqstate.call_acts(src, n, name, irq, line, col))
                            nonnull = asserted_nonnull(src, n, name, info, fv)
                            if nonnull is not None:
                                events.append((n.end_byte, -n.start_byte, DerefAct(nonnull)))
                        # A call nothing resolves does nothing to locks, whatever
                        # its name says (no guessing: issue 9, item 3).
                        continue
                    line, col = src.line_col(n.start_byte)
                    if r.test is not None:
                        # Past an early return on a test of its arguments
                        # (guardtests.py): the path splits on the test.
                        events.append((n.end_byte, -n.start_byte, TryAssignAct(
                            r.test, Resolved(r.effects, "nz"), line, col, tested=True)))
                        events.extend((n.end_byte + 1, 0, a) for e in r.effects
                                      for a in irq_moves(n, name, e, line, col, forget=True))
                        continue
                    if r.guard is not None:
                        nodes = call_args(n)
                        g = strip_parens(nodes[r.guard]) if r.guard < len(nodes) else None
                        gc = value_class(src, g, fv.consts)
                        if gc == ZERO:
                            continue  # locked=0: the helper takes nothing
                        if gc is not None:
                            for e in r.effects:
                                events.append((n.end_byte, -n.start_byte, OpAct(e, line, col)))
                                events.extend((n.end_byte, -n.start_byte, a)
                                              for a in irq_moves(n, name, e, line, col))
                            continue
                        var = src.text(g) if g is not None and g.type == "identifier" else ""
                        events.append((n.end_byte, -n.start_byte, TryAssignAct(
                            var, Resolved(r.effects, "nz"), line, col, guard=True)))
                        events.extend((n.end_byte + 1, 0, a) for e in r.effects
                                      for a in irq_moves(n, name, e, line, col, forget=True))
                        continue
                    if r.conditional is not None:
                        # A trylock whose result is not a condition or stored in a
                        # tracked variable: the lock may or may not be held after.
                        target = assigned_var(src, n)
                        arm = False
                        if target is None:
                            target = assigned_from_arm(src, n)
                            arm = target is not None
                        forget = [a for e in r.effects
                                  for a in irq_moves(n, name, e, line, col, forget=True)]
                        if target is not None:
                            tried = (n.end_byte + 1, 0, TryAssignAct(
                                target, r, line, col, arm=arm, origin=values.origin(src, n, fv)))
                            events.append(tried)
                            events.extend((n.end_byte + 1, 0, a) for a in forget)
                            if arm and (side := arm_of(n)) is not None:
                                tries.setdefault(side[0], {})[side[1]] = (signature(r), tried)
                            continue
                        events.append((n.end_byte, -n.start_byte, TryAssignAct("", r, line, col)))
                        events.extend((n.end_byte, -n.start_byte, a) for a in forget)
                        continue
                    mine: list[tuple[int, int, Act]] = []
                    for e in r.effects:
                        mine.append((n.end_byte, -n.start_byte, OpAct(e, line, col)))
                        mine.extend((n.end_byte, -n.start_byte, a)
                                    for a in irq_moves(n, name, e, line, col))
                    side = arm_of(n)
                    if side is not None:
                        # "c ? get_a(d) : get_b(d)": one arm runs, not both.
                        v = assigned_from_arm(src, n)
                        returned = v is not None and any(holder(e.key) == v for e in r.effects)
                        arms.setdefault(side[0], {})[side[1]] = (signature(r), mine, returned)
                    events.extend(mine)
                elif t == "field_expression":
                    # A local too, untracked for its tests: a lookup may have
                    # left it NULL (rd = rcu_lock_domain_by_id(id)), and past
                    # rd->f that path has ended.  keep_lock_guards() keeps
                    # the act only for a variable some lock's flow needs.
                    dv = deref_var(src, n, ast, derefable)
                    if dv is not None:
                        events.append((n.end_byte, -n.start_byte, DerefAct(dv)))
                elif t == "pointer_expression":
                    # &v handed on: whoever gets it may change v, so what was
                    # known of it, and of the conditions naming it, is stale
                    # (issue 9, item 1).
                    op = n.child_by_field_id(fid.OPERATOR)
                    arg = n.child_by_field_id(fid.ARGUMENT)
                    if op is not None and op.type == "&" and arg is not None and (
                            arg.type == "identifier"):
                        av = src.text(arg)
                        texts = conds_naming(av)
                        if texts:
                            events.append((n.end_byte, -n.start_byte, KillCondAct(texts, var=av)))
                        if av in info.tracked:
                            events.append((n.end_byte, -n.start_byte, AssignAct(av, None)))
                elif t in ("assignment_expression", "init_declarator", "update_expression"):
                    stored = stored_pointer(src, n, info)
                    if stored is not None:
                        line, _ = src.line_col(n.start_byte)
                        # "obj->f = v = try()": stored once v holds what the
                        # try left in it (its act comes after its assignment).
                        var, chained, kept = stored
                        store = StoreAct(var, squash(src.text(n)), line, kept)
                        events.append((n.end_byte + 1, 1, store) if chained else
                                      (n.end_byte, -n.start_byte, store))
                    act = assign_act(src, n, info, repeated_ids, conds_naming, fv)
                    if act is not None:
                        events.extend((n.end_byte, -n.start_byte, a) for a in act)
                    rv = target_var(src, n)
                    if rv is not None and rv not in info.aliases:
                        # Before the right-hand side's effects: a helper returning
                        # a locked object locks the new value, not the old.
                        rhs = n.child_by_field_id(
                            fid.VALUE if t == "init_declarator" else fid.RIGHT)
                        at = rhs.start_byte if rhs is not None else n.end_byte
                        events.append((at, 1 << 40, RebindAct(rv)))
            events = paired_arms(events, arms, tries)
            if not events:
                # Most nodes do nothing: their acts stay [].
                taken = info.branches[node.id]
                if taken is not None and taken.try_op is not None:
                    info.relevant = True
                continue
            events.sort(key=lambda x: (x[0], x[1]))
            # A TryAssign to a var replaces that var's plain assignment; a var
            # that receives the object a helper just locked is not NULL.
            acts: list[Act] = []
            try_vars = {a.var for _, _, a in events if isinstance(a, TryAssignAct) and a.var}
            # &v handed to a helper whose summary says what it leaves in v:
            # the TryAssign sets v (and the other arm of a ?: leaves it be).
            out_vars = {v for _, _, a in events if isinstance(a, TryAssignAct)
                        for v, _, _ in a.resolved.outs}
            locked_vars = {
                v for _, _, a in events if isinstance(a, OpAct)
                and a.effect.action == "acquire" and (v := holder(a.effect.key))
            }
            for _, _, a in events:
                if isinstance(a, AssignAct) and (a.var in try_vars or (
                        a.var in out_vars and a.cls is None)):
                    continue
                if isinstance(a, AssignAct) and a.cls is None and a.var in locked_vars:
                    a = AssignAct(a.var, NZ)
                acts.append(a)
            info.acts[node.id] = acts
            if any(isinstance(a, IrqAct) and a.op in ("on", "off", "save", "restore")
                   for a in acts):
                info.relevant = True
            br_here = info.branches[node.id]
            # A callee's takes alone do not make a function worth running: it
            # holds nothing they could meet.
            if any(isinstance(a, TryAssignAct)
                   or (isinstance(a, OpAct) and a.effect.action != "take")
                   for a in acts) or (
                br_here is not None and br_here.try_op is not None
            ):
                info.relevant = True
        finally:
            out.append(_node_fill(tuple(questions), info.branches[node.id], info.acts[node.id],
                                  info.relevant))
            info.relevant = was or info.relevant
    expand_takes(info)
    _unsaved_at_entry(src, cfg, info, irq)
    keep_lock_guards(src, cfg, info)
    return out


# One node of a fill: its questions with their answers (as FileAnalysis
# records them: ("resolver", answer, name, args, target), ("may_resolve",
# answer, name), ("frees", answer, name)), the branch it set, its acts
# (None: none), and whether it made the function relevant.
NodeFill = tuple[tuple[tuple[Any, ...], ...], Branch | None, tuple[Act, ...] | None, bool]
_DOING_NOTHING: NodeFill = ((), None, None, False)


def _node_fill(questions: tuple[tuple[Any, ...], ...], branch: Branch | None,
               acts: list[Act], relevant: bool) -> NodeFill:
    if not questions and branch is None and not acts and not relevant:
        return _DOING_NOTHING  # most nodes: one object for all
    return questions, branch, tuple(acts) if acts else None, relevant


def _asking(questions: list[tuple[Any, ...]], resolver: Resolver,
            may_resolve: Callable[[str], bool] | None,
            frees: Callable[[str], int | None],
            ) -> tuple[Resolver, Callable[[str], bool] | None, Callable[[str], int | None]]:
    """The three callbacks, each recording its questions into ``questions``."""

    def asked_resolver(name: str, args: list[str], target: str | None = None) -> Any:
        got = resolver(name, args, target)
        questions.append(("resolver", got, name, tuple(args), target))
        return got

    def asked_may_resolve(name: str) -> bool:
        assert may_resolve is not None
        got = may_resolve(name)
        questions.append(("may_resolve", got, name))
        return got

    def asked_frees(name: str) -> int | None:
        got = frees(name)
        questions.append(("frees", got, name))
        return got

    return asked_resolver, asked_may_resolve if may_resolve is not None else None, asked_frees


# A condition that teaches nothing (one made per condition node cost a
# frozen dataclass's construction, twice).
_NO_BRANCH = Branch()


def _unsaved_at_entry(src: SourceFile, cfg: Cfg, info: FunctionInfo,
                      irq: irqstate.IrqTable) -> None:
    """The flags locals restored somewhere that only saves write: unsaved
    at the entry (what restoring one before any save restores is garbage)."""
    restored = {a.var for acts in info.acts for a in acts if isinstance(a, IrqAct)
                and a.op in ("restore", "lock_restore") and a.var is not None}
    if not restored:
        return
    names = irqstate.unsaved_locals(src, cfg.body, info.locals - set(info.params), restored,
                                    irq)
    if names:
        info.acts[cfg.entry] = [IrqAct("", "unsaved", " ".join(names)), *info.acts[cfg.entry]]


_IRQ_TABLE: list[irqstate.IrqTable] = []


def _default_irq_table() -> irqstate.IrqTable:
    """The packaged rules' IRQ table, for callers that hand none in."""
    if not _IRQ_TABLE:
        from xenpatch.paths import rules_dir

        _IRQ_TABLE.append(irqstate.load_irq_table(rules_dir() / "locks.toml"))
    return _IRQ_TABLE[0]
