"""Where a file's functions call holding a lock: the calls a whole-tree
run's second pass asks about (workers.again), and those of them a lint with
other files' take-only summaries shares with the lint without
(held_untracked(), for lint/once.py)."""

from __future__ import annotations

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.functions import INDEXED
from xenpatch.analysis.headers import inline_ids
from xenpatch.analysis.pathstate import Result, State
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import call_name
from xenpatch.c.source import walk
from xenpatch.graphs import reachable, reaches_any


def held_at_calls(f: FunctionUnit, res: Result,
                  ) -> tuple[set[str], dict[tuple[str, str], set[str]]]:
    """The names f calls at a node it may reach holding a lock, and per
    lock held at those calls (by what names it in every function,
    irqsafe.identity(): the struct type and the field path, or a
    file-scope name; where that is known) the names called holding it:
    the lazy plan's later round looks for other files' functions reached
    from those calls that take it (lazyrounds.py)."""
    out: set[str] = set()
    locks: dict[tuple[str, str], set[str]] = {}
    info = f.info
    from xenpatch.lint.irqsafe import identity

    for names, states in _holding(f, res):
        out |= names
        if info is None:
            continue
        for key in {h.key for st in states for h in st.held if not h.unknown}:
            if (got := identity(info, key)) is not None:
                locks.setdefault(got, set()).update(names)
    return out, locks


def _holding(f: FunctionUnit, res: Result) -> list[tuple[set[str], list[State]]]:
    """Per node reached holding a lock that calls something, the names it
    calls and the states it is reached in."""
    by_node: dict[int, list[State]] = {}
    for n, st in res.parents:
        if st.held:
            by_node.setdefault(n, []).append(st)
    out: list[tuple[set[str], list[State]]] = []
    body = f.cfg.body if f.cfg is not None else None
    # The body's node index (functions.collect() made it): its nodes under
    # a node of the body are walk()'s of those types.
    index = f.src.node_index(body, INDEXED) if body is not None else None
    for n, states in by_node.items():
        ast = f.cfg.nodes[n].ast if f.cfg is not None and n >= 0 else None
        if ast is None:
            continue
        inside = index is not None and body is not None and \
            body.start_byte <= ast.start_byte and ast.end_byte <= body.end_byte
        names = {name for c in (index.under(ast) if index is not None and inside else walk(ast))
                 if c.type == "call_expression" and (name := call_name(f.src, c))}
        if names:
            out.append((names, states))
    return out


def held_untracked(fa: FileAnalysis, held_by: list[tuple[FunctionUnit, set[str]]],
                   held_calls: frozenset[str]) -> frozenset[str]:
    """The held calls (closed over as held_calls is) of the functions that
    reach no function tracking a variable for a callee's take on its say
    alone (FunctionInfo.when_only), through the file's functions, its and
    its headers' macros (the lock wrappers among them too) and its
    headers' inlines.  Such a function's run
    tracks what a run with plain takes tracks, its callees' summaries
    differ from those of a run without the takes by takes only (which
    change no caller's state), so it holds the same locks at the same
    nodes as in a lint without those summaries: lint/once.py takes these
    calls for the first pass's too.  A tracking function's own run, or
    one through its summary, may differ (a guard parameter, paths told
    apart): left out.  ``held_calls``: all of them closed over, the
    answer where no function tracks such a variable."""
    # A unit whose preparation is deferred takes no lock: no "when" to track.
    tracking = {f.name for f in (*fa.order, *fa.header_fns.values())
                if f is not None and not f.deferred and f.info is not None
                and f.info.when_only}
    if not tracking:
        return held_calls
    headers = fa.headers

    def succ(n: str) -> set[str]:
        nxt: set[str] = set()
        g = fa.fns.get(n) or fa.header_fns.get(n)
        if g is not None:
            nxt |= {b.decode() for b in fa.identifiers(g)}
        for w in (fa.macro_calls.get(n), fa.table.wrappers.get(n), headers.wrappers.get(n)):
            if w is not None:
                nxt.add(w.target)
        if n in headers.inlines:
            nxt |= {b.decode() for b in inline_ids(headers, n)[0]}
        return nxt

    # The held_by functions of a file share most of what they reach
    # (grant_table.c's 37 each walked it whole): each name's successors
    # are found once, and what reaches no tracking function is not walked
    # again.
    touched = reaches_any(succ, tracking)

    return close_over(fa, set().union(*(c for f, c in held_by if not touched(f.name))))


def close_over(fa: FileAnalysis, names: set[str]) -> frozenset[str]:
    """``names`` plus every name the file's functions among them name,
    transitively: what runs under the callers' locks."""

    def succ(n: str) -> set[str]:
        g = fa.fns.get(n)
        w = fa.macro_calls.get(n)  # the file's macros (and its headers')
        nxt = {w.target} if w is not None else set()
        if g is not None:
            nxt |= {b.decode() for b in fa.identifiers(g)}
        return nxt

    return frozenset(reachable(names, succ))
