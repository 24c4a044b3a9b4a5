"""The exits of a function no path to which performs a lock operation: an
unlock helper's "nothing to do" returns (put_gfn() on a domain that is not
translated), which summaries.py leaves out of what its release depends on."""

from __future__ import annotations

from xenpatch.analysis.events import OpAct, TryAssignAct
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import Kind, predecessors


def quiet_exits(f: FunctionUnit) -> frozenset[int]:
    """Exits no path to which performs a lock operation."""
    assert f.cfg is not None and f.info is not None
    cfg, info = f.cfg, f.info
    preds = predecessors(cfg)

    def locky(i: int) -> bool:
        br = info.branches[i] if i < len(info.branches) else None
        # A callee's take leaves the held set as it was: no lock operation.
        return (br is not None and br.try_op is not None) or any(
            isinstance(a, TryAssignAct) or (isinstance(a, OpAct) and a.effect.action != "take")
            for a in info.acts[i]
        )

    out = set()
    for node in cfg.nodes:
        if node.kind is not Kind.RETURN:
            continue
        seen, todo = {node.id}, [node.id]
        while todo:
            i = todo.pop()
            if locky(i):
                break
            for p in preds.get(i, ()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        else:
            out.add(node.id)
    return frozenset(out)
