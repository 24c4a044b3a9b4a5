"""Locks still held where a function returns (XL001), and IRQ-flavour
swaps nobody settled by the exit (XL003): what the exit classification of
xenpatch.analysis.summaries says is not by design."""

from __future__ import annotations

from xenpatch.analysis.pathstate import UNKNOWN, Result
from xenpatch.analysis.summaries import classify_exits
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.lint.checks import CHECKS, RawFinding


def leak_findings(
    f: FunctionUnit, res: Result, paired: frozenset[tuple[str, str]] = frozenset()
) -> list[RawFinding]:
    """``paired``: lock shapes other functions of the file release without
    taking them (the other half of an enter/leave pair)."""
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
    for n, after, before in ex.exits:
        if after.fact(UNKNOWN) is not None:
            continue  # a path through an effect nobody can state
        for h in after.held:
            if h.unknown:
                continue  # it may or may not be held: nothing is said of it
            if h.key in ex.partial and (n, h.key.rstrip("'")) not in seen:
                seen.add((n, h.key.rstrip("'")))
                node = f.cfg.nodes[n]
                msg = CHECKS["XL001"].message.format(key=h.key.rstrip("'"), acq_line=h.line)
                leaks.append(RawFinding("XL001", n, before, node.line, node.col, h.key, msg,
                                        h.site))
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
