"""What a C ``switch`` tells the paths through it: the facts its case
labels settle (``switch ( space ) { case XENMAPSPACE_gmfn:`` makes a later
``if ( space == XENMAPSPACE_gmfn )`` true on that edge), and, for a local
set from constants, which cases a path can take at all (``st =
B_KILLED; ... switch ( st )`` runs B_KILLED's case alone)."""

from __future__ import annotations

import re
from collections.abc import Container, Mapping

from xenpatch.analysis import values
from xenpatch.analysis.conditions import exact_of, switched
from xenpatch.analysis.functions import strip_parens
from xenpatch.analysis.lockkeys import squash
from xenpatch.analysis.pathstate import State
from xenpatch.analysis.values import EXACT, ZERO, value_class
from xenpatch.c.cfg import Cfg
from xenpatch.c.source import SourceFile

_INT_TEXT = re.compile(r"-?\d+")


def switch_facts(
    src: SourceFile, cfg: Cfg, tested: set[str]
) -> dict[int, list[tuple[tuple[str, str], ...]]]:
    """``switch ( space ) { case XENMAPSPACE_gmfn: ...`` makes the later
    ``if ( space == XENMAPSPACE_gmfn )`` true on that case's edge and false
    on the others' (case labels are distinct constants)."""
    out: dict[int, list[tuple[tuple[str, str], ...]]] = {}
    per_switch: dict[int, dict[int, str]] = {}
    for nid, labels in cfg.case_values.items():
        ast = cfg.nodes[nid].ast
        if ast is None:
            continue
        x = squash(src.text(strip_parens(ast)))
        # Per successor (by position), the fact its case label makes true.
        per_switch[nid] = {i: "==".join(sorted((x, squash(src.text(v)))))
                           for i, v in enumerate(labels) if v is not None}
    # Two switches on one value settle each other's labels too (issue 9,
    # item 1): "switch ( space ) ... switch ( space )".
    seen: dict[str, int] = {}
    for names in per_switch.values():
        for t in set(names.values()):
            seen[t] = seen.get(t, 0) + 1
    tested = tested | {t for t, c in seen.items() if c > 1}
    for nid, labels in cfg.case_values.items():
        if nid not in per_switch:
            continue
        names = per_switch[nid]
        if not set(names.values()) & tested:
            continue
        edges = []
        for i in range(len(labels)):
            mine = names.get(i)
            edges.append(tuple(sorted(
                (t, "T" if t == mine else "F") for t in set(names.values()) & tested
            )))
        out[nid] = edges
    return out


def switch_vars(src: SourceFile, cfg: Cfg, tracked: Container[str],
                consts: Mapping[str, str], exacts: Mapping[str, int | str]
                ) -> dict[int, tuple[str, tuple[int | None, ...]]]:
    """``switch ( st )`` on a tracked variable: per successor, the value of
    its case label (None: the default, or no label matched).  A local set
    from constants decides which case runs (``st = B_KILLED; ... switch (
    st )`` takes B_KILLED's): dataflow.py drops the others' edges.  A
    switch with a label of unknown value is left out."""
    out: dict[int, tuple[str, tuple[int | None, ...]]] = {}
    for nid, labels in cfg.case_values.items():
        v = switched(src, cfg, nid)
        if v is None or v not in tracked:
            continue
        ks: list[int | None] = []
        for lab in labels:
            if lab is None:
                ks.append(None)
                continue
            k = exact_of(src, lab, exacts)
            if k is None and value_class(src, lab, consts) == ZERO:
                k = 0
            if not isinstance(k, int):
                break
            ks.append(k)
        else:
            out[nid] = (v, tuple(ks))
    return out


def cases_possible(s: State, var: str, labels: tuple[int | None, ...]) -> list[bool]:
    """Which edges of ``switch ( var )`` the state can take: the one case
    whose label equals var's known value, else every label var may equal
    and the default (None)."""
    exact = s.fact(EXACT + var)
    cls = s.fact(var)
    eqs = [None if k is None else values.equals(cls, exact, k) for k in labels]
    if True in eqs:
        return [e is True for e in eqs]
    return [e is not False for e in eqs]
