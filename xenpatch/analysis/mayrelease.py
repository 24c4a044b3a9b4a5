"""A helper that releases its caller's lock on some of its exits and
keeps it on others, with nothing its caller passes or gets back telling
which: a "mayrelease" of its summary (issue 9, item 2).  The caller's
path forks at the call (analysis/dataflow.py): kept on one side, unknown
on the other, where a release straight after the call is a second release
(XL002 names the callee).
"""

from __future__ import annotations

from xenpatch.analysis import pathconds
from xenpatch.analysis.events import OpAct
from xenpatch.analysis.locktable import MAYRELEASE, Effect
from xenpatch.analysis.takes import hidden_at, hidden_names
from xenpatch.analysis.unit import FunctionUnit


def may_release(f: FunctionUnit, key: str, t: str) -> list[Effect]:
    """``key``, a caller's lock ``f`` releases on some paths and keeps on
    others, as the summary's effect on ``t`` (its template): "mayrelease"
    when one release at least is reached on paths no caller's argument
    decides (pathconds.blind_to_caller(): a loop over a pointee's count, a
    test of a pointee's state or of a local; a parameter tested before the
    body assigns it holds its argument, takes.hidden_at()).  A release a
    parameter's value decides (a flag), or one the result tells apart
    (summaries._conditional_release()), is not this: nothing, as before."""
    assert f.info is not None and f.cfg is not None
    rels = [(n, a.effect) for n, acts in enumerate(f.info.acts) for a in acts
            if isinstance(a, OpAct) and a.effect.key == key and a.effect.action == "release"]
    if not rels:
        return []
    deciders = pathconds.Deciders(f.cfg)
    pointers = pathconds.pointer_params(f.src, f.node)
    hidden = hidden_names(f)
    verdicts: dict = {}
    written: dict = {}
    cfg, params = f.cfg, f.info.params

    def blind(n: int) -> bool:
        branches = pathconds.deciding_branches(cfg, n, deciders)
        # A parameter tested before the body assigns it holds its argument.
        at = hidden_at(f, hidden, [c for c, _ in branches], written)
        return bool(branches) and pathconds.blind_to_caller(
            f.src, cfg, branches, params, pointers, at, verdicts) is not None

    if not any(blind(n) for n, _ in rels):
        return []
    e0 = rels[0][1]
    where = f.src.path.rsplit("/", 1)[-1]
    return [Effect(MAYRELEASE, e0.kind, "", "any", t, None, f.name, inferred=True,
                   origin=f"{f.name}() in {where}")]
