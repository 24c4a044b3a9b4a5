"""IRQ-state findings (XL011-XL014) of one function's dataflow run: the
issues xenpatch.analysis.irqstate finds at each IRQ move, as raw findings
with the path that reaches them."""

from __future__ import annotations

from xenpatch.analysis.irqstate import is_irq_move, issues
from xenpatch.analysis.pathstate import UNKNOWN, Result
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import Kind
from xenpatch.lint.checks import CHECKS, RawFinding

_CODES = {
    "lock_irq_off": "XL011",
    "enable_in_section": "XL012",
    "restore_flags": "XL013",
    "call_enables": "XL014",
}

# XL017 (lint/irqsafe.py) reads the same IRQ states.
IRQ_CODES = frozenset(_CODES.values()) | {"XL017"}


def irq_findings(f: FunctionUnit, res: Result, enabled: frozenset[str]) -> list[RawFinding]:
    """One finding per (check, node, key), on its shortest witness path."""
    if f.info is None or not enabled & set(_CODES.values()):
        return []
    out: dict[tuple[str, int, str], RawFinding] = {}
    for node, state, line, col, issue in issues(res, f.info.acts, UNKNOWN):
        cid = _CODES[issue.check]
        k = (cid, node, issue.key)
        if cid not in enabled or k in out:
            continue
        if cid == "XL014" and issue.fmt.get("open_line") == 0 and tail_call(f, node):
            # The function's own local_irq_disable() section, ended by a
            # helper's enable as its last act (a context switch's tail does
            # so): what a local_irq_enable() there would do, no code after.
            continue
        msg = CHECKS[cid].message.format(key=issue.key.rstrip("'"), **issue.fmt)
        # The path shown starts where the section at fault opened.
        out[k] = RawFinding(cid, node, state, line, col, issue.key, msg, issue.site)
    return list(out.values())


def tail_call(f: FunctionUnit, node: int) -> bool:
    """Is the IRQ move at ``node`` the last thing f does: the node's last
    act, nothing but joins after it, then a return of no expression (or of
    an identifier or constant) or the end?"""
    if f.cfg is None or f.info is None or node >= len(f.info.acts):
        return False
    acts = f.info.acts[node]
    if not acts or not is_irq_move(acts[-1]):
        return False
    seen: set[int] = set()
    todo = list(f.cfg.nodes[node].succ)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        c = f.cfg.nodes[n]
        if c.kind in (Kind.EXIT, Kind.ABORT):
            continue
        if c.kind == Kind.NOP:
            todo.extend(c.succ)
            continue
        if c.kind == Kind.RETURN and (c.ast is None or _bare_return(f, c.ast)):
            todo.extend(c.succ)
            continue
        return False
    return True


def _bare_return(f: FunctionUnit, ast: object) -> bool:
    from tree_sitter import Node

    assert isinstance(ast, Node)
    vals = [c for c in ast.named_children if c.type != "comment"]
    return all(v.type in ("identifier", "number_literal", "true", "false", "null")
               for v in vals)
