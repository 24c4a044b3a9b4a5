"""A witness path whose branches agree with each other.

The held-lock run remembers one parent per (node, state) pair: the first
way it reached it.  Where that way tests a value twice with outcomes that
cannot both hold (sidefacts.py), the finding is shown along another way to
the same pair, if the run's own transitions have one: a breadth-first
search over (node, state, side facts), the states stepped by the engine
itself (so the locks held along the new path are the run's), the side
facts kept by sidefacts.Agreement.  The search is bounded; when it finds
nothing the first way is kept, as before.

When the search runs out of paths (not of its bound) without reaching any
state that makes a finding, every way to the finding tests a value twice
with outcomes that cannot both hold: the finding is not reported
(none_agree(); issue 9 item 1, for the tests the run does not track).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from xenpatch.analysis.dataflow import Engine
from xenpatch.analysis.functions import FunctionInfo
from xenpatch.analysis.pathstate import Result, State
from xenpatch.analysis.sidefacts import Agreement, Side
from xenpatch.c.cfg import Cfg
from xenpatch.c.source import SourceFile

# Pairs the search may visit: a finding's path is short, and a function
# whose states run past this keeps its first witness.
SEARCH_LIMIT = 20000

Pair = tuple[int, State, Side]


def agreeing_path(src: SourceFile, cfg: Cfg, info: FunctionInfo, res: Result,
                  node: int, state: State) -> list[int] | None:
    """The nodes from the entry to ``node`` on a path whose branches agree
    and which reaches ``node`` holding what ``state`` holds; the run's own
    witness if it already agrees; None if none was found within the bound."""
    first = res.path(node, state)
    agree = Agreement(src, cfg, info)
    if not agree.contradicts(first):
        return first
    return _search(agree, cfg, info, res, node, {(state.held, state.owed)})[0]


def none_agree(src: SourceFile, cfg: Cfg, info: FunctionInfo, res: Result,
               node: int, states: Iterable[State]) -> bool:
    """Does every path of the run to ``node`` in one of ``states`` (as far
    as the locks held go) test a value twice with outcomes that cannot both
    hold?  Only when the search ran out of paths, not of its bound."""
    targets: set[tuple[object, object]] = {(s.held, s.owed) for s in states}
    found, exhausted = _search(Agreement(src, cfg, info), cfg, info, res, node, targets)
    return found is None and exhausted


def _search(agree: Agreement, cfg: Cfg, info: FunctionInfo, res: Result,
            node: int, targets: set[tuple[object, object]]) -> tuple[list[int] | None, bool]:
    """A path whose branches agree to ``node`` in a target (held, owed),
    and whether the search saw every such path (False: it stopped at its
    bound)."""
    start = next((p for p, par in res.parents.items() if par is None), None)
    if start is None:
        return None, False
    eng = Engine(cfg, info, None, res.path_sensitive)
    eng.entry_keys = res.entry_keys
    root: Pair = (start[0], start[1], ())
    parents: dict[Pair, Pair | None] = {root: None}
    work = deque([root])
    while work:
        here = work.popleft()
        n, st, side = here
        for succ, nst in eng.step(n, st):
            if succ < 0:
                continue
            nside = agree.advance(side, n, succ)
            if nside is None:
                continue
            pair = (succ, nst, nside)
            if pair in parents:
                continue
            parents[pair] = here
            if succ == node and (nst.held, nst.owed) in targets:
                out: list[int] = []
                cur: Pair | None = pair
                while cur is not None:
                    out.append(cur[0])
                    cur = parents[cur]
                out.reverse()
                return out, True
            if len(parents) > SEARCH_LIMIT:
                return None, False
            work.append(pair)
    return None, True
