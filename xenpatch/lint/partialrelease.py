"""XL019: a lock the function requires held on entry -- it asserts so, or
a callee it calls at its entry does (analysis/preconditions.py) -- is
released on some paths to a return and still held on others that give the
caller the same value.  The caller cannot tell whether it still holds the
lock, and one of the two kinds of path is wrong: the PoD code's
``p2m_unlock()`` on one of the paths returning 0 of a function that
asserts the p2m lock held, which every other path returning 0 keeps.

A helper whose result says which happened (summaries._conditional_release:
the lock dropped exactly when it fails) is not reported, nor is a path
through an effect nobody can state, nor a lock the function re-takes
before returning.  The returns of the rarer kind are reported (the
releasing ones on a tie), naming a return of the other kind.
"""

from __future__ import annotations

from xenpatch.analysis.pathstate import UNKNOWN, Result, State
from xenpatch.analysis.preconditions import Preconditions
from xenpatch.analysis.summaries import classify_exits, ret_class
from xenpatch.analysis.templates import template
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import NEG, NZ, POS, ZERO
from xenpatch.c import fields as fid
from xenpatch.lint.checks import CHECKS, RawFinding

Exit = tuple[int, State, State]
_SAID = {ZERO: "0", NEG: "a negative value", POS: "a positive value", NZ: "non-zero"}


def partial_release_findings(pre: Preconditions, f: FunctionUnit,
                             res: Result) -> list[RawFinding]:
    """XL019 findings of one analysed function."""
    assert f.cfg is not None and f.info is not None
    required = {r.key: r for r in pre.of(f.name)}
    if not required or not res.entry_keys:
        return []
    ex = classify_exits(f, res)
    if ex is None:
        return []
    exits = [x for x in ex.exits if x[1].fact(UNKNOWN) is None]
    void = _returns_void(f)
    out: list[RawFinding] = []
    for k in sorted(res.entry_keys):
        req = required.get(template(k, f.info) or "")
        if req is None:
            continue
        freed = [x for x in exits if x[1].get(k) is None]
        kept = [x for x in exits if (h := x[1].get(k)) is not None and not h.unknown]
        if not freed or not kept:
            continue
        value = _shared_value(f, freed, kept, void)
        if value is None:
            continue
        mine, other = (freed, kept) if len(freed) <= len(kept) else (kept, freed)
        n, _, before = next(x for x in mine if void or _value(f, x) == value)
        o = next(x for x in other if void or _value(f, x) == value)[0]
        node = f.cfg.nodes[n]
        msg = CHECKS["XL019"].message.format(
            key=k, how="released" if mine is freed else "still held",
            other="keeps it held" if mine is freed else "releases it",
            other_line=f.cfg.nodes[o].line, value="" if void else f" ({_SAID.get(value, value)})",
            why=f"'{req.via}' asserted at line {req.line}" if req.func == f.name
            else f"its callee '{req.func}' asserts so")
        out.append(RawFinding("XL019", n, before, node.line, node.col, k, msg))
    return out


def _value(f: FunctionUnit, x: Exit) -> str | None:
    return ret_class(f, x[0], x[1])


def _shared_value(f: FunctionUnit, freed: list[Exit], kept: list[Exit],
                  void: bool) -> str | None:
    """The value both kinds of return give (a class: "zero", "neg"...), ""
    for a function returning nothing; None when every value tells them
    apart or is not known."""
    if void:
        return ""
    common = {v for x in freed if (v := _value(f, x)) is not None} & {
        _value(f, x) for x in kept}
    return min(common) if common else None


def _returns_void(f: FunctionUnit) -> bool:
    """Declared ``void NAME(...)`` (not a pointer to void)."""
    t = f.node.child_by_field_id(fid.TYPE)
    d = f.node.child_by_field_id(fid.DECLARATOR)
    return t is not None and f.src.text(t) == "void" and d is not None and \
        d.type == "function_declarator"
