"""The two arms of a ?: that are lock calls, as one of them runs
(``v = c ? get_a(d) : get_b(d)``): the events of a node fill_actions()
makes are paired here, so that the same effects in both arms count once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from xenpatch.analysis.events import Act, Resolved, TryAssignAct


def signature(r: Resolved) -> tuple[tuple[str, ...], ...]:
    """What a call's lock effects do, to compare two arms of a ?:."""
    return tuple((e.action, e.key, e.kind, e.mode) for e in r.effects)


def _as_acquire(sig: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    """A try's effects as the acquire of the same lock's."""
    return tuple(("acquire", *rest) if action == "try" else (action, *rest)
                 for action, *rest in sig)


Events = list[tuple[int, int, Act]]
# One arm of a ?: that is a lock call: its effects, its events, and whether
# its lock is the object it returns (the ?:'s variable).
Arm = tuple[tuple[tuple[str, ...], ...], Events, bool]
Tried = tuple[tuple[tuple[str, ...], ...], tuple[int, int, Act]]


def paired_arms(events: Events, arms: Mapping[int, Mapping[bool, Arm]],
                 tries: Mapping[int, Mapping[bool, Tried]]) -> Events:
    """The events of a node's ?: arms that are lock calls, as one arm runs.
    Two arms with the same effects: once, not twice.  ``v = c ? try_get(x)
    : get(y)``, the two locking the same object through v: together a try
    on v (the acquire never returns NULL and holds what it returns), so the
    try's other arm is that acquire, not an arm leaving v unknown, and the
    acquire adds nothing.  An arm whose lock is the object it returns (a
    $ret helper), with an other arm that does not lock the same, is left
    out, as it was before arms had a target: which arm runs, the node does
    not say."""
    for start, sides in arms.items():
        for side, (sig, mine, returned) in sides.items():
            other = sides.get(not side)
            if other is not None and other[0] == sig:
                if not side:
                    # The same effects whichever arm runs: the true arm's.
                    drop = {id(x) for x in mine}
                    events = [x for x in events if id(x) not in drop]
                continue
            tried = tries.get(start, {}).get(not side)
            if tried is not None and _as_acquire(tried[0]) == _as_acquire(sig):
                at, order, act = tried[1]
                assert isinstance(act, TryAssignAct)
                events = [(at, order, replace(act, arm=False)) if x is tried[1] else x
                          for x in events]
            elif not returned:
                continue
            drop = {id(x) for x in mine}
            events = [x for x in events if id(x) not in drop]
    return events


__all__ = ["Arm", "Events", "Tried", "paired_arms", "signature"]
