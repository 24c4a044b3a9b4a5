"""Helper summaries: what a function does to its caller's locks, from the
states at its exits after a dataflow run (classify_exits, helper_summary),
with its locks named through its parameters (``$0->lock``) or its result
(``$ret``; templates.py names them and binds them at each call site).

The same classification tells the lint which locks held at an exit are not
by design (xenpatch.lint.leaks).  The locks taken during the run, held
at the exits or not, are takes.py's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from xenpatch.analysis import guardtests, irqstate
from xenpatch.analysis.conditions import exact_of
from xenpatch.analysis.events import OpAct
from xenpatch.analysis.exitnames import proven_key
from xenpatch.analysis.functions import FunctionInfo, shape_fn, strip_parens
from xenpatch.analysis.lockkeys import key_head
from xenpatch.analysis.locktable import Effect, Summary, held_unnamed
from xenpatch.analysis.mayrelease import may_release
from xenpatch.analysis.nonzero import nonzero_returns
from xenpatch.analysis.pathstate import UNKNOWN, Held, Result, State
from xenpatch.analysis.quietexits import quiet_exits
from xenpatch.analysis.takes import lock_takes
from xenpatch.analysis.templates import template
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import EXACT, NEG, NOT, NZ, POS, ZERO, plain, value_class
from xenpatch.c import fields as fid


def ret_class(f: FunctionUnit, node_id: int, st: State) -> str | None:
    assert f.cfg is not None and f.info is not None
    ast = f.cfg.nodes[node_id].ast
    if ast is None:
        return None
    c = value_class(f.src, ast, f.info.consts)
    if c is not None:
        return c
    e = ast
    while e.type == "parenthesized_expression" and e.named_child_count == 1:
        e = e.named_children[0]
    if e.type == "identifier":
        v = st.fact(f.src.text(e)) or f.info.const_locals.get(f.src.text(e))
        if v is not None:
            return plain(v)
    v = st.fact("$ret")
    return plain(v)


def _released_class(f: FunctionUnit, node_id: int, st: State) -> str | None:
    """ret_class(), or "nz" for ``return rc;`` that every path to it proves
    non-zero (``if ( rc ) goto fail;``, rc unchanged since: nonzero.py).
    For what a release follows only: a lock *held* at such a return is the
    classic leak of an error path, never a trylock's success."""
    c = ret_class(f, node_id, st)
    if c is None and node_id in nonzero_returns(f):
        return NZ
    return c


def _ret_exact(f: FunctionUnit, node_id: int, st: State) -> str | None:
    """The exact fact of what a return returns (values.VarTest.eval_exact's
    language): a literal's or a literal macro's value, or the returned
    local's fact on this path ("!K": known not K)."""
    assert f.cfg is not None and f.info is not None
    ast = f.cfg.nodes[node_id].ast
    if ast is None:
        return None
    e = strip_parens(ast)
    k = exact_of(f.src, e, f.info.exacts)
    if k is not None:
        return str(k)
    return st.fact(EXACT + f.src.text(e)) if e.type == "identifier" else None


_NAME = re.compile(r"[A-Za-z_]\w*")


def _sentinel_success(held_x: set[str | None], free_x: set[str | None]) -> str | None:
    """"!K" when every return holding the locks returns a value known not
    to be K and every other returns K: a plain integer's sentinel (a frame
    number, with "#define NO_PAGE (~0UL)").  K is a value, never only a
    name (a macro whose body is not a literal says nothing of its value)."""
    if len(free_x) != 1 or len(held_x) != 1:
        return None
    k = next(iter(free_x))
    if k is None or k.startswith((NOT, "<")) or _NAME.fullmatch(k):
        return None
    return NOT + k if held_x == {NOT + k} else None


def _failure_value(held_x: set[str | None], free_x: set[str | None]) -> str | None:
    """K when every return holding none of the locks returns the value K
    (``free_x``: a literal's, never only a name's), some return holding
    them returns K too (``held_x``), another returns something else, and
    none returns a value known to be another literal: K is the failure its
    callers test for."""
    if len(free_x) != 1:
        return None
    k = next(iter(free_x))
    if k is None or k.startswith((NOT, "<")) or _NAME.fullmatch(k) or k not in held_x:
        return None
    # A success to hold it on: some return holding it returns something
    # else (all of them returning K is a plain leak, no acquire helper).
    others = held_x - {k}
    if not others or any(x is not None and not x.startswith((NOT, "<")) for x in others):
        return None
    return k


def _try_like(
    held_cls: set[str | None], free_cls: set[str | None], returns_pointer: bool
) -> str | None:
    """Success class if "held" exits and "free" exits differ by return value
    the way a trylock-style helper's do (held on success only).

    Unknown return values only count for pointer results (``return pg;``
    against ``return NULL;``): for an int, ``return rc;`` with the lock held
    is the classic leak, not a design."""
    if not held_cls or not free_cls:
        return None
    if held_cls == {ZERO} and free_cls <= {NEG, NZ, POS}:
        return "zero"
    ok_held = {POS, NZ, None} if returns_pointer else {POS, NZ}
    if ZERO not in held_cls and free_cls <= {ZERO, NEG} and held_cls <= ok_held:
        return "nz"
    return None


def _returns_pointer(f: FunctionUnit) -> bool:
    d = f.node.child_by_field_id(fid.DECLARATOR)
    return d is not None and d.type == "pointer_declarator"


_HELPER_NAME = re.compile(r"lock|acquire|grab|begin|enter|(?:^|_)get(?:_|$)", re.I)


def designed_helper(f: FunctionUnit) -> bool:
    """May f return holding a lock it took on every path, by design?

    Yes for helpers: header inlines, functions named like a lock/get helper,
    and functions other code of the file calls (their callers then see the
    lock through f's summary, and a real leak shows up there).
    """
    if f.src.path.endswith(".h"):
        return True
    name = f.name.lower()
    if _HELPER_NAME.search(name) and "unlock" not in name:
        return True
    return f.called


def _returned_var(f: FunctionUnit, exits: list[tuple[int, State, State]]) -> str | None:
    """The local every exit returns (``return act;``), if there is one."""
    assert f.cfg is not None and f.info is not None
    names = set()
    for n, after, _ in exits:
        ast = f.cfg.nodes[n].ast
        while ast is not None and ast.type == "parenthesized_expression":
            ast = ast.named_children[0] if ast.named_children else None
        if ast is not None and value_class(f.src, ast, f.info.consts) in (ZERO, NEG) and not any(
            not h.entry for h in after.held
        ):
            continue  # return NULL; or ERR_PTR(-E...); with nothing taken
        if ast is None or ast.type != "identifier":
            return None
        names.add(f.src.text(ast))
    if len(names) == 1:
        v = names.pop()
        return v if v in f.info.locals else None
    return None


def _as_returned(key: str, info: FunctionInfo, ret_var: str | None) -> str:
    """``key`` through the returned local when it names that local's one
    value: with ``desc = &descs[v]`` (an alias: assigned once) and ``return
    desc``, the lock taken as ``descs[v].lock`` is ``desc->lock``, the
    caller's ``$ret->lock``; a key the local's value does not start is
    as it was."""
    if ret_var is None or ret_var not in info.aliases:
        return key
    value = info.aliases[ret_var]
    rest = key[len(value):]
    if key.startswith(value) and (not rest or rest.startswith(("->", "."))):
        return ret_var + rest
    # The lock of the object whose address the local holds: descs[v].lock.
    obj = value[1:] if value.startswith("&") else None
    if obj and key.startswith(obj + "."):
        return ret_var + "->" + key[len(obj) + 1:]
    return key


def _guard_param(info: FunctionInfo, held: list[State], free: list[State]) -> int | None:
    """A parameter that is true on every path that took the lock and false
    on every path that did not: ``spin_lock_if(cond, l)``."""
    for i, p in enumerate(info.params):
        if p not in info.guard_vars:
            continue  # tracked for what a NULL argument does, not a guard
        # Paths that return early without testing the flag (a NULL p2m in
        # _get_gfn_type_access()) do not make the helper less of a guard.
        if all(s.fact(p) in (NZ, POS, NEG) for s in held) and all(
            s.fact(p) in (ZERO, None) for s in free
        ) and any(s.fact(p) == ZERO for s in free):
            return i
    return None


@dataclass
class ExitClasses:
    """The exits of one dataflow run, and which locks held there are held
    by design (by_design, cond_keys: a helper's effects) and which are not
    (partial: the lint's leaks)."""

    exits: list[tuple[int, State, State]]  # (RETURN node, state after, state on arrival)
    acquired: dict[str, Held]  # locks taken here and held at some exit
    by_design: set[str]
    partial: set[str]
    conditional: str | None  # success class, when the held locks follow the result
    guard: int | None  # ... or the parameter that decides them
    cond_keys: set[str]
    # Locks (or "*": every lock and the path) the function leaves unknown:
    # its callers cannot know them either.
    unknown: set[str] = field(default_factory=set)
    # An acquire helper's failure returns still holding its lock (item 6).
    failing: list[tuple[int, State, State, Held]] = field(default_factory=list)
    # ... or the test of its arguments past whose early returns it takes
    # them (guardtests.py).
    test: str | None = None


def classify_exits(
    f: FunctionUnit, res: Result, paired: frozenset[tuple[str, str]] = frozenset()
) -> ExitClasses | None:
    """Decide which locks held at exits are by design and which are not;
    None if no path returns.

    By design: a helper that returns holding the lock on every path; one
    that holds it exactly when it returns success (trylock-like) or when a
    parameter is true (``spin_lock_if``); and a lock another function of the
    file releases without taking (``*_enter``/``*_leave`` pairs, given by
    ``paired`` as lock shapes).
    """
    assert f.info is not None and f.cfg is not None
    info = f.info
    exits = [(n, after, before) for n, lst in res.exits.items() for after, before in lst]
    if not exits:
        return None
    acquired: dict[str, Held] = {}
    unknown: set[str] = set()
    for _, after, _ in exits:
        if after.fact(UNKNOWN) is not None:
            unknown.add("*")
        for h in after.held:
            if h.unknown:
                unknown.add(h.key.rstrip("'"))
            elif not h.entry:
                acquired.setdefault(h.key, h)
    shape = shape_fn(info)
    helper = designed_helper(f)
    # A pair releases it: for a global lock the pair is unambiguous; for a
    # lock in a struct, any function dropping its caller's lock of that
    # type would match, so the function must look like a helper too.
    # The function must also leave the release to the pair: one that
    # releases the lock itself on some paths owns its discipline.
    # (Not a release of each element's lock, "[*]": which elements it
    # frees is unknown, and the elements it does not may be the pair's.)
    released_here = {
        a.effect.key for acts in info.acts for a in acts
        if isinstance(a, OpAct) and a.effect.action == "release" and "[*]" not in a.effect.key
    }
    by_design: set[str] = {
        k for k in acquired
        if (sh := shape(k.rstrip("'"))) in paired and k.rstrip("'") not in released_here
        and ((not sh[0] and not _local_head(k, info)) or (sh[0] and helper))
    }
    conditional: str | None = None
    guard: int | None = None
    test: str | None = None
    cond_keys: set[str] = set()
    failing: list[tuple[int, State, State, Held]] = []
    for k in acquired:
        if helper and all(after.get(k) is not None for _, after, _ in exits):
            fails = _failure_exits(f, exits)
            if fails is None:
                by_design.add(k)
                continue
            # An acquire helper whose result says success: its failure
            # returns still holding the lock are the bug, not its callers
            # who trust the result (issue 9, item 6).
            conditional, guard = fails[0], None
            cond_keys.add(k)
            for n, a, b in fails[1]:
                held = a.get(k)
                if held is not None:
                    failing.append((n, a, b, held))
    # Helpers like double_gt_lock: every exit holds some acquired lock of one
    # kind; the ones missing on a path are the same lock under another name.
    partial = set(acquired) - by_design
    if partial and helper and len(acquired) > 1 and not res.entry_keys:
        kinds = {(h.kind, h.mode) for _, a, _ in exits for h in a.held if h.key in acquired}
        every = all(any(not h.entry for h in after.held) for _, after, _ in exits)
        if every and len(kinds) == 1:
            by_design |= partial
            partial = set()
    if partial:
        held_states = [a for _, a, _ in exits if any(a.get(k) is not None for k in partial)]
        free_states = [a for _, a, _ in exits if all(a.get(k) is None for k in partial)]
        mixed = any(
            0 < sum(a.get(k) is not None for k in partial) < len(partial)
            for _, a, _ in exits
        )
        if not mixed and free_states:
            held_cls = {
                ret_class(f, n, a) for n, a, _ in exits
                if any(a.get(k) is not None for k in partial)
            }
            free_cls = {
                ret_class(f, n, a) for n, a, _ in exits
                if all(a.get(k) is None for k in partial)
            }
            held_x = {_ret_exact(f, n, a) for n, a, _ in exits
                      if any(a.get(k) is not None for k in partial)}
            free_x = {_ret_exact(f, n, a) for n, a, _ in exits
                      if all(a.get(k) is None for k in partial)}
            c = _try_like(held_cls, free_cls, _returns_pointer(f)) or _sentinel_success(
                held_x, free_x)
            g = _guard_param(info, held_states, free_states) if c is None else None
            fail = _failure_value(held_x, free_x) if c is None and g is None else None
            t = None
            if c is None and g is None and fail is None and helper and not unknown \
                    and not res.entry_keys:
                t = guardtests.exit_test(f, exits, held_states, free_states, partial)
            if c is not None or g is not None or t is not None:
                conditional, guard, test, cond_keys, partial = c, g, t, partial, set()
            elif fail is not None:
                # Its returns without the lock all return one value, which
                # some returns holding it return too: that value is its
                # failure, and those returns are the leak; the others are
                # its success, its callers' to release (issue 9, item 6).
                conditional, cond_keys = NOT + fail, partial
                for n, a, b in exits:
                    if _ret_exact(f, n, a) == fail:
                        failing.extend((n, a, b, kept) for key in sorted(partial)
                                       if (kept := a.get(key)) is not None)
                partial = set()
        elif mixed and free_states:
            core, c, also = _try_core(f, exits, partial)
            if c is not None:
                # A try-like helper (its core locks held exactly on success)
                # that on some of its successes also holds another lock, on
                # a condition its result does not state (a feature that is
                # on or off): that lock is unknown to its callers, not a
                # leak; success without the core is not this shape.
                conditional, cond_keys = c, core
                unknown |= {k.rstrip("'") for k in also}
                partial = set()
    if partial and helper and all(
            any(not h.entry and not h.unknown for h in a.held) for _, a, _ in exits):
        # A helper that returns holding a lock on every path, and another
        # lock at one return on some paths and not on others, takes the
        # latter on a condition its summary cannot state (a relation of its
        # arguments, iocaps_double_lock()'s "d != currd"): unknown to its
        # callers, not a leak of the helper (issue 9, items 2 and 3).  A
        # path that holds nothing at all is an early return, where a lock
        # still held is the classic leak (xensyms_read()'s "goto
        # no_symbol").
        for k in partial:
            by_node: dict[int, set[bool]] = {}
            for n, a, _ in exits:
                by_node.setdefault(n, set()).add(a.get(k) is not None)
            if any(len(v) == 2 for v in by_node.values()):
                unknown.add(k.rstrip("'"))
        partial = {k for k in partial if k.rstrip("'") not in unknown}
    return ExitClasses(exits, acquired, by_design, partial, conditional, guard, cond_keys,
                       unknown, failing, test)


def _try_core(f: FunctionUnit, exits: list[tuple[int, State, State]], partial: set[str]
              ) -> tuple[set[str], str | None, set[str]]:
    """The locks of ``partial`` held exactly on the returns of one success
    class (the core), that class, and the others: each held on some of
    the core's returns only.  (set(), None, set()) when that is not so."""
    cls = [(ret_class(f, n, a), a) for n, a, _ in exits]
    pointer = _returns_pointer(f)
    core: set[str] = set()
    c: str | None = None
    for k in sorted(partial):
        got = _try_like({r for r, a in cls if a.get(k) is not None},
                        {r for r, a in cls if a.get(k) is None}, pointer)
        if got is not None and c in (None, got):
            core.add(k)
            c = got
    if c is None:
        return set(), None, set()
    also = partial - core
    for k in also:
        # Held only where the whole core is.
        if any(a.get(k) is not None and any(a.get(x) is None for x in core) for _, a in cls):
            return set(), None, set()
    return core, c, also


def _failure_exits(
    f: FunctionUnit, exits: list[tuple[int, State, State]]
) -> tuple[str, list[tuple[int, State, State]]] | None:
    """For a helper holding its lock at every return: the success class and
    the failure returns, when the results say which is which (a pointer
    helper returning NULL on some paths, an int one returning 0 on some and
    a negative constant on others); None when they do not."""
    classes = [(ret_class(f, n, a), (n, a, b)) for n, a, b in exits]
    if _returns_pointer(f):
        bad = [x for c, x in classes if c == ZERO]
        if bad and len(bad) < len(classes) and not any(c == NEG for c, _ in classes):
            return "nz", bad
        return None
    if {c for c, _ in classes} == {ZERO, NEG}:
        return "zero", [x for c, x in classes if c == NEG]
    return None


def helper_summary(f: FunctionUnit, res: Result) -> Summary | None:
    """What f does to its caller's locks, from its dataflow run, and whether
    it turns IRQs on on every path (irqstate.py)."""
    s = _lock_summary(f, res)
    if not irqstate.enables_on_every_path(res, UNKNOWN):
        return s
    on = irqstate.irq_on_effect(f.name)
    if s is None:
        return Summary((on,), None)
    # IRQ_ON says what its releases leave (on), and its call is checked
    # against the state before it (XL014): no "unknown" in between.
    kept = tuple(replace(e, irq=None) if e.action == "release" and e.irq == "?" else e
                 for e in s.effects)
    return replace(s, effects=(*kept, on))


def _lock_summary(f: FunctionUnit, res: Result) -> Summary | None:
    """What f does to its caller's locks, from its dataflow run: the entry
    locks it releases on every path, then what it acquires by design."""
    assert f.info is not None and f.cfg is not None
    info = f.info
    ex = classify_exits(f, res)
    if ex is None:
        return None
    exits, acquired, by_design = ex.exits, ex.acquired, ex.by_design
    conditional, guard, cond_keys = ex.conditional, ex.guard, ex.cond_keys
    ret_var = _returned_var(f, exits)
    # Summary: entry locks released on every path, then what is acquired.
    # An unlock helper releasing one of several on each path (lgt, and rgt
    # unless it is the same table) releases them all, as double_gt_lock.
    released_any = {
        k for k in res.entry_keys if any(after.get(k) is None for _, after, _ in exits)
    }
    # An unlock helper's exits reached before any lock operation are its
    # "nothing to do" cases when the lock is the argument's: put_gfn() on a
    # domain that is not translated, whose get_gfn() took nothing either.
    # Not for a global lock: efi_rs_leave() releases efi_rs_lock only when
    # its pair efi_rs_enter() took it, which no summary says.
    per_object = any("$" in (template(k, info) or "") for k in released_any)
    # ... unless its results tell its callers which exits released it: a
    # set-up helper that drops its caller's lock on the returns of a
    # non-zero rc only (its "return 0" before any lock operation is its
    # success, not a case with nothing to do).
    by_result = None
    if released_any and not acquired and not ex.unknown and all(
            any(a.get(k) is not None for _, a, _ in exits) for k in released_any):
        by_result = _conditional_release(f, res, exits)
    loud = exits
    release_test = None
    if released_any and not acquired and per_object and by_result is None:
        quiet = quiet_exits(f)
        loud = [x for x in exits if x[0] not in quiet] or exits
        if loud is not exits and not ex.unknown:
            # ... and when those are the early returns of one test of its
            # arguments, the release happens exactly when that test holds.
            release_test = guardtests.early_test(
                f, {n for n, _, _ in exits if n in quiet}, guardtests.hidden_names(f))
    union_release = not acquired and all(
        any(after.get(k) is None for k in res.entry_keys) for _, after, _ in loud
    )
    effects: list[Effect] = []
    for k in sorted(res.entry_keys):
        t = template(k, info)
        # unlock_x(NULL) does nothing: every path that leaves the lock
        # alone found its pointer parameter NULL (issue 9, item 2), be it at
        # an early return or at the exit the release reaches too ("if ( d )
        # rcu_unlock_domain(d);").
        nonnull = None
        m = re.match(r"^\*?\$(\d+)(?!\d)", t) if t is not None else None
        kept = [a for _, a, _ in exits if a.get(k) is not None]
        if m is not None and kept and int(m.group(1)) < len(info.params) and all(
                a.fact(info.params[int(m.group(1))]) == ZERO for a in kept):
            nonnull = "$" + m.group(1)
        if not all(after.get(k) is None for _, after, _ in loud) and not (
            union_release and k in released_any
        ) and (nonnull is None or len(kept) == len(exits)):
            if k in released_any and t is not None and not acquired and by_result is None:
                effects.extend(may_release(f, k, t))
            continue
        rels = {
            (a.effect.kind, a.effect.mode, a.effect.flavour): a.effect
            for acts in info.acts for a in acts
            if isinstance(a, OpAct) and a.effect.key == k and a.effect.action == "release"
        }
        if not rels or t is None:
            continue
        e0 = next(iter(rels.values()))
        mode, flavour = (e0.mode, e0.flavour) if len(rels) == 1 else ("", "any")
        if flavour in ("plain", "irq", "irqsave"):
            flavour = "any"  # the helper handles IRQ state its own way
        effects.append(Effect("release", e0.kind, mode, flavour, t,
                              template(e0.owner, info) if e0.owner else None, f.name,
                              inferred=True, nonnull=nonnull, irq=_irq_dropped(rels.values())))
    for k in sorted(by_design | cond_keys):
        h = acquired[k]
        t = _held_template(f, exits, k.rstrip("'"), ret_var)
        if t is None:
            # Held at its exits under a local's name its callers cannot
            # see: what it leaves them is unknown, not nothing (issue 9,
            # item 3); on a try's success side only.
            effects.append(held_unnamed(f.name, h.kind))
            continue
        action = "try" if k in cond_keys and conditional is not None else "acquire"
        # How a helper masks IRQs is its business (pirq_spin_lock_irq_desc()
        # saves flags only when given somewhere to store them): callers may
        # release with any IRQ flavour.
        flavour = "any" if h.flavour in ("plain", "irq", "irqsave") else h.flavour
        mode, mode_arg = _mode_of(info, k, exits, h.mode)
        effects.append(Effect(action, h.kind, mode, flavour, t,
                              template(h.owner, info) if h.owner else None, f.name,
                              inferred=True, mode_arg=mode_arg, irq=_irq_held(k, h, exits)))
    effects.extend(lock_takes(f, res, {e.key for e in effects}))
    # What the function left unknown, its callers cannot know either.
    for k in sorted(ex.unknown):
        t = "*" if k == "*" else _held_template(f, exits, k, ret_var)
        if t is not None:
            effects.append(Effect("unknown", "spin", "", "any", t, None, f.name,
                                  inferred=True))
    if release_test is not None and effects and all(e.action == "release" for e in effects):
        return Summary(tuple(effects), None, test=release_test)
    if not any(e.action != "take" for e in effects) and not acquired:
        cond_rel = by_result or _conditional_release(f, res, exits)
        if cond_rel is not None:
            return replace(cond_rel, effects=cond_rel.effects + tuple(effects))
    if not effects:
        return None
    if cond_keys and not (by_design - cond_keys):
        if conditional is not None:
            # Its failure returns still holding the lock are its bug,
            # reported there: what its callers may read is the protocol
            # its other returns keep.
            bad = {n for n, _, _, _ in ex.failing}
            return Summary(tuple(effects), conditional,
                           outs=out_facts(f, [x for x in exits if x[0] not in bad],
                                          conditional, cond_keys))
        if ex.test is not None:
            return Summary(tuple(effects), None, test=ex.test)
        return Summary(tuple(effects), None, guard)
    return Summary(tuple(effects), None)


def _held_template(f: FunctionUnit, exits: list[tuple[int, State, State]], key: str,
                   ret_var: str | None) -> str | None:
    """A lock held at the exits in its callers' terms: through the
    parameters or the result, or through the expression the way out
    proved the local equal to (exitnames.py); None if only a local names
    it."""
    assert f.info is not None
    info = f.info
    t = template(_as_returned(key, info, ret_var), info, ret_var)
    if t is None and (named := proven_key(f, exits, key)) is not None:
        t = template(named, info)
    return t


def _irq_held(key: str, h: Held, exits: list[tuple[int, State, State]]) -> str | None:
    """"off" when the helper took ``key`` with an _irq/_irqsave op and every
    exit holding it has IRQs known off: the state its caller has wherever
    the effect holds (an acquire's every path, a try's success side), told
    apart by the helper's result as its lock is.  The exits that do not
    hold it say nothing (NULL returned with IRQs as they were)."""
    if h.flavour not in irqstate.IRQ_FLAVOURS:
        return None
    held = [a for _, a, _ in exits if a.get(key) is not None]
    if held and all(a.fact(UNKNOWN) is None and a.fact("%irq") == "off" for a in held):
        return "off"
    return None


def _irq_dropped(rels: Iterable[Effect]) -> str | None:
    """"?" when the helper releases the lock with an _irq/_irqrestore op:
    what IRQ state it leaves its caller, its summary does not say (flags
    it was handed), unless it turns them on on every path (then IRQ_ON
    says it instead: helper_summary()).  A caller's IRQs-off section ends there, by the helper's
    hand, as it started in it when an acquire helper's ``irq`` is "off"."""
    return "?" if any(r.flavour in irqstate.IRQ_FLAVOURS for r in rels) else None


def out_facts(f: FunctionUnit, exits: list[tuple[int, State, State]], success: str,
              keys: set[str]) -> tuple[tuple[int, str, str], ...]:
    """What a try-like helper leaves in ``*p`` of a pointer parameter p, when
    that differs by outcome and is the same on every exit of each: its
    caller's later test of the variable it passed (``if ( !gfn_eq(gfn,
    INVALID_GFN) ) put_gfn(...)``) then follows the outcome."""
    assert f.info is not None
    outs = []
    for i, p in enumerate(f.info.params):
        v = "*" + p
        if v not in f.info.tracked:
            continue
        got: dict[bool, set[str | None]] = {True: set(), False: set()}
        for n, after, _ in exits:
            c = ret_class(f, n, after)
            x = _ret_exact(f, n, after) if success.startswith(NOT) else None
            if x in (success, success[len(NOT):]):
                ok = x == success
            elif c is not None and not success.startswith(NOT):
                ok = c in (NZ, POS) if success == "nz" else c == ZERO
            else:
                ok = any(after.get(k) is not None for k in keys)
            # A class, else an exact fact (*idx is NO_INDEX on failure).
            fact = after.fact(v)
            if fact is None and (x := after.fact(EXACT + v)) is not None:
                fact = EXACT + x
            got[ok].add(fact)
        yes, no = got[True], got[False]
        if len(yes) == 1 and len(no) == 1 and yes != no:
            y, n_ = yes.pop(), no.pop()
            if y is not None and n_ is not None:
                outs.append((i, y, n_))
    return tuple(outs)


def _mode_of(info: FunctionInfo, key: str, exits: list[tuple[int, State, State]],
             first: str) -> tuple[str, str | None]:
    """The mode a helper takes ``key`` in: one mode, or the one a flag
    parameter says (write iff true: ``lock_both(d, write)``), or "" (it
    varies, nobody can say how)."""
    modes = {h.mode for _, a, _ in exits if (h := a.get(key)) is not None}
    if len(modes) <= 1:
        return (modes.pop() if modes else first), None
    for i, p in enumerate(info.params):
        w = {a.fact(p) for _, a, _ in exits if (h := a.get(key)) is not None
             and h.mode == "write"}
        r = {a.fact(p) for _, a, _ in exits if (h := a.get(key)) is not None
             and h.mode == "read"}
        if w and r and w <= {NZ, POS, NEG} and r == {ZERO}:
            return "", f"${i}"
    return "", None


def _conditional_release(
    f: FunctionUnit, res: Result, exits: list[tuple[int, State, State]]
) -> Summary | None:
    """A helper that drops its caller's lock exactly when it fails
    (sched_wait_rendezvous_in() returns NULL having unlocked): a release
    that happens on the "zero" result, as a trylock's acquire happens on
    the non-zero one."""
    assert f.info is not None
    info = f.info
    partial = [
        k for k in sorted(res.entry_keys)
        if any(a.get(k) is None for _, a, _ in exits)
        and any(a.get(k) is not None for _, a, _ in exits)
    ]
    if not partial:
        return None
    freed = {_released_class(f, n, a) for n, a, _ in exits
             if all(a.get(k) is None for k in partial)}
    kept = {ret_class(f, n, a) for n, a, _ in exits if all(a.get(k) is not None for k in partial)}
    ok_kept = {POS, NZ, None} if _returns_pointer(f) else {POS, NZ}
    if freed == {ZERO} and kept and kept <= ok_kept:
        success = "zero"
    elif not _returns_pointer(f) and kept == {ZERO} and freed and freed <= {NEG, NZ}:
        # int helpers: 0 with the lock still held, -errno having dropped it
        # (vpci_msix_arch_print()).
        success = "nz"
    else:
        return None
    effects = []
    for k in partial:
        t = template(k, info)
        e0 = next((a.effect for acts in info.acts for a in acts if isinstance(a, OpAct)
                   and a.effect.key == k and a.effect.action == "release"), None)
        if t is None or e0 is None:
            return None
        effects.append(Effect("release", e0.kind, "", "any", t, None, f.name, inferred=True,
                              irq=_irq_dropped((e0,))))
    return Summary(tuple(effects), success)


def _local_head(key: str, info: FunctionInfo) -> bool:
    return key_head(key) in info.locals
