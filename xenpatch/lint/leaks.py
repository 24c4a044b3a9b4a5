"""Locks still held where a function returns (XL001), and IRQ-flavour
swaps nobody settled by the exit (XL003): what the exit classification of
xenpatch.analysis.summaries says is not by design."""

from __future__ import annotations

from xenpatch.analysis.pathstate import UNKNOWN, Result, State
from xenpatch.analysis.summaries import classify_exits
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.lint.checks import ALTERNATES, CHECKS, RawFinding, Witnesses, pick_agreeing


def leak_findings(
    f: FunctionUnit, res: Result, paired: frozenset[tuple[str, str]] = frozenset(),
    w: Witnesses | None = None,
) -> list[RawFinding]:
    """``paired``: lock shapes other functions of the file release without
    taking them (the other half of an enter/leave pair).  ``w``: whether a
    candidate's path agrees with itself (checks.pick_agreeing): of the
    states that leak a lock at one return, the first whose does is shown,
    and none if no path to that return holding it agrees."""
    assert f.cfg is not None
    ex = classify_exits(f, res, paired)
    if ex is None:
        return []
    leaks: list[RawFinding] = []
    seen: set[tuple[int, str]] = set()
    # An acquire helper's failure returns that still hold its lock.
    for n, after, before, h in ex.failing:
        if (n, h.key.rstrip("'")) not in seen and after.fact(UNKNOWN) is None:
            seen.add((n, h.key.rstrip("'")))
            node = f.cfg.nodes[n]
            msg = CHECKS["XL001"].message.format(key=h.key.rstrip("'"), acq_line=h.line)
            leaks.append(RawFinding("XL001", n, before, node.line, node.col, h.key, msg, h.site))
    held: dict[tuple[int, str], list[RawFinding]] = {}
    states: dict[tuple[int, str], list[State]] = {}
    for n, after, before in ex.exits:
        if after.fact(UNKNOWN) is not None:
            continue  # a path through an effect nobody can state
        for h in after.held:
            if h.unknown:
                continue  # it may or may not be held: nothing is said of it
            k = (n, h.key.rstrip("'"))
            if h.key in ex.partial and k not in seen:
                got = held.setdefault(k, [])
                states.setdefault(k, []).append(before)
                if len(got) < ALTERNATES:
                    node = f.cfg.nodes[n]
                    msg = CHECKS["XL001"].message.format(key=k[1], acq_line=h.line)
                    got.append(RawFinding("XL001", n, before, node.line, node.col, h.key,
                                          msg, h.site))
    for k, c in held.items():
        r = pick_agreeing(c, states[k], w)
        if r is not None:
            leaks.append(r)
    seen.update(held)
    # IRQ-flavour swaps nobody settled by the exit (see Engine.release).
    for _n, after, before in ex.exits:
        if after.fact(UNKNOWN) is not None:
            continue
        for _, sw in after.owed:
            if (sw.node, "XL003:" + sw.key) in seen:
                continue
            seen.add((sw.node, "XL003:" + sw.key))
            msg = CHECKS["XL003"].message.format(key=sw.key, via=sw.via, acq_via=sw.acq_via)
            leaks.append(RawFinding("XL003", sw.node, before, sw.line, sw.col, sw.key, msg,
                                    sw.site))
    return leaks
