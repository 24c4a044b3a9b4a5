"""What a function's fill starts from (analysis/actions.py's
fill_actions()): the facts of its text, CFG, collected facts and file
values alone, worked out before the resolver is asked anything -- the
conditions that repeat, the locals holding an accessor's result, the
bounds and orders its tests teach.  Kept per function: a later fill of the
same CFG and file values starts from it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from xenpatch.analysis import counters, loopmacros, values
from xenpatch.analysis.collective import element_locals
from xenpatch.analysis.conditions import (
    canon_cond,
    counted_exit,
    flag_vars,
    loop_vars,
    order_cond,
    pointer_tests,
    sentinel_bounds,
    sentinels,
)
from xenpatch.analysis.countertests import literal_test
from xenpatch.analysis.eachkeys import EachKeys, element_rounds
from xenpatch.analysis.equalities import variable_comparisons
from xenpatch.analysis.functions import FunctionInfo, fresh_copy, is_path, strip_parens
from xenpatch.analysis.lockkeys import alias_args, ids_of_text, squash
from xenpatch.analysis.pathmacros import local_prefix
from xenpatch.analysis.switches import switch_facts, switch_vars
from xenpatch.analysis.takes import callers_accessors
from xenpatch.analysis.values import value_class
from xenpatch.c.cfg import Cfg, Kind, call_args, call_name
from xenpatch.c.source import SourceFile


@dataclass(frozen=True)
class Prelude:
    """What fill_actions() works out before it asks the resolver anything:
    a function of the function's text, CFG, collected facts and file
    values alone.  ``info``: the facts as the prelude leaves them (a
    snapshot, copied for each fill)."""

    info: FunctionInfo
    accessed: dict[str, str]
    # (a key's prefix through the path an accessor macro expands to, the
    # local holding the accessor's result): ("d->arch.p2m.", "p2m").
    accessed_paths: tuple[tuple[str, str], ...]
    canon: dict[int, tuple[str, bool]]
    literal_tests: dict[int, tuple[str, str, int, int]]  # node id -> (v, op, K, post)
    exit_facts: dict[int, str]
    bounds: set[str]
    eqs: dict[str, tuple[str, str]]
    orders: dict[int, tuple[str, bool, str]]
    repeated_ids: dict[str, frozenset[str]]
    stepped: set[str]
    each: EachKeys


def prelude(src: SourceFile, cfg: Cfg, info: FunctionInfo,
             fv: values.FileValues) -> Prelude:
    info.value_rules = fv.rules
    info.consts = fv.consts
    info.eqs = fv.eqs
    info.exacts = fv.exacts
    info.masks = fv.masks
    accessed: dict[str, str] = {}  # accessor call text -> the local holding its result
    info.var_equalities |= variable_comparisons(src, cfg, set(info.params) | set(info.locals))
    for local, rhss in info.assigned.items():
        classes = {value_class(src, r, fv.consts) if r is not None else None for r in rhss}
        cls = classes.pop() if len(classes) == 1 else None
        if cls is not None:
            info.const_locals[local] = cls
        # hp2m = p2m_get_hostp2m(d), assigned once from an accessor the
        # rules declare ([values] distinct): the accessor's result, named
        # anywhere in the function, is that local's object (put_gfn(d)
        # releases p2m_get_hostp2m(d)->lock, the lock taken as hp2m->lock).
        # Keys keep the local's name; a summary of the locks the function
        # takes names it as the accessor's result (takes.py).  An argument
        # that is an alias (d = v->domain) is named by what it aliases.
        one = strip_parens(rhss[0]) if len(rhss) == 1 and rhss[0] is not None else None
        if one is not None and local not in info.aliases and one.type == "call_expression" and \
                fv.rules.accessor(call_name(src, one) or "") and all(
                    is_path(a) and not (set(re.findall(r"[A-Za-z_]\w*", src.text(a)))
                                        & (set(info.assigned) - set(info.aliases)))
                    for a in call_args(one)):
            accessed[alias_args(squash(src.text(one)), info.aliases)] = local
    info.accessed = callers_accessors(accessed, info.params,
                                      src.text(cfg.body) if cfg.body is not None else "")
    info.sentinels = sentinels(src, info.assigned)
    info.elements = element_locals(src, info.assigned, fv.elements) if fv.elements else {}
    # The loops stepping a variable, and the locals holding their elements.
    loops = loopmacros.stepping_loops(src, cfg, fv.loops)
    each = EachKeys(cfg, element_rounds(src, info.assigned, loops) if loops else {})
    info.element_types = each.types(info.local_types)
    sources = {v: [r for r in rhss if r is not None] for v, rhss in info.assigned.items()
               if any(t.startswith(v + "==") for t in info.sentinels)}
    info.assigned = {}
    cond_texts: dict[str, int] = {}
    canon: dict[int, tuple[str, bool]] = {}  # node id -> canon_cond(), used again below
    literal_tests: dict[int, tuple[str, str, int, int]] = {}  # node id -> literal_test()
    for node in cfg.nodes:
        if node.kind is Kind.COND and node.ast is not None:
            canon[node.id] = canon_cond(src, node.ast)
            t = canon[node.id][0]
            cond_texts[t] = cond_texts.get(t, 0) + 1
            if (lt := literal_test(src, node.ast)) is not None:
                literal_tests[node.id] = lt
    info.repeated_conds = {t for t, n in cond_texts.items() if n > 1}
    # for ( try = 0; try < 3; try++ ) ... if ( try == 3 ): leaving the loop
    # by its condition makes the later test true.
    exit_facts: dict[int, str] = {}
    for node in cfg.nodes:
        if node.kind is Kind.COND and node.ast is not None:
            bound = counted_exit(src, node.ast)
            if bound is not None and bound in cond_texts:
                exit_facts[node.id] = bound
                info.repeated_conds.add(bound)
    bounds = set(exit_facts.values())
    # A case label and a later if on the same value are a repeated fact.
    info.switch_facts = switch_facts(src, cfg, set(cond_texts))
    info.repeated_conds |= {t for edges in info.switch_facts.values()
                            for facts in edges for t, _ in facts}
    # Pointer comparisons their origins may decide (buf.start == emerg_buf).
    eqs = pointer_tests(src, cfg, info, fv)
    info.repeated_conds |= set(eqs)
    # Two variables compared or copied: where equal, a lock through one is
    # the other's (analysis/equalities.py).
    info.repeated_conds |= info.var_equalities
    # a > b and a < b of one function: each rules the other out.
    orders: dict[int, tuple[str, bool, str]] = {}  # node -> (x<y, negated, y<x)
    for node in cfg.nodes:
        if node.kind is Kind.COND and node.ast is not None and (
                o := order_cond(src, node.ast)) is not None:
            orders[node.id] = (f"{o[0]}<{o[1]}", o[2], f"{o[1]}<{o[0]}")
    order_texts: dict[str, int] = {}
    for t, _, _ in orders.values():
        order_texts[t] = order_texts.get(t, 0) + 1
    # dom = op->domain after "op->domain >= DOMID_FIRST_RESERVED" was
    # false: dom is below the bound, so not DOMID_INVALID (a sentinel it is
    # compared with, at or above it: [[values.floors]]).
    info.bounds = sentinel_bounds(src, sources, info.sentinels, fv.rules.floors, order_texts)
    bound_texts = {t for b in info.bounds.values() for t in b}
    orders = {n: o for n, o in orders.items() if o[2] in order_texts or order_texts[o[0]] > 1
              or o[0] in bound_texts}
    info.repeated_conds |= {t for t, _, _ in orders.values()}
    repeated_ids = {t: ids_of_text(t) for t in info.repeated_conds}
    # The variable of each literal test (i-- > 0): its assignments bind it.
    for var, _, _, _ in literal_tests.values():
        repeated_ids[counters.binding_text(var)] = frozenset((var,))
    info.acts = [[] for _ in cfg.nodes]
    info.branches = [None for _ in cfg.nodes]
    tested = flag_vars(src, cfg, info)
    info.tracked &= tested | {v for sides in eqs.values() for v in sides
                                 if not values.constant_side(v)} | {
        v for v in info.tracked if v.startswith("*")}
    info.switch_vars = switch_vars(src, cfg, info.tracked, fv.consts, fv.exacts)

    stepped = loop_vars(src, cfg) | set(loops)
    return Prelude(fresh_copy(info), accessed, _accessed_paths(accessed, info.accessor_paths),
                    canon, literal_tests, exit_facts, bounds, eqs, orders, repeated_ids,
                    stepped, each)


def _accessed_paths(accessed: dict[str, str], heads: Mapping[str, tuple[str, str, str]]
                    ) -> tuple[tuple[str, str], ...]:
    return tuple((prefix, local) for call_text, local in accessed.items()
                 if (prefix := local_prefix(call_text, heads)) is not None)


__all__ = ["Prelude", "prelude"]
