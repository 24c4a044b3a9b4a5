"""A witness path whose branches agree with each other.

The held-lock run remembers one parent per (node, state) pair: the first
way it reached it.  Where that way tests a value twice with outcomes that
cannot both hold (sidefacts.py), the finding is shown along another way to
the same pair, if the run's own transitions have one: a breadth-first
search over (node, state, side facts), the states stepped by the engine
itself (so the locks held along the new path are the run's), the side
facts kept by sidefacts.Agreement.  The search is bounded; when it finds
nothing the first way is kept, as before.
"""

from __future__ import annotations

from collections import deque

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
    start = next((p for p, par in res.parents.items() if par is None), None)
    if start is None:
        return None
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
            if succ == node and nst.held == state.held and nst.owed == state.owed:
                out: list[int] = []
                cur: Pair | None = pair
                while cur is not None:
                    out.append(cur[0])
                    cur = parents[cur]
                out.reverse()
                return out
            if len(parents) > SEARCH_LIMIT:
                return None
            work.append(pair)
    return None
