"""What a branch on a repeated condition teaches the path along each edge,
and what the path already knows of it: shared by the held-lock engine's
branches (dataflow.py)."""

from __future__ import annotations

from xenpatch.analysis.events import Taught
from xenpatch.analysis.pathstate import State


def repeated_fact(s: State, text: str) -> str | None:
    """What the path knows of a repeated condition ("T"/"F")."""
    return s.fact("?" + text)


def taught_edges(s: State, succs: tuple[int, int], taught: list[Taught]) -> list[tuple[int, State]]:
    """The successors a branch's taught edges (Branch.repeated(), ordered())
    lead to, each state with what its edge teaches."""
    out = []
    for i, learned in taught:
        x = s
        for text, value in learned:
            x = x.with_fact("?" + text, value)
        out.append((succs[i], x))
    return out


def remembered(br, v: str | None, sides: list[State | None]) -> list[State | None]:
    """The (true, false) states after the repeated condition ``br.text``,
    whose fact on the path is ``v`` ("T"/"F"; None: not known yet, so each
    side remembers its outcome); a side None is not taken."""
    k = "?" + br.text
    yes, no = ("F", "T") if br.negated else ("T", "F")
    if v is not None:
        return [sides[0] if v == yes else None, sides[1] if v == no else None]
    return [x.with_fact(k, val) if x is not None else None
            for x, val in zip(sides, (yes, no), strict=True)]
