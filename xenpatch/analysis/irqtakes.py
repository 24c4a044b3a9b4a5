"""Where a function takes a lock, itself or inside the functions it calls,
and in which IRQ state: what XL017 compares across files (lint/irqwitness.py).

A take is one of:

- a lock operation of the function (the table's, a wrapper's): with IRQs
  off whatever the state when it is an ``_irq``/``_irqsave`` form, in the
  state the function is in there when it is plain;
- a take inside a callee, from the callee's own record (``Template``):
  "off" (its ``_irq``/``_irqsave`` take), or "entry" -- a plain take no IRQ
  move of the callee precedes on any path, which happens in the state the
  caller calls it in.  A plain take after an IRQ move of the callee says
  nothing about the caller's state and is not recorded at all.

Summaries of the lock API (locktable "take" effects) do not say whether an
IRQ move precedes a callee's plain take, and leave out takes a parameter's
value decides (xmalloc()'s pool lock, taken for small sizes only), which a
caller holding a lock must not meet but which still fix the lock's IRQ
safety when they happen: so the record here is its own, computed from the
function's acts and CFG, a callee's bound at each call through the macros
of the file's headers (``xmalloc(t)`` is ``_xmalloc(sizeof(t), ...)``).

A callee's record may hold a take (or a call of another file's function)
on some of its paths only, when no caller's argument decides them
(lint/irqwitness.py, pathconds.blind_to_caller()): with the pointer
parameters the path needs non-NULL, which a call binds where its argument
was dereferenced first on every path (nonnull_at()), and what the path
tests, which a call's own path may contradict (pathconds.may_exclude()).

Nothing here knows where a state comes from: the caller replays its own
run's states (state_at()).  What the code after a point states is here,
though (ahead_states()): every path from a plain take reaching, before any
IRQ move, an ``_irq`` lock op (Xen's _spin_lock_irq() and its rwlock kin
ASSERT(local_irq_is_enabled()), since b9efe73964 in 2008) or an assertion
on the IRQ state says what the state was at the take; a path returning
first, a move first, or a loop that may not reach it says nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from xenpatch.analysis import pathconds
from xenpatch.analysis.events import IrqAct, OpAct
from xenpatch.analysis.functions import INDEXED
from xenpatch.analysis.irqstate import IRQ_FLAVOURS, is_irq_move, transfer
from xenpatch.analysis.lockkeys import apply_aliases, squash
from xenpatch.analysis.locktable import Effect, Wrapper, substitute
from xenpatch.analysis.onceguards import once_nodes
from xenpatch.analysis.pathstate import UNKNOWN, Result, State
from xenpatch.analysis.takes import every_path_nodes
from xenpatch.analysis.templates import instantiate
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import Cfg, Kind, call_args, call_name, predecessors
from xenpatch.c.source import walk
from xenpatch.graphs import reachable

# IRQ acts that read or state the IRQ state without changing it.
_NOT_MOVES = frozenset({"assert_on", "assert_off", "read"})
# Macros followed to the function a call reaches (xmalloc -> _xmalloc).
_MACRO_DEPTH = 4


# A take's key naming a struct field's class, not an argument's lock: a
# parameter's field taken two files away, whose parameter no record maps
# to its caller's (lint/irqwitness.composed()): CLASS + the identity.
CLASS = "$?"


def class_key(ident: str) -> str:
    return CLASS + ident


def shown(ident: str) -> str:
    """An identity as C spells it: ``struct domain->page_alloc_lock``."""
    t, _, path = ident.partition("#")
    for kw in ("struct", "union", "enum"):
        if t.startswith(kw) and len(t) > len(kw):
            t = f"{kw} {t[len(kw):]}"
            break
    return t + path


@dataclass(frozen=True)
class Template:
    """A take inside a function, in its callers' terms: ``key`` with $i for
    its parameters; ``off`` for an ``_irq``/``_irqsave`` take, else one in
    the state the function was entered in; ``ident``: the lock's identity
    as the defining file named it, for a lock of file scope (a static
    object is its file's alone) or a parameter's struct field (its class,
    which lint/irqwitness.merge() reads; a call names the lock as its
    argument does), else ""."""

    key: str
    kind: str
    off: bool
    via: str
    ident: str = ""
    # Not a take: a call of another file's function (``key``, its name)
    # no IRQ move of the function precedes, made in its caller's state.
    call: bool = False
    # The parameters the path to it needs non-NULL (pathconds.
    # blind_to_caller()): a call binds them (nonnull_at()).
    nonnull: tuple[int, ...] = ()
    # What the path to it tests (pathconds.encode(), ${i} for parameters),
    # for a take or call on some paths: a caller whose own path to the
    # call may contradict it does not meet it (pathconds.may_exclude()).
    conds: str = ""
    # Through another file's function called on some paths only (a hop
    # of lint/irqwitness.py): a take a caller may meet, which names no
    # take of the tree's (the object's state deciding it may be one its
    # callers never have: xfree() frees a big block's pages).
    some: bool = False


@dataclass(frozen=True)
class Take:
    """A take in a function: at CFG ``node``, (line, col); ``key`` in the
    function's terms; ``clean``: no IRQ move of the function precedes it
    on any path (it happens in the entry state, unless ``off``)."""

    node: int
    line: int
    col: int
    key: str
    kind: str
    off: bool
    clean: bool
    via: str
    ident: str = ""
    callee: str = ""
    every: bool = True  # the call of ``callee`` is on every path of the function
    some: bool = False  # the callee's take is through a hop on some paths (Template.some)


@dataclass(frozen=True)
class Call:
    """A call of a function the record of which is not known here (another
    file's): its state is what another file's record binds to."""

    node: int
    line: int
    col: int
    name: str
    clean: bool = False  # no IRQ move of the function precedes it
    every: bool = False  # on every path from the function's entry to a return


def _moves(act: object) -> bool:
    return is_irq_move(act) and not (isinstance(act, IrqAct) and act.op in _NOT_MOVES)


def tainted(cfg: Cfg, acts: Sequence[Sequence[object]]) -> set[int]:
    """The nodes some IRQ move of the function may precede on entry to the
    node (a node with a move of its own is tainted after it: see Take)."""
    movers = [i for i, a in enumerate(acts) if any(_moves(x) for x in a)]
    if not movers:
        return set()
    return reachable([s for m in movers for s in cfg.nodes[m].succ],
                     lambda i: cfg.nodes[i].succ)


def _before_in_node(acts: Sequence[object], line: int, col: int) -> bool:
    """Does an IRQ move of the node come before (line, col)?"""
    return any(_moves(a) and (getattr(a, "line", 0), getattr(a, "col", 0)) < (line, col)
               for a in acts)


def unchecked_nodes(f: FunctionUnit, names: frozenset[str]) -> set[int]:
    """The CFG nodes a call of one of ``names`` (after which check_lock()
    checks nothing: spin_debug_disable()) may precede, its own included:
    a take there latches nothing.  Its re-enabling is not followed.  With
    them, the nodes where the check is off by the way f is entered (its
    ``unarmed``, analysis/unarmed.py)."""
    cfg = f.cfg
    if cfg is None or not names or not any(n.encode() in f.src.text(f.node).encode()
                                           for n in names):
        return set(f.unarmed) if cfg is not None else set()
    return calls_reach(f, names) | f.unarmed


def calls_reach(f: FunctionUnit, names: frozenset[str]) -> set[int]:
    """The CFG nodes a call of one of ``names`` may precede, its own node
    included."""
    cfg = f.cfg
    if cfg is None or not names or not any(n.encode() in f.src.text(f.node).encode()
                                           for n in names):
        return set()
    at = call_nodes(f, names)
    return reachable(at, lambda i: cfg.nodes[i].succ) if at else set()


def call_nodes(f: FunctionUnit, names: frozenset[str]) -> list[int]:
    """The CFG nodes holding a call of one of ``names``."""
    cfg = f.cfg
    if cfg is None:
        return []
    calls = _calls_under(f)
    return [node.id for node in cfg.nodes if node.ast is not None and any(
        call_name(f.src, c) in names for c in calls(node.ast))]


def function_takes(f: FunctionUnit, kinds: frozenset[str],
                   callee: Callable[[str], Sequence[Template] | None],
                   macros: Mapping[str, Wrapper], table_names: frozenset[str],
                   unchecked: frozenset[str] = frozenset(),
                   ) -> tuple[list[Take], list[Call]]:
    """f's takes of locks of ``kinds`` (module doc), and its calls of the
    functions ``callee`` has no record of (None), once per node and name.
    ``macros``: the header macros that call a function; ``table_names``:
    the lock API (its ops are f's acts already); ``unchecked``: calls
    after which check_lock() checks nothing (unchecked_nodes()): the takes
    and calls they may precede are left out."""
    info, cfg = f.info, f.cfg
    if info is None or cfg is None:
        return [], []
    bad = tainted(cfg, info.acts)
    # After check_lock() is off, and in a set-up run once in the first
    # caller's context (onceguards.py): nothing of any other caller's.
    dead = unchecked_nodes(f, unchecked) | once_nodes(f.src, cfg)
    out: list[Take] = []
    for n, acts in enumerate(info.acts):
        if n in dead:
            continue
        for a in acts:
            if not isinstance(a, OpAct) or a.effect.action != "acquire" or \
                    a.effect.inferred or a.effect.kind not in kinds:
                continue
            e = a.effect
            out.append(Take(n, a.line, a.col, e.key, e.kind, e.flavour in IRQ_FLAVOURS,
                            n not in bad and not _before_in_node(acts, a.line, a.col), e.via))
    calls: list[Call] = []
    seen: set[tuple[int, str]] = set()
    under = _calls_under(f)
    # The nodes on every path, found once (not walked per node asked).
    every: list[frozenset[int]] = []

    deciders: list[pathconds.Deciders] = []
    at: dict[int, list[pathconds.Cond]] = {}

    def conds_at(i: int) -> list[pathconds.Cond]:
        if i not in at:
            if not deciders:
                deciders.append(pathconds.Deciders(cfg))
            at[i] = pathconds.decided_conds(f.src, cfg, i, deciders[0])
        return at[i]

    def on_every(i: int) -> bool:
        if not every:
            every.append(every_path_nodes(cfg))
        return i in every[0]

    for node in cfg.nodes:
        if node.ast is None or node.id >= len(info.acts) or node.id in dead:
            continue
        for c in under(node.ast):
            got = _reached(f, c, macros, table_names)
            if got is None:
                continue
            name, args = got
            line, col = f.src.line_col(c.start_byte)
            recs = callee(name)
            clean = node.id not in bad and not _before_in_node(info.acts[node.id], line, col)
            if recs is None:
                if (node.id, name) not in seen:
                    seen.add((node.id, name))
                    calls.append(Call(node.id, line, col, name, clean, on_every(node.id)))
                continue
            for t in recs:
                if t.nonnull and not all(i < len(args) and nonnull_at(f, node.id, args[i])
                                         for i in t.nonnull):
                    continue  # its path needs an argument this call may pass NULL
                if t.conds and pathconds.may_exclude(
                        conds_at(node.id), pathconds.decode(pathconds.bind(t.conds, args))):
                    continue  # this call's path and the callee's may exclude each other
                if t.call:
                    # Another file's function the callee calls on entry, on
                    # every path: called here, in this state.
                    if (node.id, t.key) not in seen:
                        seen.add((node.id, t.key))
                        calls.append(Call(node.id, line, col, t.key, clean,
                                          on_every(node.id) and not t.some))
                    continue
                if t.kind not in kinds:
                    continue
                key, ident = t.key, t.ident
                if key.startswith(CLASS):
                    # A class reached through a hop: no argument here names
                    # which object, so its class does.
                    key = shown(ident)
                elif "$" in key:
                    # Named here as the argument names it: a file-scope
                    # object's own identity, not its struct's class.
                    ident = ""
                    key = instantiate(Effect("take", t.kind, "", "plain", key, None, t.via),
                                      args).key
                    if "$" in key:
                        continue
                key = apply_aliases(key, info.aliases)
                out.append(Take(node.id, line, col, key, t.kind, t.off, clean, t.via,
                                ident, name, on_every(node.id), t.some))
    return out, calls


def nonnull_at(f: FunctionUnit, node: int, arg: str) -> bool:
    """Is ``arg`` known non-NULL at CFG ``node`` of f: one of f's
    parameters its body never assigns, dereferenced (``arg->``, a lock op
    on ``&arg->lock``) at a node every path to ``node`` passes first?  A
    NULL one would have faulted there."""
    info, cfg = f.info, f.cfg
    arg = squash(arg)
    if info is None or cfg is None or arg not in info.params:
        return False
    a = re.escape(arg)
    # Assigned, stepped, or its own address taken (``&r->lock`` is the
    # field's): it may hold another value at the call.
    if re.search(rf"(?<![\w.>]){a}\s*(?:[-+*/%|&^]|<<|>>)?=(?!=)|(?<![\w.>]){a}\s*(?:\+\+|--)"
                 rf"|(?:\+\+|--)\s*{a}\b|&\s*{a}\b(?!\s*(?:->|\[|\.))",
                 f.src.text(f.node)) is not None:
        return False
    deref = re.compile(rf"(?<![\w.>]){a}\s*->")
    for d in cfg.nodes:
        if d.id == node or d.ast is None or d.id >= len(info.acts):
            continue
        if deref.search(f.src.text(d.ast)) is None and not any(
                isinstance(a, OpAct) and deref.match(a.effect.key.lstrip("&")) is not None
                for a in info.acts[d.id]):
            continue
        # d dominates node: no path from the entry reaches node avoiding d.
        if d.id == cfg.entry or node not in _reach_avoiding(cfg, d.id):
            return True
    return False


def _reach_avoiding(cfg: Cfg, avoid: int) -> set[int]:
    """The nodes reached from the entry on paths not through ``avoid``."""
    return reachable([cfg.entry], lambda i: [s for s in cfg.nodes[i].succ if s != avoid])


def _calls_under(f: FunctionUnit) -> Callable[[Node], list[Node]]:
    """The calls in a CFG node's subtree, in pre-order: from the body's node
    index (SourceFile.node_index(), shared with fill_actions()), not a walk
    of every node of the subtree."""
    cfg = f.cfg
    if cfg is None or cfg.body is None:
        return lambda ast: [c for c in walk(ast) if c.type == "call_expression"]
    index = f.src.node_index(cfg.body, INDEXED)
    return lambda ast: [c for c in index.under(ast) if c.type == "call_expression"]


def _reached(f: FunctionUnit, call: Node, macros: Mapping[str, Wrapper],
             table_names: frozenset[str]) -> tuple[str, list[str]] | None:
    """The function a call reaches through the header macros, with its
    arguments; None for the lock API's own ops and calls of no name."""
    name = call_name(f.src, call)
    if name is None or name in table_names:
        return None
    args = [f.src.text(a) for a in call_args(call)]
    for _ in range(_MACRO_DEPTH):
        w = macros.get(name)
        if w is None:
            break
        name, args = w.target, [substitute(a, args) for a in w.args]
        if name in table_names:
            return None
    return name, args


# IRQ acts that state the IRQ state at the point they are reached: an
# assertion, and an _irq lock op (Xen's _spin_lock_irq() and its kin
# ASSERT(local_irq_is_enabled()) before they disable, since b9efe73964).
_STATES = {"assert_on": "on", "lock_off": "on", "assert_off": "off"}
_MOVED = "x"  # no state ahead: a move (or an exit) comes first on some path


def _first_ahead(acts: Sequence[object], after: tuple[int, int] | None) -> str | None:
    """What the node's first IRQ act (after position ``after``; None: the
    whole node) says of the state before it: "on"/"off" for one that states
    it, _MOVED for a move, None when the node has neither."""
    for a in acts:
        if after is not None and (getattr(a, "line", 0), getattr(a, "col", 0)) <= after:
            continue
        if isinstance(a, IrqAct) and a.op in _STATES:
            return _STATES[a.op]
        if _moves(a):
            return _MOVED
    return None


def ahead_seeds(cfg: Cfg, acts: Sequence[Sequence[object]]) -> dict[int, str]:
    """The nodes settled by their own acts (the first IRQ statement or move
    among them), where ahead_states() starts from."""
    val: dict[int, str] = {}
    for node in cfg.nodes:
        got = _first_ahead(acts[node.id], None) if node.id < len(acts) else None
        if got is not None:
            val[node.id] = got
    return val


def ahead_states(cfg: Cfg, acts: Sequence[Sequence[object]]) -> dict[int, str]:
    """The IRQ state on entry to each CFG node that every path from it
    states before any IRQ move: an _irq lock op or an assertion reached on
    every path to a return ("on"/"off"; _MOVED where they differ, a move
    comes first or a path returns first).  A path that ends in a call that
    never returns states nothing and is not counted; a loop that may not
    reach the statement (none of its nodes is settled) gives nothing.
    Callees are taken to leave the state as they found it unless their
    summary says they enable, as the forward dataflow takes them."""
    if not cfg.complete:
        return {}
    val = ahead_seeds(cfg, acts)
    # A node is settled once every successor is (its value never changes
    # after), so the order does not matter: a worklist from the settled
    # nodes back along the edges, not a sweep of the CFG per settled node.
    nodes = cfg.nodes
    preds = predecessors(cfg)
    work = [n.id for n in nodes if n.id not in val and n.kind != Kind.ABORT
            and all(nodes[s].kind == Kind.ABORT for s in n.succ)]
    for n in work:
        val[n] = _MOVED  # the exit, or only aborts ahead: nothing stated
    seeded = set(work)
    work.extend(n for n in val if n not in seeded)
    while work:
        settled = work.pop()
        for p in preds.get(settled, ()):
            node = nodes[p]
            if p in val or node.kind == Kind.ABORT:
                continue
            succ = [s for s in node.succ if nodes[s].kind != Kind.ABORT]
            if any(s not in val for s in succ):
                continue
            vs = {val[s] for s in succ}
            val[p] = vs.pop() if len(vs) == 1 else _MOVED
            work.append(p)
    return {n: v for n, v in val.items() if v != _MOVED}


def ahead_at(ahead: Mapping[int, str], cfg: Cfg, acts: Sequence[Sequence[object]], node: int,
             line: int, col: int) -> str | None:
    """The state every path from (line, col) of CFG ``node`` states before
    any IRQ move (ahead_states()), or None."""
    got = _first_ahead(acts[node], (line, col)) if node < len(acts) else None
    if got is not None:
        return None if got == _MOVED else got
    succ = [s for s in cfg.nodes[node].succ if cfg.nodes[s].kind != Kind.ABORT]
    vs = {ahead.get(s) for s in succ}
    return vs.pop() if len(vs) == 1 and None not in vs else None


def settle(known: str | None, seen: Iterable[str | None], ahead: str | None) -> str | None:
    """A take's state: ``known`` (every path reaching it agrees), else
    ``ahead`` (every path from it states it) where no path reaching it
    says otherwise (one that does breaks the statement: the IRQ checks'
    business, not a state to read)."""
    if known is not None or ahead is None:
        return known
    return ahead if set(seen) <= {None, ahead} else None


def state_at(res: Result, acts: Sequence[Sequence[object]], node: int, line: int,
             col: int) -> str | None:
    """The IRQ state every path of the run agrees on at (line, col) of CFG
    ``node``: "on", "off", or None."""
    return state_in([st for n, st in res.parents if n == node], acts, node, line, col)


def _state_of(st: State, acts: Sequence[Sequence[object]], node: int, line: int,
              col: int) -> str | None:
    cur = st
    for a in acts[node]:
        if (getattr(a, "line", 0), getattr(a, "col", 0)) < (line, col) and is_irq_move(a):
            cur = transfer(cur, a)  # type: ignore[arg-type]
    return None if cur.fact(UNKNOWN) is not None else cur.fact("%irq")


def states_by_node(res: Result) -> dict[int, list[State]]:
    """The run's states on entry to each CFG node (for state_in(): one pass
    over the run's states, not one per question)."""
    out: dict[int, list[State]] = {}
    for n, st in res.parents:
        got = out.get(n)
        if got is None:
            out[n] = [st]
        else:
            got.append(st)
    return out


def state_in(states: Sequence[State], acts: Sequence[Sequence[object]], node: int, line: int,
             col: int, ahead: str | None = None) -> str | None:
    """state_at() from the run's ``states`` on entry to ``node``
    (states_by_node()); ``ahead``: the state every path from there states
    (ahead_at()), read where the run's states do not know (settle())."""
    if ahead is not None and states:
        seen_all = {_state_of(st, acts, node, line, col) for st in states}
        known = next(iter(seen_all)) if len(seen_all) == 1 and None not in seen_all else None
        return settle(known, seen_all, ahead)
    seen: set[str | None] = set()
    for st in states:
        cur = st
        for a in acts[node]:
            # A node's acts come in evaluation order, not by position.
            if (getattr(a, "line", 0), getattr(a, "col", 0)) < (line, col) and is_irq_move(a):
                cur = transfer(cur, a)  # type: ignore[arg-type]
        seen.add(None if cur.fact(UNKNOWN) is not None else cur.fact("%irq"))
        if len(seen) > 1:
            return None
    return next(iter(seen)) if len(seen) == 1 and None not in seen else None


__all__ = ["Call", "Take", "Template", "ahead_at", "ahead_seeds", "ahead_states", "call_nodes",
           "calls_reach",
           "function_takes",
           "nonnull_at", "settle",
           "state_at", "state_in", "states_by_node", "tainted", "unchecked_nodes"]
