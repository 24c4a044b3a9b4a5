"""The lock of "each element" of a collection a loop steps through, beyond
``C[v]`` (actions.py's key(): a subscript by a loop-stepped variable is
named ``C[*]``, one collective lock; see dataflow.py for what a take and a
release of it do):

- ``per_cpu(X, v)``, v stepped (a per-CPU accessor of rules/types.toml
  with a CPU argument), is the element v of the per-CPU collection X, as
  ``X[v]`` is of an array: ``per_cpu(X)[*]``;
- a local assigned in the loop from such an element (``c =
  per_cpu(X, v)``, ``c = &C[v]``), on every path of the iteration before
  the lock operation (collective.py's test for summaries), is that
  element: ``c->lock`` there is ``per_cpu(X)[*]->lock`` (``C[*].lock``).
  Every assignment of the local must be of that same element, so that no
  other value reaches the operation; outside the loop, or where the
  assignment is not on every way from the loop's head, the local keeps
  its own name.

So a loop taking ``c->lock`` through the local and a later loop releasing
``per_cpu(X, v)->lock`` by name meet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

from tree_sitter import Node

from xenpatch.analysis.collective import assigned_this_round
from xenpatch.analysis.lockkeys import squash
from xenpatch.analysis.values import strip_casts
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg
from xenpatch.c.exprchain import idioms
from xenpatch.c.source import SourceFile

_PATH = r"[A-Za-z_]\w*(?:(?:->|\.)[A-Za-z_]\w*)*"
_LOCAL_KEY = re.compile(r"([A-Za-z_]\w*)->(.+)")


@cache
def _percpu_call() -> re.Pattern[str]:
    names = "|".join(re.escape(n) for n in sorted(idioms().percpu_accessors))
    return re.compile(rf"(?<![\w.>])({names})\(([A-Za-z_]\w*),([A-Za-z_]\w*)\)")


def percpu_each(key: str, stepped: set[str] | frozenset[str]) -> str:
    """``per_cpu(X,v)`` in a key, v stepped, as ``per_cpu(X)[*]``."""
    if "(" not in key:
        return key
    return _percpu_call().sub(
        lambda m: f"{m.group(1)}({m.group(2)})[*]" if m.group(3) in stepped else m.group(0), key)


class Round(NamedTuple):
    """One assignment of a local from an element of a loop's collection."""

    at: int  # start byte of the right-hand side
    prefix: str  # the collective element: per_cpu(X)[*], C[*]
    sep: str  # "->" for the element's pointer, "." for its address
    loop: Node


def element_rounds(src: SourceFile, assigned: Mapping[str, list[Node | None]],
                   loops: Mapping[str, list[Node]]) -> dict[str, list[Round]]:
    """The locals every assignment of which is one element, indexed by a
    variable some loops step (``loops``: variable -> the loops stepping
    it), each assignment with the innermost such loop holding it."""
    out: dict[str, list[Round]] = {}
    for v, rhss in assigned.items():
        if not rhss or any(r is None for r in rhss):
            continue
        if len({squash(src.text(r)) for r in rhss if r is not None}) != 1:
            continue
        got = _element(src, rhss[0], loops)  # type: ignore[arg-type]
        if got is None:
            continue
        prefix, sep, var = got
        rounds = []
        for r in rhss:
            assert r is not None
            inner = [lp for lp in loops[var] if lp.start_byte <= r.start_byte < lp.end_byte]
            if inner:
                loop = min(inner, key=lambda lp: lp.end_byte - lp.start_byte)
                rounds.append(Round(r.start_byte, prefix, sep, loop))
        if rounds:
            out[v] = rounds
    return out


def _element(src: SourceFile, r: Node,
             loops: Mapping[str, list[Node]]) -> tuple[str, str, str] | None:
    """(collective element, separator, the stepped variable) of an
    element's value (``per_cpu(X, v)``, ``C[v]``) or address (``&...``)."""
    r = strip_casts(r)
    sep = "->"
    if r.type == "pointer_expression" and src.text(r).lstrip().startswith("&"):
        arg = r.child_by_field_id(fid.ARGUMENT)
        if arg is None:
            return None
        r, sep = strip_casts(arg), "."
    if r.type == "subscript_expression":
        arg, idx = r.child_by_field_id(fid.ARGUMENT), r.child_by_field_id(fid.INDEX)
        if arg is None or idx is None or idx.type != "identifier":
            return None
        coll, var = squash(src.text(arg)), src.text(idx)
        if var not in loops or not re.fullmatch(_PATH, coll):
            return None
        return f"{coll}[*]", sep, var
    if r.type == "call_expression":
        m = _percpu_call().fullmatch(squash(src.text(r)))
        if m is None or m.group(3) not in loops:
            return None
        return f"{m.group(1)}({m.group(2)})[*]", sep, m.group(3)
    return None


class EachKeys:
    """A function's element locals, asked per lock operation."""

    def __init__(self, cfg: Cfg, rounds: Mapping[str, list[Round]]) -> None:
        self.cfg = cfg
        self.rounds = rounds
        self._memo: dict[tuple[str, int], str | None] = {}

    def types(self, local_types: Mapping[str, str]) -> dict[str, str]:
        """Each collective element (with its separator) -> the declared
        type of the locals holding it, where they agree."""
        seen: dict[str, set[str | None]] = {}
        for v, rounds in self.rounds.items():
            for r in rounds:
                seen.setdefault(r.prefix + r.sep, set()).add(local_types.get(v))
        return {p: t for p, ts in seen.items() if len(ts) == 1 and (t := next(iter(ts)))}

    def key(self, key: str, nid: int) -> str:
        """``key`` at node ``nid``, its element local's lock named
        collectively where this round's element is the local's value."""
        if not self.rounds:
            return key
        m = _LOCAL_KEY.fullmatch(key)
        if m is None or m.group(1) not in self.rounds:
            return key
        v = m.group(1)
        got = self._memo.get((v, nid), "")
        if got == "":
            got = self._memo[(v, nid)] = self._element_at(v, nid)
        return key if got is None else got + m.group(2)

    def _element_at(self, v: str, nid: int) -> str | None:
        ast = self.cfg.nodes[nid].ast
        if ast is None:
            return None
        for r in self.rounds[v]:
            body = r.loop.child_by_field_id(fid.BODY)
            if body is None or not (body.start_byte <= ast.start_byte < body.end_byte):
                continue
            if r.at < body.start_byte or r.at >= body.end_byte:
                continue
            if assigned_this_round(self.cfg, r.at, nid, r.loop):
                return r.prefix + r.sep
        return None
