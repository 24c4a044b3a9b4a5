"""XL017's records across files in their text form (lint/irqwitness.py
makes and merges them): a take of another file's lock named as a
``Witness`` (where, in which function, through what), and a function's
takes and hops as ``Template`` effects of its record -- what the tree
cache keeps and the merge reads back."""

from __future__ import annotations

from dataclasses import dataclass

from xenpatch.analysis.irqtakes import Template
from xenpatch.analysis.locktable import Effect, Summary

_WITNESS = "irqwitness"


@dataclass(frozen=True)
class Witness:
    fn: str
    file: str
    line: int
    via: str
    key: str
    # Through a callee's take on paths its call site must agree with
    # (arguments non-NULL, path conditions): marks the file for its second
    # pass, which binds them, but names no take to another file (merge()).
    weak: bool = False
    # A take inside another file's function (a call's, composed here): a
    # pair of the file's own with it is none the one-file check sees.
    through: bool = False


def witness_effect(state: str, w: Witness) -> Effect:
    return Effect(_WITNESS, "spin", state, "plain", w.key, None,
                  f"{w.fn}|{w.file}|{w.line}|{w.via}", inferred=True)


def witnesses_of(s: Summary) -> list[Witness]:
    out = []
    for e in s.effects:
        parts = e.via.split("|")
        if e.action == _WITNESS and len(parts) == 4 and parts[2].isdigit():
            out.append(Witness(parts[0], parts[1], int(parts[2]), parts[3], e.key))
    return out


def record_templates(s: Summary, action: str = "irqtake") -> list[Template]:
    """A record's templates: its takes (``irqtake``), or its calls of other
    files' functions in its callers' state (``irqcall``, HOPS)."""
    return [Template(e.key, e.kind, e.flavour == "irq", e.via, e.origin or "",
                     call=action == "irqcall", nonnull=_indexes(e.nonnull), conds=e.conds or "",
                     some=e.mode == _SOME)
            for e in s.effects if e.action == action]


def effect(t: Template) -> Effect:
    """A template as its record's effect (record_templates() reads it back)."""
    return Effect("irqcall" if t.call else "irqtake", t.kind, _SOME if t.some else "",
                  "irq" if t.off else "plain",
                  t.key, None, t.via, inferred=True, origin=t.ident or None,
                  nonnull=",".join(map(str, t.nonnull)) or None, conds=t.conds or None)


# Effect.mode of a record's template holding on some paths of a hop only.
_SOME = "some"


def _indexes(text: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",")) if text else ()


__all__ = ["Witness", "effect", "record_templates", "witness_effect", "witnesses_of"]
